"""Block Kit for storms: the summary card, the start and end notices, the storm's queue.

Pure functions of plain view-models (no database, no clock). Everything the public wrote goes
through `public()`; templates are the agency's words but are escaped all the same, since they
are shown, not sent. See docs/storms.md for a rendered summary card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.words import counted, noun
from bot.review import action_ids
from bot.review.blocks import (
    CATEGORY_LABELS,
    Block,
    button,
    context,
    link,
    option,
    plain,
    platform_name,
    quote,
    section,
    user,
)
from bot.slack.escape import public
from bot.slack.format import stamp

POST_LIMIT = 120  # the storm's post, quoted in headings
QUOTE_LIMIT = 220  # a representative post
DRAFT_LIMIT = 1200
ROW_ORDER = ("urgent", "question", "criticism", "other", "compliment")
ROW_LABELS = {
    "urgent": "urgent",
    "question": "questions",
    "criticism": "criticism",
    "other": "other",
    "compliment": "compliments",
}
ONE = {
    "urgent": "urgent",
    "question": "question",
    "criticism": "criticism",
    "other": "other",
    "compliment": "compliment",
}
KIND_TITLES = {"statement": "Draft public statement", "pinned": "Draft pinned reply"}
QUEUE_PAGE = 10
COLUMNS = 8  # the "Over time" table's columns, at most
BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440)  # minutes per column, each dividing a day
DAY = 24 * 60


@dataclass(frozen=True)
class PostView:
    mention_id: int
    author: str
    text: str
    url: str
    category: str | None
    state: str
    card_link: str | None = None  # a question's own card


@dataclass(frozen=True)
class ThemeView:
    count: int
    category: str | None  # the category most of its posts have
    post: PostView


@dataclass(frozen=True)
class RepeatView:
    again: int  # times the question was asked again
    post: PostView


@dataclass(frozen=True)
class DraftView:
    kind: str  # statement | pinned
    text: str | None  # None: a placeholder has no value yet
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryView:
    storm_id: int
    platform: str
    account: str
    thread_key: str  # "" for a storm across the whole account
    post_text: str | None
    post_url: str | None
    started_at: datetime
    ended_at: datetime | None
    normal: float  # the account's mentions per 10 minutes before the storm
    peak: int  # the most mentions in 10 minutes
    total: int
    rows: dict[str, int]  # ROW_ORDER -> mentions (urgent counted apart from its category)
    own_cards: int  # urgent posts and questions shown on cards of their own
    gathered: int
    open_gathered: int
    open_posts: int  # open in the storm, gathered or on cards of their own: what its queue lists
    answered: int
    dismissed: int
    timeline: tuple[tuple[str, dict[str, int]], ...]  # (bucket label, ROW_ORDER -> count)
    bucket_minutes: int
    timezone: str
    themes: tuple[ThemeView, ...]
    repeats: tuple[RepeatView, ...]
    drafts: tuple[DraftView, ...]
    updated_at: datetime


# -- pieces -----------------------------------------------------------------------------------


def _n(value: int) -> str:
    return f"{value:,}"


def where(view: SummaryView) -> str:
    """`“Statement on …”` linked to the post, or the account for an account-wide storm."""
    if not view.thread_key:
        return f"*{public(view.account, 80)}* (across many posts)"
    excerpt = public(view.post_text, POST_LIMIT) if view.post_text else f"post {public(view.thread_key, 40)}"
    return link(view.post_url, f"“{excerpt}”")


def _times_normal(count: int, normal: float) -> str:
    if normal <= 0.05:
        return "where it usually gets almost none"
    return f"about {max(1, math.floor(count / normal)):,}× the usual"


def _duration(start: datetime, end: datetime) -> str:
    minutes = max(1, round((end - start).total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _post_line(post: PostView, platform: str) -> str:
    who = public(post.author, 60) or "someone"
    body = public(post.text, QUOTE_LIMIT) or "_(no text)_"
    state = "" if post.state == "open" else f" · _{'answered' if post.state == 'replied' else post.state}_"
    return f"{quote(body)}\n— {who} · {link(post.url, f'open on {platform_name(platform)}')} · #{post.mention_id}{state}"


def _reply_button(post: PostView) -> Block | None:
    """Reply to one post as from its card: the Edit & send form (no channel message)."""
    if post.state != "open":
        return None
    return button("Reply…", action_ids.EDIT_REPLY, str(post.mention_id))


def _timeline(view: SummaryView) -> str:
    if not view.timeline:
        return ""
    columns = [label for label, _ in view.timeline]
    width = max(5, *(len(c) for c in columns))
    lines = [" " * 12 + " ".join(c.rjust(width) for c in columns)]
    for row in ROW_ORDER:
        counts = [counts.get(row, 0) for _, counts in view.timeline]
        if any(counts):
            lines.append(ROW_LABELS[row].ljust(12) + " ".join(str(c).rjust(width) for c in counts))
    minutes = view.bucket_minutes
    unit = (
        "minute"
        if minutes == 1
        else f"{minutes} min"
        if minutes < 60
        else "hour"
        if minutes == 60
        else f"{minutes // 60} h"
        if minutes < DAY
        else "day"
        if minutes == DAY
        else f"{minutes // DAY} days"
    )
    return f"*Over time* (posts per {unit}, {public(view.timezone, 40)})\n```" + "\n".join(lines) + "```"


# -- the summary card ----------------------------------------------------------------------------


def summary_text(view: SummaryView) -> str:
    """The notification text: short and escaped."""
    state = "Storm over" if view.ended_at else "Storm"
    target = public(view.post_text, 80) if view.thread_key and view.post_text else public(view.account, 80)
    return (
        f"{state} on {platform_name(view.platform)}: {_n(view.total)} mentions on “{target}”; "
        f"{_n(view.own_cards)} with cards of their own, {_n(view.gathered)} gathered here"
    )


def summary_blocks(view: SummaryView) -> list[Block]:
    blocks: list[Block] = []
    title = ":white_check_mark: Storm over" if view.ended_at else ":cyclone: Storm"
    blocks.append({"type": "header", "text": plain(f"{title} on {platform_name(view.platform)}", 150)})
    if view.ended_at:
        timing = f"from {stamp(view.started_at)} to {stamp(view.ended_at)} ({_duration(view.started_at, view.ended_at)})"
    else:
        timing = f"since {stamp(view.started_at)}, _still going_"
    blocks.append(
        section(
            f"{where(view)} · {public(view.account, 80)}\n"
            f"*{_n(view.total)}* mentions {timing} · peak *{_n(view.peak)}* in 10 minutes "
            f"({_times_normal(view.peak, view.normal)})",
            "storm:head",
        )
    )
    by_row = [
        f"*{_n(view.rows[row])}* {(ONE if view.rows[row] == 1 else ROW_LABELS)[row]}"
        for row in ROW_ORDER
        if view.rows.get(row)
    ]
    blocks.append(
        section(
            (" · ".join(by_row) or "No posts yet")
            + f"\n*{_n(view.own_cards)}* with cards of their own in this channel (urgent posts and new questions)"
            f" · *{_n(view.gathered)}* gathered here: :inbox_tray: *{_n(view.open_gathered)}* still open"
            f" · :speech_balloon: *{_n(view.answered)}* answered in all · :no_entry_sign: *{_n(view.dismissed)}* dismissed",
            "storm:counts",
        )
    )
    timeline = _timeline(view)
    if timeline:
        blocks.append(section(timeline, "storm:timeline"))
    if view.themes:
        blocks.append(
            section("*Most repeated* (grouped by meaning), with the post that says it best:", "storm:themes")
        )
        for n, theme in enumerate(view.themes, start=1):
            share = round(100 * theme.count / view.total) if view.total else 0
            kind = CATEGORY_LABELS.get(theme.category or "", "mixed").lower()
            blocks.append(
                section(
                    f"*{_n(theme.count)}* {noun(theme.count, 'post')} ({share}%), mostly {kind}\n{_post_line(theme.post, view.platform)}",
                    action_ids.block_id(theme.post.mention_id, f"theme{n}"),
                    _reply_button(theme.post),
                )
            )
    if view.repeats:
        lines = [
            f"• “{public(r.post.text, 140)}” asked *{_n(r.again)}* more times · "
            + link(r.post.card_link, "its card")
            for r in view.repeats[:5]
        ]
        blocks.append(
            section(
                "*Questions asked again* (one card each; the repeats are gathered here)\n" + "\n".join(lines),
                "storm:repeats",
            )
        )
    for draft in view.drafts:
        title = f"*{KIND_TITLES.get(draft.kind, draft.kind)}* (post it yourself on {platform_name(view.platform)})"
        if draft.text is not None:
            body = quote(public(draft.text, DRAFT_LIMIT))
        else:
            missing = ", ".join(f"`/twoway set {name} …`" for name in draft.missing) or "a template"
            body = f"_No draft yet: it needs {missing}._"
        blocks.append(section(f"{title}\n{body}", f"storm:{draft.kind}"))
    elements: list[Block] = [
        button(
            f"Open the queue ({_n(view.open_posts)} open in the storm)",
            action_ids.STORM_QUEUE,
            f"{view.storm_id}:1",
            "primary",
        )
    ]
    if view.open_gathered:
        elements.append(
            {
                "type": "static_select",
                "action_id": action_ids.STORM_DISMISS,
                "placeholder": plain("Dismiss the rest…"),
                "options": [option(label, value) for value, label in action_ids.DISMISS_REASONS.items()],
                "confirm": {
                    "title": plain("Dismiss the rest?", 100),
                    "text": plain(
                        f"The {counted(view.open_gathered, 'open post')} gathered on this card "
                        f"{'is' if view.open_gathered == 1 else 'are'} marked as needing no "
                        "reply, each with this reason in the public record. Urgent posts and questions with cards "
                        "of their own are not touched.",
                        300,
                    ),
                    "confirm": plain("Dismiss them", 30),
                    "deny": plain("Cancel", 30),
                },
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": action_ids.storm_block(view.storm_id, view.updated_at),
            "elements": elements,
        }
    )
    blocks.append(
        context(
            f"Storm #{view.storm_id} · urgent posts and questions keep cards of their own · "
            f"statement and pinned drafts: `/twoway template add statement|pinned TEXT` · updated {stamp(view.updated_at)}"
        )
    )
    return blocks[:50]


# -- notices ---------------------------------------------------------------------------------


def started_text(view: SummaryView, count: int) -> str:
    platform = platform_name(view.platform)
    scope = "on this account" if not view.thread_key else "on this post"
    return (
        f":cyclone: *A storm has started* on {where(view)} ({platform} · {public(view.account, 80)}): "
        f"*{_n(count)}* mentions in the last 10 minutes, {_times_normal(count, view.normal)}. "
        f"Urgent posts and questions keep cards of their own; everything else {scope} is gathered "
        "on one summary card, updated as it comes in."
    )


def ended_text(view: SummaryView, summary_link: str | None) -> str:
    end = view.ended_at or view.updated_at
    card = link(summary_link, "the summary card") if summary_link else "the summary card"
    return (
        f":white_check_mark: *The storm on {where(view)} has calmed*: *{_n(view.total)}* mentions over "
        f"{_duration(view.started_at, end)} (peak *{_n(view.peak)}* in 10 minutes). "
        f"*{_n(view.open_gathered)}* gathered {noun(view.open_gathered, 'post')} "
        f"{'is' if view.open_gathered == 1 else 'are'} still open on {card}."
    )


# -- the storm's queue (ephemeral) ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    post: PostView
    urgent: bool
    created_at: datetime
    assignee: str | None
    own_card: str | None  # link to its own card, when it has one


def queue_blocks(
    view: SummaryView, rows: list[QueueRow], total: int, page: int, pages: int
) -> list[dict[str, Any]]:
    """One page of the storm's open posts: reply or dismiss each, as from its card."""
    head = f"*{_n(total)}* open in storm #{view.storm_id} on {where(view)}, oldest first · page {page} of {pages}"
    blocks: list[dict[str, Any]] = [section(head)]
    for row in rows:
        post = row.post
        label = CATEGORY_LABELS.get(post.category or "", "Untriaged")
        notes = [label, ":rotating_light: urgent" if row.urgent else "", f"posted {stamp(row.created_at)}"]
        if row.assignee:
            notes.append(f"assigned to {user(row.assignee)}")
        if row.own_card:
            notes.append(link(row.own_card, "its card"))
        blocks.append(section(" · ".join(n for n in notes if n) + "\n" + _post_line(post, view.platform)))
        blocks.append(
            {
                "type": "actions",
                "block_id": action_ids.block_id(post.mention_id),
                "elements": [
                    button("Reply…", action_ids.EDIT_REPLY, str(post.mention_id)),
                    {
                        "type": "static_select",
                        "action_id": action_ids.DISMISS,
                        "placeholder": plain("No reply needed"),
                        "options": [
                            option(label, value) for value, label in action_ids.DISMISS_REASONS.items()
                        ],
                    },
                ],
            }
        )
    if page < pages:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{action_ids.storm_block(view.storm_id)}:more",
                "elements": [button("Next page", action_ids.STORM_QUEUE, f"{view.storm_id}:{page + 1}")],
            }
        )
    return blocks[:50]


def bucket_label(moment: datetime, minutes: int) -> str:
    return moment.strftime("%H:%M") if minutes < 24 * 60 else moment.strftime("%d %b")


def slots(first: datetime, last: datetime) -> tuple[int, datetime, int]:
    """Minutes per column, where the first column starts and how many columns, for posts from
    `first` to `last` (wall-clock times): at most COLUMNS columns, each starting on a whole
    multiple of its size in the day (14:58, 15:00, … for 2 minutes), `first` in the first column
    and `last` (the current slot) in the last, so no slot is folded into another."""
    last = max(first, last)
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    for minutes in BUCKETS:
        step = timedelta(minutes=minutes)
        origin = day + ((first - day) // step) * step
        count = (last - origin) // step + 1
        if count <= COLUMNS:
            return minutes, origin, count
    days = -(-((last - day) // timedelta(days=1) + 1) // COLUMNS)  # whole days per column
    step = timedelta(days=days)
    return days * DAY, day, (last - day) // step + 1
