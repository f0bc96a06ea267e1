"""The periodic jobs that `twoway run` schedules besides one poll job per account.

Every job is idempotent on its own (state transitions and unique keys), so a job that runs twice,
or in a second process by mistake, does no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.app.pipeline import deliver, triage
from bot.core.config import Settings
from bot.core.context import Context
from bot.intake.training import scheduled_retrain
from bot.supervision.digest import tick
from bot.supervision.sla import sweep


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[Context], object]
    seconds: int | Callable[[Settings], int]  # fixed, or read from the settings

    def interval(self, settings: Settings) -> int:
        return self.seconds(settings) if callable(self.seconds) else self.seconds


def every_sweep(settings: Settings) -> int:
    return settings.sweep_seconds


def every_other_sweep(settings: Settings) -> int:
    return 2 * settings.sweep_seconds


# TWOWAY_SWEEP_SECONDS (default 30) sets the pace: triage every sweep, reminders and digests every
# other one; Slack's own job runs every 5 s, paced per channel.
JOBS = (
    Job("pipeline", triage, every_sweep),  # triage new mentions (also woken by polls that bring some)
    Job("slack", deliver, 5),  # cards, alerts and storm messages at Slack's pace (also woken by triage)
    Job("sla", sweep, every_other_sweep),  # reminders and escalations
    Job("digest", tick, every_other_sweep),  # daily and weekly digests when due
    Job("retrain", scheduled_retrain, 6 * 3600),  # agency model from corrections
)
