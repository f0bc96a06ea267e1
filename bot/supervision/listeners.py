"""The card's Assign select: a supervisor hands the item to someone, checked like every click."""

from __future__ import annotations

from slack_bolt import App

from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.review import action_ids
from bot.review.listeners import BAD_VALUE, Click, block_mention, check_card, listener
from bot.supervision.assignment import assign
from storage.models import Role


def on_assign(ctx: Context, click: Click) -> str | None:
    mention_id = block_mention(click)
    assignee = click.selected
    if assignee is not None and not ids.is_user_id(assignee):
        raise UserError(BAD_VALUE)
    check_card(ctx, click, mention_id, Role.SUPERVISOR, "assign items", card_only=False)
    result = assign(ctx, mention_id, assignee, click.user)
    return result.message if result.warning or result.dm_error or not result.changed else None


def register(app: App, ctx: Context) -> None:
    app.action(action_ids.ASSIGN)(listener(ctx, on_assign))
