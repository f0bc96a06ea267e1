"""Clicks on a storm's summary card: open the storm's queue, dismiss the rest.

Replying to one post from the summary card or from the storm's queue is the card's own
`edit_reply` (the Edit & send form) and `dismiss`: `bot.review.listeners.check_card` accepts a
click on a post quoted by its storm's summary card. As everywhere, the listener acks first,
checks the role on the server, and answers the clicker ephemerally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.words import counted
from bot.review import action_ids
from bot.review.listeners import BAD_VALUE, NOT_CARRIED_OUT, NOT_THIS_CARD, Click, tell
from bot.review.summary import dismiss_shown, load_summary
from bot.review.summary_blocks import QUEUE_PAGE, PostView, QueueRow, queue_blocks
from bot.slack.app import after_ack, user_message
from bot.slack.messages import card_url
from bot.slack.roles import require
from storage import storms
from storage.models import Role
from storage.queue import unanswered

log = logging.getLogger(__name__)

Answer = tuple[str, list[dict[str, Any]] | None]


def _storm_checked(ctx: Context, click: Click, storm_id: int, role: Role, doing: str) -> None:
    with ctx.transaction() as session:
        require(session, click.user, role, doing)
        if storms.get(session, storm_id) is None:
            raise UserError(f"There is no storm #{storm_id}. Nothing was changed.")
        # The select exists only on the summary card: a click from anywhere else is not one.
        where = (click.container.get("channel_id"), click.container.get("message_ts"))
        if not click.from_message or storms.summary_at(session, *where) != storm_id:
            raise UserError(NOT_THIS_CARD)


def on_queue(ctx: Context, click: Click) -> Answer:
    parsed = ids.parse_ids(click.value, 2)
    if parsed is None or not 1 <= parsed[1] <= 100_000:
        raise UserError(BAD_VALUE)
    storm_id, page = parsed
    with ctx.transaction() as session:
        require(session, click.user, Role.OFFICER, "see a storm's queue")
        view = load_summary(ctx, session, storm_id, ctx.clock.now())
        if view is None:
            raise UserError(f"There is no storm #{storm_id}.")
        result = unanswered(session, "all", page=page, page_size=QUEUE_PAGE, storm_id=storm_id)
    if not result.items:
        return f"Nothing is open in storm #{storm_id}. :tada:", None
    rows = [
        QueueRow(
            post=PostView(
                item.id, item.author_name or item.author_handle, item.text, item.url, item.category, "open"
            ),
            urgent=item.urgent,
            created_at=item.created_at,
            assignee=item.assignee,
            own_card=None if item.on_summary else card_url(ctx, item.card_channel, item.card_ts),
        )
        for item in result.items
    ]
    blocks = queue_blocks(view, rows, result.total, result.page, result.pages)
    return f"{result.total} open in storm #{storm_id}", blocks


def on_dismiss_rest(ctx: Context, click: Click) -> Answer:
    storm_id = action_ids.storm_from_block(click.block_id)
    reason = click.selected
    if storm_id is None or reason not in action_ids.DISMISS_REASONS:
        raise UserError(BAD_VALUE)
    _storm_checked(ctx, click, storm_id, Role.SUPERVISOR, "dismiss a storm's posts in one go")
    # What the card the supervisor saw counted: the posts gathered by the time it was drawn.
    done = dismiss_shown(ctx, storm_id, reason, click.user, action_ids.storm_drawn_at(click.block_id))
    count, later = done.dismissed, done.later
    newer = (
        f" {counted(later, 'post')} gathered since the card you saw was drawn "
        f"{'is' if later == 1 else 'are'} still open: the card counts {'it' if later == 1 else 'them'} "
        "when it is next redrawn, within seconds."
        if later
        else ""
    )
    if not count:
        return f"Nothing gathered on this card was still open. Nothing was changed.{newer}", None
    label = action_ids.DISMISS_REASONS[reason]
    return (
        f"Dismissed {counted(count, 'post')} gathered on this card as “{label}”. Each one is in the public record "
        f"with this reason; urgent posts and questions with cards of their own are untouched.{newer}",
        None,
    )


Work = Callable[[Context, Click], Answer]


def listener(ctx: Context, work: Work) -> Callable[..., None]:
    """Ack now; after the ack, answer the clicker with the text (and blocks) `work` returns."""

    def listen(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = Click.of(body)

        def run() -> None:
            blocks: list[dict[str, Any]] | None = None
            try:
                text, blocks = work(ctx, click)
            except UserError as exc:
                text = str(exc)
            except Exception as exc:
                log.exception("%s click failed", click.action_id)
                text = user_message(exc)
            replace = bool(click.container.get("is_ephemeral")) and blocks is not None
            try:
                respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=replace)
            except Exception:
                log.warning("could not answer a %s click", click.action_id)

        run.__qualname__ = f"{click.action_id or 'unknown'} click"  # names it in the stop's log
        after_ack(ctx, run, dropped=lambda: tell(respond, NOT_CARRIED_OUT))

    return listen


def register(app: App, ctx: Context) -> None:
    app.action(action_ids.STORM_QUEUE)(listener(ctx, on_queue))
    app.action(action_ids.STORM_DISMISS)(listener(ctx, on_dismiss_rest))
