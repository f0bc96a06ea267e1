"""Card clicks and the Edit & send modal: ack at once, then check, act once, redraw.

Every listener acks before it touches the database or a platform; the work runs in the app's
work pool. Values carry database ids only and are checked: the mention must exist, and a click
on a card must come from that mention's own card (channel and ts), or nothing happens. Roles
are checked here, on the server, for every click.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.intake.triage import CategoryChanged, reclassify
from bot.review import action_ids, replies
from bot.review.blocks import platform_name
from bot.review.cards import hideable, refresh_card, restriction
from bot.review.views import edit_metadata, edit_modal, submitted_text
from bot.slack.app import after_ack, user_message
from bot.slack.plain_text import modal_text
from bot.slack.roles import require
from connectors import registry
from domain import CATEGORIES, ReplyRules
from handlers.text import length_on, too_long, visible, without_controls
from storage import cards, mentions, storms
from storage.models import CARD_FAILED, CARD_POSTING, OPEN, REPLY_FAILED, REPLY_NONE, Mention, Role

log = logging.getLogger(__name__)

NOT_THIS_CARD = replies.NOT_THIS_CARD
STILL_RECORDING = (
    "TwoWay has not recorded this card yet (Slack was slow to confirm it); it will within a few"
    " minutes. Try again then. Nothing was changed."
)
BAD_VALUE = "This button's value is not valid. Nothing was changed."
NOT_CARRIED_OUT = (
    "TwoWay was restarting and did not get to this click, so nothing was changed. Click again in a minute."
)
DRAFTS_CHANGED = (
    "The suggested replies changed after this card was drawn (it was reclassified or redrawn), so"
    " nothing was sent. The card now shows the current replies: read them and click Send again."
)


@dataclass(frozen=True)
class Click:
    """One element clicked, as Slack reported it."""

    user: str
    action_id: str
    block_id: str
    value: str | None
    selected: str | None  # selected option value or user
    container: dict[str, Any]
    trigger_id: str
    message_blocks: list[Any] = field(default_factory=list)  # the clicked message as Slack drew it

    @classmethod
    def of(cls, body: dict[str, Any]) -> Click:
        """Fields of the wrong type become empty, so a forged payload meets the value checks."""
        actions = body.get("actions")
        action = _mapping(actions[0] if isinstance(actions, list) and actions else None)
        option = _mapping(action.get("selected_option")).get("value")
        if "selected_option" in action and not isinstance(option, str):
            option = ""  # a selection that names nothing is not "no selection"
        selected = option if isinstance(option, str) else action.get("selected_user")
        if selected is not None and not isinstance(selected, str):
            selected = ""  # only a missing or null user is a cleared select (unassign)
        value = action.get("value")
        blocks = _mapping(body.get("message")).get("blocks")
        return cls(
            user=str(_mapping(body.get("user")).get("id") or ""),
            action_id=str(action.get("action_id") or ""),
            block_id=str(action.get("block_id") or ""),
            value=value if isinstance(value, str) else None,
            selected=selected,
            container=_mapping(body.get("container")),
            trigger_id=str(body.get("trigger_id") or ""),
            message_blocks=blocks if isinstance(blocks, list) else [],
        )

    @property
    def from_message(self) -> bool:
        return self.container.get("type") == "message" and not self.container.get("is_ephemeral")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_card(
    ctx: Context, click: Click, mention_id: int, role: Role, doing: str, card_only: bool = True
) -> Mention:
    """The mention, after the role check and the tamper checks; raises UserError otherwise."""
    block_mention = action_ids.mention_from_block(click.block_id)
    with ctx.transaction() as session:
        require(session, click.user, role, doing)
        if block_mention is not None and block_mention != mention_id:
            raise UserError(NOT_THIS_CARD)
        mention = mentions.get(session, mention_id)
        if mention is None:
            raise UserError(f"There is no item #{mention_id}. Nothing was changed.")
        if click.from_message:
            channel, ts = click.container.get("channel_id"), click.container.get("message_ts")
            same = (mention.card_channel, mention.card_ts) == (channel, ts)
            if not same and mention.storm_id is not None:
                same = (
                    storms.summary_at(session, channel, ts) == mention.storm_id
                )  # quoted by its storm's card
            if not same and mention.card_ts is None and mention.card_status in (CARD_POSTING, CARD_FAILED):
                raise UserError(STILL_RECORDING)  # a post whose answer was lost (crash, timeout)
            if not same and (card_only or cards.at(session, channel, ts) is not None):
                raise UserError(NOT_THIS_CARD)
        return mention


# -- plumbing -----------------------------------------------------------------------------------------


def tell(respond: Respond, text: str) -> None:
    """An ephemeral answer to the clicker; one Slack would not take is logged, not raised."""
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not send an ephemeral answer")


def _refresh(ctx: Context, mention_id: int) -> None:
    try:
        refresh_card(ctx, mention_id)
    except Exception:
        log.warning("could not redraw the card of #%s", mention_id, exc_info=True)


Work = Callable[[Context, Click], str | None]


def listener(ctx: Context, work: Work) -> Callable[..., None]:
    """Ack now; run `work` after the ack; tell the clicker what it returns or why it was refused."""

    def listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = Click.of(body)

        def run() -> None:
            try:
                message = work(ctx, click)
            except UserError as exc:
                message = str(exc)
            except Exception as exc:
                log.exception("%s click failed", click.action_id)
                message = user_message(exc)
            if message:
                tell(respond, message)

        run.__qualname__ = f"{click.action_id or 'unknown'} click"  # names it in the stop's log
        after_ack(ctx, run, dropped=lambda: tell(respond, NOT_CARRIED_OUT))

    return listener


def _ids_or_refuse(value: str | None, count: int) -> tuple[int, ...]:
    parsed = ids.parse_ids(value, count)
    if parsed is None:
        raise UserError(BAD_VALUE)
    return parsed


def _finish(ctx: Context, result: replies.Result) -> str | None:
    if result.changed:
        _refresh(ctx, result.mention_id)
    return None if result.outcome in ("sent", "done") else result.message


# -- the actions --------------------------------------------------------------------------------------


def on_send(ctx: Context, click: Click) -> str | None:
    match = re.fullmatch(rf"{action_ids.SEND_REPLY}:([0-9])", click.action_id)
    parsed = action_ids.parse_send_value(click.value)
    if parsed is None or match is None or int(match.group(1)) != parsed[1]:
        raise UserError(BAD_VALUE)
    mention_id, number, mark = parsed
    mention = check_card(ctx, click, mention_id, Role.OFFICER, "send replies")
    if restriction(mention.platform, mention.explicit_mention):
        where = platform_name(mention.platform)
        raise UserError(
            f"The {where} API cannot reply to this post; open it on {where}, reply there and mark it as replied manually."
        )
    items = (mention.drafts or {}).get("items") or []
    exists = 1 <= number <= min(len(items), action_ids.MAX_DRAFTS) and isinstance(items[number - 1], dict)
    text = str(items[number - 1].get("text") or "") if exists else ""
    if mark is not None and (not text.strip() or mark != action_ids.draft_mark(text)):
        # Drawn with words that are no longer draft N (or draft N is gone): show the card as it is.
        _refresh(ctx, mention_id)
        raise UserError(DRAFTS_CHANGED)
    if not text.strip():
        raise UserError(BAD_VALUE)
    return _finish(ctx, replies.send_reply(ctx, mention_id, text, f"draft:{number}", click.user))


def on_retry(ctx: Context, click: Click) -> str | None:
    mention_id, reply_id = _ids_or_refuse(click.value, 2)
    check_card(ctx, click, mention_id, Role.OFFICER, "send replies")
    return _finish(ctx, replies.retry_send(ctx, mention_id, reply_id, click.user))


def on_confirm(posted: bool) -> Work:
    def work(ctx: Context, click: Click) -> str | None:
        mention_id, reply_id = _ids_or_refuse(click.value, 2)
        check_card(ctx, click, mention_id, Role.OFFICER, "record what happened to a reply")
        return _finish(ctx, replies.confirm_unknown(ctx, mention_id, reply_id, posted, click.user))

    return work


def on_manual(ctx: Context, click: Click) -> str | None:
    (mention_id,) = _ids_or_refuse(click.value, 1)
    check_card(ctx, click, mention_id, Role.OFFICER, "mark items as replied")
    return _finish(ctx, replies.mark_replied_manually(ctx, mention_id, click.user))


def on_like(ctx: Context, click: Click) -> str | None:
    (mention_id,) = _ids_or_refuse(click.value, 1)
    mention = check_card(ctx, click, mention_id, Role.OFFICER, "like posts")
    if mention.category != "compliment":  # a like on a complaint reads as mockery
        raise UserError(
            f"Only compliments are liked from TwoWay; #{mention_id} is filed as {mention.category}."
        )
    return _finish(ctx, replies.like(ctx, mention_id, click.user))


def on_hide(ctx: Context, click: Click) -> str | None:
    (mention_id,) = _ids_or_refuse(click.value, 1)
    mention = check_card(ctx, click, mention_id, Role.OFFICER, "hide posts")
    if not hideable(mention):
        where = platform_name(mention.platform)
        raise UserError(f"{where} does not let TwoWay hide #{mention_id}. Nothing was changed.")
    return _finish(ctx, replies.hide(ctx, mention_id, click.user))


def block_mention(click: Click) -> int:
    """The mention named by the block id `m:<id>`, or by a value `<id>[:choice]` on a button."""
    mention_id = action_ids.mention_from_block(click.block_id)
    if mention_id is None and click.value:
        head = click.value.split(":", 1)[0]
        mention_id = int(head) if ids.is_number(head) else None
    if mention_id is None:
        raise UserError(BAD_VALUE)
    return mention_id


def _choice(click: Click) -> str | None:
    """The option picked in a select or overflow, or the `:choice` part of a button's value."""
    if click.selected is not None:
        return click.selected
    if click.value and ":" in click.value:
        return click.value.split(":", 1)[1]
    return None


def on_dismiss(ctx: Context, click: Click) -> str | None:
    mention_id = block_mention(click)
    reason = _choice(click)
    if reason is None and click.value is not None:
        reason = "not_needed"  # a plain "No reply needed" button (value "<id>") says just that
    if reason not in action_ids.DISMISS_REASONS:
        raise UserError(BAD_VALUE)
    check_card(ctx, click, mention_id, Role.OFFICER, "mark items as needing no reply")
    return _finish(ctx, replies.dismiss(ctx, mention_id, reason, click.user))


def shown_category(click: Click) -> str | None:
    """The category the clicked card showed, "" for none, or None when the click cannot tell.

    Slack reports only the option picked from the Reclassify overflow, which has no initial
    option; but the menu leaves out the card's current category, and a click on a message
    carries the message as drawn. So the one category missing from that menu is what the
    officer saw (all four listed: the card showed none). A click without the message (an
    ephemeral one, another client's button) cannot tell, and is checked as before.
    """
    for block in click.message_blocks:
        if not isinstance(block, dict) or block.get("block_id") != click.block_id:
            continue
        elements = block.get("elements")
        for element in elements if isinstance(elements, list) else []:
            if not isinstance(element, dict) or element.get("action_id") != action_ids.RECLASSIFY:
                continue
            options = element.get("options")
            listed = {_mapping(o).get("value") for o in options} if isinstance(options, list) else set()
            missing = [category for category in CATEGORIES if category not in listed]
            if len(missing) > 1:
                return None
            return missing[0] if missing else ""
    return None


def on_reclassify(ctx: Context, click: Click) -> str | None:
    """First wins: a card drawn before another officer's reclassify changes nothing."""
    mention_id = block_mention(click)
    category = _choice(click)
    if category not in CATEGORIES:
        raise UserError(BAD_VALUE)
    mention = check_card(ctx, click, mention_id, Role.OFFICER, "reclassify items")
    shown = shown_category(click)
    try:
        if shown is not None and (mention.category or "") != shown:
            raise CategoryChanged(mention_id)
        if mention.category == category:  # the overflow leaves the current category out
            raise UserError(f"#{mention_id} is already filed as {category}. Nothing was changed.")
        reclassify(ctx, mention_id, category, click.user, shown=shown)  # checked again under its lock
    except CategoryChanged:
        with ctx.transaction() as session:
            current = mentions.get(session, mention_id)
            refused = replies.why_not_reclassified(session, current, shown or "") if current else BAD_VALUE
        _refresh(ctx, mention_id)  # in case the winner's redraw did not reach Slack
        raise UserError(refused) from None
    except (KeyError, LookupError, ValueError) as exc:
        raise UserError(f"Could not reclassify #{mention_id}: {exc}") from None
    _refresh(ctx, mention_id)
    return None


# -- Edit & send ----------------------------------------------------------------------------------------


def open_edit(ctx: Context, body: dict[str, Any], respond: Respond) -> None:
    """Open the modal right after the ack: the trigger id expires in 3 seconds."""

    click = Click.of(body)
    try:
        (mention_id,) = _ids_or_refuse(click.value, 1)
        mention = check_card(ctx, click, mention_id, Role.OFFICER, "send replies")
        if restriction(mention.platform, mention.explicit_mention):
            where = platform_name(mention.platform)
            raise UserError(f"The {where} API cannot reply to this post; open it on {where} and reply there.")
        if mention.state != OPEN or mention.reply_status not in (REPLY_NONE, REPLY_FAILED):
            with ctx.transaction() as session:
                raise UserError(replies.why_not(session, mention))
        draft = _prefill(ctx, mention)
        view = edit_modal(
            mention_id=mention_id,
            platform=mention.platform,
            original=mention.text,
            draft=draft,
            rules=rules_of(mention.platform),
            length=length_on(draft, rules_of(mention.platform)),
            card_channel=mention.card_channel,
            card_ts=mention.card_ts,
        )
        assert ctx.slack is not None
        ctx.slack.views_open(trigger_id=click.trigger_id, view=view)
    except UserError as exc:
        tell(respond, str(exc))
    except SlackApiError as exc:
        tell(respond, f"Slack would not open the form ({exc.response.get('error')}); click again.")


def _prefill(ctx: Context, mention: Mention) -> str:
    """The text to start from: after a refused reply, that reply (often the officer's own
    words, to change a little), else draft 1."""
    if mention.reply_status == REPLY_FAILED:
        with ctx.transaction() as session:
            reply = cards.latest_reply(session, mention.id)
            if reply is not None and reply.status == REPLY_FAILED and visible(reply.text):
                return reply.text
    items = (mention.drafts or {}).get("items") or []
    return str(items[0].get("text") or "") if items and isinstance(items[0], dict) else ""


def rules_of(platform: str) -> ReplyRules:
    """The reply rules of `platform`; a stored row of a platform without a connector is refused."""
    spec = registry.PLATFORMS.get(platform)
    if spec is None:
        raise UserError(f"TwoWay has no connector for {platform!r}, so it cannot reply there.")
    return spec.rules


def on_edit_submit(ctx: Context, ack: Ack, body: dict[str, Any]) -> None:
    """Validate in the submission's answer (errors stay in the form), then send after the ack."""

    user = str(_mapping(body.get("user")).get("id") or "")
    view = _mapping(body.get("view"))
    parsed = edit_metadata(view.get("private_metadata"))
    text = submitted_text(view)
    if parsed is None or text is None:
        ack(response_action="errors", errors={action_ids.EDIT_BLOCK: BAD_VALUE})
        return
    mention_id, channel, ts = parsed
    text = without_controls(text)
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id)
        problem = None
        try:
            require(session, user, Role.OFFICER, "send replies")
        except UserError as exc:
            problem = str(exc)
        if problem is None and mention is None:
            problem = f"There is no item #{mention_id}."
        elif problem is None and mention is not None:
            if (mention.card_channel, mention.card_ts) != (channel, ts):
                problem = NOT_THIS_CARD
            elif restriction(mention.platform, mention.explicit_mention):
                where = platform_name(mention.platform)
                problem = f"The {where} API cannot reply to this post; reply on {where} and mark it as replied manually."
            elif mention.state != OPEN or mention.reply_status not in (REPLY_NONE, REPLY_FAILED):
                problem = replies.why_not(session, mention)
            elif not visible(text):
                problem = "Write a reply first."
            elif (reason := too_long(text, rules_of(mention.platform))) is not None:
                problem = reason
    if problem is not None:
        ack(response_action="errors", errors={action_ids.EDIT_BLOCK: modal_text(ctx, problem)[:1900]})
        return
    ack()

    def run() -> None:
        result = replies.send_reply(ctx, mention_id, text, "edited", user)
        message = _finish(ctx, result)
        if message and channel and ctx.slack is not None:
            try:
                ctx.slack.chat_postEphemeral(channel=channel, user=user, text=message)
            except SlackApiError:
                log.warning("could not tell %s about the edited reply to #%s", user, mention_id)

    def dropped() -> None:
        """The modal has closed and the text exists nowhere else: give it back."""
        message = (
            f"TwoWay was restarting and did not send your reply to #{mention_id}, so nothing was "
            "posted. Click Edit & send again in a minute." + replies.kept(text, "edited")
        )
        try:
            if not channel or ctx.slack is None:
                raise LookupError("no card channel to answer in")
            ctx.slack.chat_postEphemeral(channel=channel, user=user, text=message)
        except Exception:
            # The last copy of what the officer wrote; it was meant to be posted publicly anyway.
            log.error("could not give %s back the unsent reply to #%s: %r", user, mention_id, text)

    run.__qualname__ = "edit & send"
    after_ack(ctx, run, dropped=dropped)


# -- registration ----------------------------------------------------------------------------------------


def register(app: App, ctx: Context) -> None:
    app.action(re.compile(rf"\A{action_ids.SEND_REPLY}:[0-9]+\Z"))(listener(ctx, on_send))
    app.action(action_ids.RETRY_SEND)(listener(ctx, on_retry))
    app.action(action_ids.CONFIRM_POSTED)(listener(ctx, on_confirm(True)))
    app.action(action_ids.CONFIRM_NOT_POSTED)(listener(ctx, on_confirm(False)))
    app.action(action_ids.MARK_REPLIED_MANUALLY)(listener(ctx, on_manual))
    app.action(action_ids.LIKE)(listener(ctx, on_like))
    app.action(action_ids.HIDE)(listener(ctx, on_hide))
    app.action(action_ids.DISMISS)(listener(ctx, on_dismiss))
    app.action(action_ids.RECLASSIFY)(listener(ctx, on_reclassify))

    def edit(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        after_ack(ctx, open_edit, ctx, body, respond, fast=True)

    app.action(action_ids.EDIT_REPLY)(edit)

    def submit(ack: Ack, body: dict[str, Any]) -> None:
        on_edit_submit(ctx, ack, body)

    app.view(action_ids.EDIT_REPLY)(submit)

    def link_clicked(ack: Ack) -> None:
        ack()

    app.action(action_ids.OPEN_LINK)(link_clicked)
