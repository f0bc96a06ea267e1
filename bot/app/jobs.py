"""The periodic jobs that `twoway run` schedules besides one poll job per account.

Every job is idempotent on its own (state transitions and unique keys), so a job that runs twice,
or in a second process by mistake, does no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.app.pipeline import deliver, triage
from bot.core.context import Context
from bot.intake.training import scheduled_retrain
from bot.supervision.digest import tick
from bot.supervision.sla import sweep


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[Context], object]
    seconds: int


JOBS = (
    Job("pipeline", triage, 30),  # triage new mentions (also woken by polls that bring some)
    Job("slack", deliver, 5),  # cards and storm messages at Slack's pace (also woken by triage)
    Job("sla", sweep, 60),  # reminders and escalations
    Job("digest", tick, 60),  # daily and weekly digests when due
    Job("retrain", scheduled_retrain, 6 * 3600),  # agency model from corrections
)
