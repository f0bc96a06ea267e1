"""What happens to mentions after they are stored: triage, then a card in Slack.

Each step is a sweep over database states, so a crash between steps loses nothing: the next
sweep picks up whatever is still `new` or whose card is still `pending` or `failed`.

In `twoway run` the two steps are two jobs that never wait for each other: `triage` judges new
mentions a chunk at a time, newest first, and wakes `deliver` after each chunk; `deliver` is the
Slack worker, posting at Slack's pace (about a message a second per channel) a few cards at a
time, urgent first, then questions, and between them the storms' notices and summary cards,
redrawn in place when they changed. `twoway poll --once` runs both in turn (`process`).
Account alerts ride along with triage, so trouble shows as soon as a poll finds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.context import Context, Stopping
from bot.intake.alerts import sync_account_alerts
from bot.intake.storms import watch
from bot.intake.triage import retriage_edited, triage_pending
from bot.review.cards import Sweep, post_pending_cards, show_edit
from bot.review.summary import post_storm_messages, redraw_summaries

log = logging.getLogger(__name__)

STEP = 3  # cards posted before the worker looks again for more urgent ones and for storm messages


@dataclass
class Wakers:
    """How triage wakes the Slack worker; set by the scheduler (None: nobody to wake)."""

    slack: Callable[[], None] | None = None


def process(ctx: Context) -> None:
    """Everything, in turn: triage, then Slack (`twoway poll --once`, and without a scheduler)."""
    triage_pending(ctx)
    judge_edits(ctx)
    if ctx.slack is not None:
        deliver(ctx)
        sync_account_alerts(ctx)


def triage(ctx: Context) -> None:
    """The triage job: new mentions judged a chunk at a time, each chunk waking the Slack worker."""
    wake = ctx.state(Wakers).slack
    triage_pending(ctx, after_chunk=wake)
    judge_edits(ctx)
    if ctx.slack is not None:
        if wake is None:
            deliver(ctx)
        sync_account_alerts(ctx)


def judge_edits(ctx: Context) -> None:
    """Items their authors edited: judged again on the new words, their cards redrawn."""
    try:
        edited = retriage_edited(ctx)
    except Exception:
        log.exception("judging edited mentions again failed")
        return
    if ctx.slack is None:
        return
    for item in edited:
        try:
            show_edit(ctx, item.mention_id, item.became_urgent, item.reason)
        except Exception:
            log.exception("showing the edit of #%s failed", item.mention_id)


def deliver(ctx: Context) -> int:
    """The Slack worker: post what is waiting, most urgent first, until nothing is; returns how many."""
    if ctx.slack is None:
        return 0
    try:
        watch(ctx)  # a storm ends when it calms, whether or not anything new arrived
    except Exception:
        log.exception("storm detection failed")
    sweep, messages, total = Sweep(), set[int](), 0
    while True:
        if ctx.state(Stopping):
            log.info("stopping: cards still waiting are posted after the next start")
            return total
        tried = len(sweep.tried) + len(messages)
        posted = post_pending_cards(ctx, STEP, sweep)
        posted += post_storm_messages(ctx, messages)
        redraw_summaries(ctx)
        total += posted
        if sweep.rate_limited or (posted == 0 and len(sweep.tried) + len(messages) == tried):
            return total
