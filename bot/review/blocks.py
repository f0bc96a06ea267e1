"""Block Kit for cards: pure functions of a plain view-model, no database, no clock.

Every string that came from the public (text, names, handles, the parent excerpt, FAQ matches
and drafts that may quote them) goes through `public()`; ids and URLs are ours. Long text is cut
far below Block Kit's limits and the card links to the original instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core import ids
from bot.review import action_ids
from bot.slack.escape import escape, public
from bot.slack.format import stamp
from connectors import registry
from storage.models import HideStatus, LikeStatus

TEXT_LIMIT = 1500  # mention text on a card; section text may hold 3,000
SECTION_LIMIT = 2900  # Slack's 3,000 for a section's text, with room to spare
PARENT_LIMIT = 300
DRAFT_LIMIT = 1200
NAME_LIMIT = 80
REASON_LIMIT = 200
FALLBACK_LIMIT = 150
CATEGORY_LABELS = {
    "compliment": "Compliment",
    "question": "Question",
    "criticism": "Criticism",
    "other": "Other",
}
_SAFE_URL = re.compile(r"^https?://[^\s<>|\"]{1,900}$")
Block = dict[str, Any]


@dataclass(frozen=True)
class DraftView:
    number: int  # 1..3, as in send_reply:N
    text: str
    source: str = "template"
    match: str | None = None


@dataclass(frozen=True)
class ReplyView:
    reply_id: int
    status: str  # sending | sent | failed | unknown | manual
    text: str
    by: str
    at: datetime
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CardView:
    mention_id: int
    platform: str
    account: str  # "@handle" or Page name
    author_name: str
    author_handle: str
    author_url: str
    created_at: datetime
    text: str
    url: str
    state: str = "open"
    parent_text: str | None = None
    category: str | None = None
    confidence: float | None = None
    urgent: bool = False
    urgent_reason: str | None = None
    # Why the platform's API cannot answer this item ("{account}" is filled in), None when it can;
    # the card then offers the manual path (X: the author did not @mention the account).
    restriction: str | None = None
    can_like: bool = True
    can_hide: bool = False  # the platform can hide this item from the public (card offers Hide)
    hide_status: str | None = None
    hidden_by: str | None = None
    hidden_at: datetime | None = None
    drafts: tuple[DraftView, ...] = ()
    reply: ReplyView | None = None
    like_status: str | None = None
    like_unconfirmed: bool = False  # the failed like had no clear answer: it may exist
    hide_unconfirmed: bool = False  # the same for a failed hide
    liked_by: str | None = None
    liked_at: datetime | None = None
    assignee: str | None = None
    dismissed_reason: str | None = None
    dismissed_by: str | None = None
    dismissed_at: datetime | None = None
    reclassified_by: str | None = None
    deleted: bool = False
    edited_at: datetime | None = None  # when TwoWay last saw the author edit it (the text is the newest)
    unsure: bool = False  # the model is unsure of the category: say so, the drafts stay neutral
    extra_notes: tuple[str, ...] = field(default_factory=tuple)


# -- small pieces ---------------------------------------------------------------------------------


def link(url: str | None, label: str) -> str:
    """`label` (already escaped) linked to `url` when the URL is a plain http(s) URL."""
    if url and _SAFE_URL.match(url):
        return f"<{escape(url)}|{label}>"
    return label


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id and ids.is_user_id(user_id) else "someone"


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def section(text: str, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text[:SECTION_LIMIT])}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t[:2000]) for t in texts if t][:10]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def option(text: str, value: str) -> Block:
    return {"text": plain(text), "value": value}


def post_text(text: str, url: str | None) -> str:
    """The post, quoted, cut with an ellipsis and "Read the full post" when it does not fit.

    The cut is made on the raw text, but escaping ("&" is "&amp;") and quoting ("> " per line)
    can make 1,500 characters far longer than a section holds: the cut moves back until the
    shown text fits, so a post is never silently cut mid-word by the section's own limit."""
    more = "\n" + link(url, "Read the full post")
    limit = TEXT_LIMIT
    while True:
        body = public(text, limit)
        if not body:
            return "_(no text)_"
        shown = quote(body + more) if len(text) > limit else quote(body)
        if len(shown) <= SECTION_LIMIT or limit <= 1:
            return shown
        limit = max(1, min(limit - 1, limit * (SECTION_LIMIT - len(more) - 8) // len(shown)))


def quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def platform_name(platform: str) -> str:
    return registry.title(platform)


# -- the card ---------------------------------------------------------------------------------------


def author_line(view: CardView) -> str:
    name = public(view.author_name, NAME_LIMIT)
    handle = public(view.author_handle, NAME_LIMIT)
    shown = f"*{name}*" if name else ""
    if handle:
        handle_text = link(view.author_url, "@" + handle)
        shown = f"{shown} ({handle_text})" if shown else handle_text
    elif view.author_url and name:
        shown = link(view.author_url, shown)
    return shown or "someone"


def fallback_text(view: CardView) -> str:
    """The notification text: short, escaped, never a live mention."""
    urgent = "URGENT " if view.urgent else ""
    who = public(view.author_handle or view.author_name, NAME_LIMIT) or "someone"
    return (
        f"{urgent}#{view.mention_id} on {platform_name(view.platform)} from {who}: "
        f"{public(view.text, FALLBACK_LIMIT)}"
    )


def card_blocks(view: CardView) -> list[Block]:
    blocks: list[Block] = []
    mid = view.mention_id
    if view.urgent:
        reason = public(view.urgent_reason, REASON_LIMIT) if view.urgent_reason else "see the text below"
        blocks.append(
            section(
                f":rotating_light: *URGENT: possible emergency — {reason}*",
                action_ids.block_id(mid, "urgent"),
            )
        )
    elif view.urgent_reason and view.state == "open":
        # Not flagged, but close enough that the drafts lead with the 911 line: read it first.
        blocks.append(
            section(
                f":warning: *Check this one: it {public(view.urgent_reason, REASON_LIMIT)}*",
                action_ids.block_id(mid, "urgent"),
            )
        )
    account = public(view.account, NAME_LIMIT)
    header = f"*#{mid}* · {platform_name(view.platform)} · {account} · {stamp(view.created_at)}"
    blocks.append(section(f"{header}\n{author_line(view)}", action_ids.block_id(mid, "head")))
    blocks.append(section(post_text(view.text, view.url), action_ids.block_id(mid, "text")))
    if view.parent_text:
        blocks.append(context("Replying to: " + public(view.parent_text, PARENT_LIMIT)))
    blocks.append(context(*triage_notes(view)))
    blocks.extend(status_blocks(view))
    if view.state == "open" and (view.reply is None or view.reply.status == "failed"):
        blocks.extend(action_blocks(view))
    elif offers_hide(view):  # answered or dismissed: abuse can still be hidden from the public
        blocks.append(
            {
                "type": "actions",
                "block_id": action_ids.block_id(view.mention_id, "hide"),
                "elements": [hide_button(view)],
            }
        )
    return blocks[:50]


def offers_hide(view: CardView) -> bool:
    return view.can_hide and view.hide_status not in (HideStatus.HIDDEN, HideStatus.HIDING)


def hide_button(view: CardView) -> Block:
    """Hide, behind Slack's own confirmation: it changes what the public sees."""
    where = platform_name(view.platform)
    element = button("Hide", action_ids.HIDE, str(view.mention_id))
    element["confirm"] = {
        "title": plain("Hide it from the public?", 100),
        "text": mrkdwn(
            f"Only its author and their friends will still see it on {where}. The record keeps it and who hid it."
        ),
        "confirm": plain("Hide"),
        "deny": plain("Cancel"),
    }
    return element


def triage_notes(view: CardView) -> list[str]:
    notes = []
    if view.category:
        label = CATEGORY_LABELS.get(view.category, view.category.title())
        confidence = f" ({round(view.confidence * 100)}%)" if view.confidence is not None else ""
        note = f"Category: *{label}*{confidence}"
        if view.reclassified_by:
            note += f", reclassified by {user(view.reclassified_by)}"
        elif view.unsure:
            note += " · :grey_question: *unsure*: check the category; the drafts stay neutral"
        notes.append(note)
    notes.append(link(view.url, f"Open on {platform_name(view.platform)}"))
    if view.assignee:
        notes.append(f":bust_in_silhouette: Assigned to {user(view.assignee)}")
    if view.like_status == LikeStatus.LIKED:
        notes.append(
            f":heart: Liked by {user(view.liked_by)}" + (f" {stamp(view.liked_at)}" if view.liked_at else "")
        )
    elif view.like_status == LikeStatus.LIKING:
        notes.append(":heart: Liking…")
    elif view.like_status == LikeStatus.FAILED and view.like_unconfirmed:
        notes.append(
            f":warning: The like may not have gone through; check on {platform_name(view.platform)}, "
            "or like it again (harmless)."
        )
    elif view.like_status == LikeStatus.FAILED:
        notes.append(":warning: The like did not go through; try again.")
    if view.hide_status == HideStatus.HIDDEN:
        at = f" {stamp(view.hidden_at)}" if view.hidden_at else ""
        notes.append(f":see_no_evil: Hidden on {platform_name(view.platform)} by {user(view.hidden_by)}{at}")
    elif view.hide_status == HideStatus.HIDING:
        notes.append(":see_no_evil: Hiding…")
    elif view.hide_status == HideStatus.FAILED and view.hide_unconfirmed:
        notes.append(
            f":warning: It may not have been hidden; check on {platform_name(view.platform)}, "
            "or hide it again (harmless)."
        )
    elif view.hide_status == HideStatus.FAILED:
        notes.append(":warning: It was not hidden; try again.")
    if view.deleted:
        notes.append(":wastebasket: Deleted on the platform")
    if view.edited_at is not None:
        notes.append(
            f":pencil2: Edited on the platform {stamp(view.edited_at)}: the text above is the newest"
        )
    notes.extend(view.extra_notes)
    return notes


def status_blocks(view: CardView) -> list[Block]:
    """What happened to the item: the reply, its failure, the dismissal."""
    mid, reply = view.mention_id, view.reply
    where = platform_name(view.platform)
    if view.state == "dismissed":
        reason = action_ids.DISMISS_REASONS.get(
            view.dismissed_reason or "", public(view.dismissed_reason, REASON_LIMIT)
        )
        at = f" {stamp(view.dismissed_at)}" if view.dismissed_at else ""
        return [
            section(
                f":no_entry_sign: *{reason}* — marked by {user(view.dismissed_by)}{at}",
                action_ids.block_id(mid, "status"),
            )
        ]
    if reply is None:
        return []
    sent_text = quote(public(reply.text, DRAFT_LIMIT)) if reply.text else ""
    if reply.status == "sent":
        text = f":white_check_mark: *Replied* by {user(reply.by)} {stamp(reply.at)}\n{sent_text}\n{_reply_link(view)}"
        return [section(text.strip(), action_ids.block_id(mid, "status"))]
    if reply.status == "manual":
        text = f":white_check_mark: *Marked as replied manually* by {user(reply.by)} {stamp(reply.at)}"
        return [section(text, action_ids.block_id(mid, "status"))]
    if reply.status == "sending":
        return [
            section(
                f":hourglass_flowing_sand: *Sending* (by {user(reply.by)})…\n{sent_text}",
                action_ids.block_id(mid, "status"),
            )
        ]
    if reply.status == "unknown":
        error = public(reply.error, REASON_LIMIT) or "no answer"
        text = (
            f":warning: *We could not confirm that the reply was posted* ({error}). "
            f"Nothing will be retried automatically. {link(view.url, f'Check the post on {where}')} "
            f"for a reply from the account, then say what you found.\n{sent_text}"
        )
        value = f"{mid}:{reply.reply_id}"
        return [
            section(text, action_ids.block_id(mid, "status")),
            {
                "type": "actions",
                "block_id": action_ids.block_id(mid, "unknown"),
                "elements": [
                    button("It was posted", action_ids.CONFIRM_POSTED, value, "primary"),
                    button("It was not posted", action_ids.CONFIRM_NOT_POSTED, value),
                ],
            },
        ]
    if reply.status == "failed":
        error = public(reply.error, REASON_LIMIT) or "refused"
        text = f":x: *{where} refused the reply* ({error}). Nothing was posted.\n{sent_text}"
        if (
            reply.error == action_ids.CHECKED_NOT_POSTED
        ):  # nobody refused anything: staff looked and it was not there
            text = f":x: *The reply was not posted* (checked on {where} by staff).\n{sent_text}"
        elif (reply.error or "").startswith("rate limited"):
            text = f":hourglass: *{where} is limiting replies* ({error}). Nothing was posted.\n{sent_text}"
        if view.deleted:  # sending again cannot work: the card's note says it is gone
            text = (
                f":x: *The reply was not posted*: the post no longer exists on {where}. "
                f"Close the item with *No reply needed*.\n{sent_text}"
            )
            return [section(text, action_ids.block_id(mid, "status"))]
        return [
            section(
                text,
                action_ids.block_id(mid, "status"),
                button("Retry", action_ids.RETRY_SEND, f"{mid}:{reply.reply_id}", "primary"),
            )
        ]
    return []


def _reply_link(view: CardView) -> str:
    """A link to the reply; when its address is not known (staff confirmed it was posted), to the
    post it answers; never a label that looks like a link and is not one."""
    where = platform_name(view.platform)
    url = view.reply.url if view.reply is not None else None
    if url and _SAFE_URL.match(url):
        return link(url, f"View the reply on {where}")
    if view.url and _SAFE_URL.match(view.url):
        return link(view.url, f"Open the post on {where} to see the reply")
    return ""


def action_blocks(view: CardView) -> list[Block]:
    mid = view.mention_id
    blocks: list[Block] = []
    if view.restriction:
        where = platform_name(view.platform)
        why = view.restriction.replace("{account}", public(view.account, NAME_LIMIT))
        text = (
            f":lock: *The {where} API cannot reply to this post*: {why}. "
            f"{link(view.url, f'Open the post on {where}')}, reply there, then mark it here."
        )
        blocks.append(
            section(
                text,
                action_ids.block_id(mid, "manual"),
                button("Mark as replied manually", action_ids.MARK_REPLIED_MANUALLY, str(mid)),
            )
        )
    for draft in view.drafts[: action_ids.MAX_DRAFTS]:
        source = (
            "FAQ" if draft.source == "faq" else "earlier reply" if draft.source == "history" else "template"
        )
        title = f"*Suggested reply {draft.number}* ({source}"
        title += f": matched “{public(draft.match, 120)}”)" if draft.match else ")"
        accessory = None
        if not view.restriction:
            accessory = button(
                "Send",
                action_ids.send_action(draft.number),
                action_ids.send_value(mid, draft.number, draft.text),
                "primary",
            )
        blocks.append(
            section(
                f"{title}\n{quote(public(draft.text, DRAFT_LIMIT))}",
                action_ids.block_id(mid, f"d{draft.number}"),
                accessory,
            )
        )
    elements: list[Block] = []
    if not view.restriction:
        elements.append(button("Edit & send", action_ids.EDIT_REPLY, str(mid)))
    if (
        view.can_like
        and view.category == "compliment"
        and view.like_status not in (LikeStatus.LIKED, LikeStatus.LIKING)
    ):
        elements.append(button("Like", action_ids.LIKE, str(mid)))
    if offers_hide(view):
        elements.append(hide_button(view))
    assign: Block = {
        "type": "users_select",
        "action_id": action_ids.ASSIGN,
        "placeholder": plain("Assign"),
    }
    if view.assignee:
        assign["initial_user"] = view.assignee
    elements.append(assign)
    elements.append(
        {
            "type": "static_select",
            "action_id": action_ids.DISMISS,
            "placeholder": plain("No reply needed"),
            "options": [option(label, value) for value, label in action_ids.DISMISS_REASONS.items()],
        }
    )
    elements.append(
        {
            "type": "overflow",
            "action_id": action_ids.RECLASSIFY,
            "options": [
                option(f"Reclassify: {label}", value)
                for value, label in CATEGORY_LABELS.items()
                if value != view.category
            ],
        }
    )
    blocks.append({"type": "actions", "block_id": action_ids.block_id(mid), "elements": elements})
    return blocks


def notice(text: str) -> list[Block]:
    """A one-section message (ephemeral answers)."""
    return [section(text)]
