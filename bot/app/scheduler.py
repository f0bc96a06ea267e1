"""The in-process scheduler of `twoway run`: one poll job per account plus the periodic jobs.

APScheduler 3 with an in-memory job store: exactly one process may run it (several processes on
one store would run every job twice). Each job has a stable id, `max_instances=1` and `coalesce`,
so a slow poll is never overlapped by the next one and missed runs collapse into one. Every job
body catches and logs its own exceptions: an exception must not reach the scheduler thread.
"""

from __future__ import annotations

import logging
import random
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from bot.app.jobs import JOBS, every_other_sweep
from bot.app.pipeline import Wakers, process
from bot.core.context import Context
from bot.intake.accounts import register_env_accounts, retry_env_accounts
from bot.intake.polling import enabled_account_ids, poll_account
from bot.intake.webhooks import PollNow
from bot.review.cards import redraw_recent_cards
from connectors.http import redact

log = logging.getLogger(__name__)

POLL_PREFIX = "poll:"
MAX_START_SPREAD = 30.0  # seconds over which the first polls of all accounts are spread
PIPELINE_JOB = "pipeline"
SLACK_JOB = "slack"
REDRAW_JOB = "redraw-after-start"  # once, at start: cards a crash may have left showing an old state
WOKEN_JOBS = (PIPELINE_JOB, SLACK_JOB)  # jobs that run again at once when woken during a run


def _log_failure(what: str, exc: BaseException) -> None:
    log.error("%s failed:\n%s", what, redact("".join(traceback.format_exception(exc))))


def guarded(name: str, function: Callable[[Context], object], ctx: Context) -> Callable[[], None]:
    """A job body that logs any exception (scrubbed of tokens) instead of raising it."""

    def run() -> None:
        try:
            function(ctx)
        except Exception as exc:
            _log_failure(f"job {name}", exc)

    run.__name__ = f"job_{name}"
    return run


def run_poll_job(ctx: Context, account_id: int, scheduler: BackgroundScheduler | None = None) -> None:
    """Poll one account; when it brought new mentions, get them triaged and carded right away."""
    try:
        summary = poll_account(ctx, account_id)
    except Exception as exc:
        _log_failure(f"poll of account {account_id}", exc)
        return
    if summary.new:
        wake_pipeline(ctx, scheduler)


class _Wakes:
    """Per woken job: a flag set when there is new work, and whether a run is under way."""

    def __init__(self) -> None:
        self.flags = {job: threading.Event() for job in WOKEN_JOBS}
        self.running = {job: threading.Event() for job in WOKEN_JOBS}


def _wake_flag(ctx: Context, job: str = PIPELINE_JOB) -> threading.Event:
    return ctx.state(_Wakes).flags[job]


def rerun_while_woken(
    ctx: Context, function: Callable[[Context], object], job: str = PIPELINE_JOB
) -> Callable[[Context], None]:
    """Run again if new work arrived during a run.

    A wake-up that finds the job running would otherwise be dropped by max_instances=1, and the
    work it announced would wait for the next interval.
    """

    def run(ctx: Context) -> None:
        flag, running = _wake_flag(ctx, job), ctx.state(_Wakes).running[job]
        running.set()
        try:
            while True:
                flag.clear()
                function(ctx)
                running.clear()  # before the last look: a wake-up after it starts a run itself
                if not flag.is_set():
                    return
                running.set()
        finally:
            running.clear()

    return run


def wake_job(ctx: Context, scheduler: BackgroundScheduler | None, job_id: str) -> bool:
    """Run a woken job now (its max_instances=1 keeps runs from overlapping); False without one."""
    job = scheduler.get_job(job_id) if scheduler is not None and scheduler.running else None
    if job is None:
        return False
    _wake_flag(ctx, job_id).set()
    if not ctx.state(_Wakes).running[job_id].is_set():  # a run under way sees the flag and goes again
        job.modify(next_run_time=datetime.now(UTC))
    return True


def wake_pipeline(ctx: Context, scheduler: BackgroundScheduler | None) -> None:
    """Run the pipeline job now; without a running scheduler, do its work here."""
    if wake_job(ctx, scheduler, PIPELINE_JOB):
        return
    try:
        process(ctx)
    except Exception as exc:
        _log_failure("pipeline after poll", exc)


def sync_poll_jobs(ctx: Context, scheduler: BackgroundScheduler) -> None:
    """Make the poll jobs match the enabled accounts (connected, paused or resumed from Slack)."""
    try:
        wanted = set(enabled_account_ids(ctx))
    except Exception as exc:
        _log_failure("syncing poll jobs", exc)
        return
    existing = {
        int(job.id[len(POLL_PREFIX) :]) for job in scheduler.get_jobs() if job.id.startswith(POLL_PREFIX)
    }
    interval = ctx.settings.twoway_poll_seconds
    spread = min(float(interval), MAX_START_SPREAD)
    for account_id in sorted(wanted - existing):
        first = datetime.now(UTC) + timedelta(seconds=random.uniform(0, spread))
        scheduler.add_job(
            run_poll_job,
            "interval",
            seconds=interval,
            jitter=max(1, interval // 20),
            args=[ctx, account_id, scheduler],
            id=f"{POLL_PREFIX}{account_id}",
            name=f"poll account {account_id}",
            replace_existing=True,
            next_run_time=first,
        )
        log.info("polling account %s every %s s", account_id, interval)
    for account_id in existing - wanted:
        try:
            scheduler.remove_job(f"{POLL_PREFIX}{account_id}")
            log.info("stopped polling account %s (paused or removed)", account_id)
        except JobLookupError:
            pass


def sync(ctx: Context, scheduler: BackgroundScheduler) -> None:
    """Retry the env accounts start-up could not identify, then match the poll jobs.

    Without the retry, one failed identification at start-up would leave that account unpolled
    until the next restart, and its mentions would age out of the first-poll window.
    """
    try:
        retry_env_accounts(ctx)
    except Exception as exc:
        _log_failure("retrying the accounts from the environment", exc)
    sync_poll_jobs(ctx, scheduler)


class _QuietWokenSkips(logging.Filter):
    """A woken job's interval comes round while a long run (a storm's cards at Slack's pace) is
    under way: APScheduler skips it and says so at WARNING. That is the design, not trouble: the
    run under way picks the new work up itself (`rerun_while_woken`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "maximum number of running instances reached" in message
            and any(f'"{job} (trigger' in message for job in WOKEN_JOBS)
        )


_QUIET = _QuietWokenSkips()


def build_scheduler(ctx: Context) -> BackgroundScheduler:
    """The scheduler with every job added, not yet started."""
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if _QUIET not in scheduler_log.filters:
        scheduler_log.addFilter(_QUIET)
    # misfire_grace_time=None: a run that starts late (slow start-up, a busy machine) still runs,
    # once (coalesce), instead of being skipped until the next interval.
    scheduler = BackgroundScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone=UTC
    )
    sync_poll_jobs(ctx, scheduler)
    for job in JOBS:
        function = job.run
        if job.id in WOKEN_JOBS:
            function = rerun_while_woken(ctx, function, job.id)
        scheduler.add_job(
            guarded(job.id, function, ctx),
            "interval",
            seconds=job.interval(ctx.settings),
            id=job.id,
            name=job.id,
            replace_existing=True,
        )
    scheduler.add_job(
        guarded("sync", lambda c: sync(c, scheduler), ctx),
        "interval",
        seconds=every_other_sweep(ctx.settings),
        id="sync",
        name="sync",
        replace_existing=True,
    )
    ctx.state(Wakers).slack = lambda: _wake_slack(ctx, scheduler)
    return scheduler


def poll_soon(ctx: Context, scheduler: BackgroundScheduler, account_id: int) -> None:
    """Run the account's poll job now (a webhook named new activity); its max_instances=1 holds."""
    job = scheduler.get_job(f"{POLL_PREFIX}{account_id}") if scheduler.running else None
    if job is not None:
        job.modify(next_run_time=datetime.now(UTC))


def _wake_slack(ctx: Context, scheduler: BackgroundScheduler) -> None:
    if not wake_job(ctx, scheduler, SLACK_JOB) and scheduler.running:
        log.debug("no Slack job to wake")


def start_scheduler(ctx: Context) -> BackgroundScheduler:
    """Register the env accounts, then start polling them and running the periodic jobs."""
    try:
        register_env_accounts(ctx)
    except Exception as exc:
        _log_failure("registering the accounts from the environment", exc)
    started = ctx.clock.now()
    scheduler = build_scheduler(ctx)
    scheduler.add_job(guarded(REDRAW_JOB, lambda c: redraw_recent_cards(c, started), ctx), id=REDRAW_JOB)
    scheduler.start()
    ctx.state(PollNow).request = lambda account_id: poll_soon(ctx, scheduler, account_id)
    return scheduler
