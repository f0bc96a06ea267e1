"""The periodic jobs that `twoway run` schedules besides one poll job per account.

Every job is idempotent on its own (state transitions and unique keys), so a job that runs twice,
or in a second process by mistake, does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    id: str
    target: str  # "module:function", called with the Context
    seconds: int


JOBS = (
    Job("pipeline", "bot.pipeline:process", 30),  # triage new mentions, post or retry cards
    Job("sla", "bot.sla:sweep", 60),  # reminders and escalations
    Job("digest", "bot.digest:tick", 60),  # daily and weekly digests when due
    Job("retrain", "bot.training:scheduled_retrain", 6 * 3600),  # agency model from corrections
)
