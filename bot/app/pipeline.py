"""What happens to mentions after they are stored: triage, then a card in Slack.

Each step is a sweep over database states, so a crash between steps loses nothing: the next
sweep picks up whatever is still `new` or whose card is still `pending` or `failed`. Account
alerts ride along so that trouble shows in the channel as soon as a poll finds it.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.intake.alerts import sync_account_alerts
from bot.intake.triage import triage_pending
from bot.review.cards import post_pending_cards


def process(ctx: Context) -> None:
    triage_pending(ctx)
    if ctx.slack is not None:
        post_pending_cards(ctx)
        sync_account_alerts(ctx)
