"""The scheduler of `twoway run`: one guarded poll job per enabled account plus the periodic jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.app import scheduler as scheduling
from bot.app.jobs import Job
from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from storage import accounts
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.server import Response
from tests.support.fakes.x_api import FakeX

PIPELINE_RUNS = threading.Event()


def record_pipeline(ctx: Context) -> None:
    """Stands in for bot.app.pipeline:process so the test sees when the pipeline job runs."""
    PIPELINE_RUNS.set()


def explode(ctx: Context) -> None:
    raise RuntimeError("GET https://graph.example/v25.0/1/posts?access_token=EAAB-SECRET-123 failed")


@pytest.fixture
def fakes(clock: FakeClock) -> Iterator[tuple[FakeX, FakeGraph]]:
    with FakeX(now=clock.now() - timedelta(hours=1)) as x, FakeGraph(now=clock.now()) as graph:
        yield x, graph  # type: ignore[misc]


@pytest.fixture
def configured(ctx: Context, fakes: tuple[FakeX, FakeGraph]) -> Context:
    x, graph = fakes
    creds = x.user_credentials
    ctx.settings = make_settings(
        DATABASE_URL=ctx.settings.database_url,
        X_API_URL=x.url,
        X_BEARER_TOKEN=x.bearer_token,
        X_API_KEY=creds["api_key"],
        X_API_SECRET=creds["api_secret"],
        X_ACCESS_TOKEN=creds["access_token"],
        X_ACCESS_TOKEN_SECRET=creds["access_token_secret"],
        FACEBOOK_GRAPH_URL=graph.url,
        FACEBOOK_PAGE_ID=graph.page["id"],
        FACEBOOK_PAGE_TOKEN=graph.page_token,
    )
    return ctx


@pytest.fixture
def paused_scheduler() -> Iterator[list[BackgroundScheduler]]:
    """Schedulers a test starts are shut down after it."""
    started: list[BackgroundScheduler] = []
    yield started
    for scheduler in started:
        if scheduler.running:
            scheduler.shutdown(wait=True)


def poll_job_ids(scheduler: BackgroundScheduler) -> set[str]:
    return {job.id for job in scheduler.get_jobs() if job.id.startswith("poll:")}


def test_one_poll_job_per_enabled_account_with_safe_defaults(
    configured: Context, paused_scheduler: list[BackgroundScheduler]
) -> None:
    """Stable ids, never two runs of one job at once, missed runs collapsed into one."""
    x_account, fb_account = register_env_accounts(configured)
    with configured.transaction() as session:
        accounts.set_enabled(session, fb_account.id, False, by="U0ADMIN", now=configured.clock.now())
    scheduler = scheduling.build_scheduler(configured)
    scheduler.start(paused=True)
    paused_scheduler.append(scheduler)
    assert poll_job_ids(scheduler) == {f"poll:{x_account.id}"}
    ids = {job.id for job in scheduler.get_jobs()}
    assert {"sync", "pipeline"} <= ids
    for job in scheduler.get_jobs():
        assert job.coalesce is True
        assert job.max_instances == 1
    poll = scheduler.get_job(f"poll:{x_account.id}")
    assert poll.trigger.interval == timedelta(seconds=120)


def test_every_periodic_job_is_scheduled(ctx: Context) -> None:
    """Jobs name their functions directly: a missing one fails at import, never as a skipped job."""
    scheduler = scheduling.build_scheduler(ctx)
    assert {job.id for job in scheduler.get_jobs()} >= {"pipeline", "sla", "digest", "retrain", "sync"}


def test_sync_follows_pause_and_resume(configured: Context) -> None:
    (x_account, fb_account) = register_env_accounts(configured)
    scheduler = BackgroundScheduler()
    scheduling.sync_poll_jobs(configured, scheduler)
    assert poll_job_ids(scheduler) == {f"poll:{x_account.id}", f"poll:{fb_account.id}"}
    now = configured.clock.now()
    with configured.transaction() as session:
        accounts.set_enabled(session, x_account.id, False, by="U0ADMIN", now=now)
    scheduling.sync_poll_jobs(configured, scheduler)
    assert poll_job_ids(scheduler) == {f"poll:{fb_account.id}"}
    with configured.transaction() as session:
        accounts.set_enabled(session, x_account.id, True, by="U0ADMIN", now=now)
    scheduling.sync_poll_jobs(configured, scheduler)
    assert poll_job_ids(scheduler) == {f"poll:{x_account.id}", f"poll:{fb_account.id}"}


def test_a_failing_job_is_logged_without_secrets_and_never_raises(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    scheduling.guarded("explode", explode, ctx)()
    assert "job explode failed" in caplog.text
    assert "EAAB-SECRET-123" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_a_poll_that_brings_new_mentions_wakes_the_pipeline(
    configured: Context,
    fakes: tuple[FakeX, FakeGraph],
    monkeypatch: pytest.MonkeyPatch,
    paused_scheduler: list[BackgroundScheduler],
) -> None:
    """Cards should not wait for the pipeline's next interval once mentions have arrived."""
    monkeypatch.setattr(scheduling, "JOBS", (Job("pipeline", record_pipeline, 3600),))
    scheduler = scheduling.build_scheduler(configured)  # no accounts yet: no poll job runs by itself
    scheduler.start()
    paused_scheduler.append(scheduler)
    x_account, _ = register_env_accounts(configured)
    PIPELINE_RUNS.clear()
    scheduling.run_poll_job(configured, x_account.id, scheduler)  # nothing new
    assert not PIPELINE_RUNS.wait(0.5)
    fakes[0].add_mention("a new question?")
    configured.clock.advance(minutes=3)  # type: ignore[attr-defined]
    scheduling.run_poll_job(configured, x_account.id, scheduler)
    assert PIPELINE_RUNS.wait(5)


def test_start_scheduler_registers_env_accounts_and_runs(
    configured: Context, paused_scheduler: list[BackgroundScheduler]
) -> None:
    scheduler = scheduling.start_scheduler(configured)
    paused_scheduler.append(scheduler)
    assert scheduler.running
    with configured.transaction() as session:
        enabled = accounts.enabled_accounts(session)
    assert {a.platform for a in enabled} == {"x", "facebook"}
    assert poll_job_ids(scheduler) == {f"poll:{a.id}" for a in enabled}


def test_a_wake_up_during_a_sweep_runs_the_pipeline_again(ctx: Context) -> None:
    """Mentions stored while the pipeline is busy get their cards in the next sweep, not 30 s later."""
    from bot.app.scheduler import _wake_flag, rerun_while_woken

    calls: list[int] = []

    def sweep(_: Context) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            _wake_flag(ctx).set()  # a poll finished with new mentions while this sweep ran

    rerun_while_woken(ctx, sweep)(ctx)
    assert calls == [0, 1]


def platforms_enabled(ctx: Context) -> set[str]:
    with ctx.transaction() as session:
        return {a.platform for a in accounts.enabled_accounts(session)}


def test_an_env_account_that_failed_at_start_up_is_retried_by_the_sync_job(
    configured: Context,
    fakes: tuple[FakeX, FakeGraph],
    paused_scheduler: list[BackgroundScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One 503 at start-up must not leave the X account unpolled until the next restart."""
    caplog.set_level(logging.INFO, logger="bot.intake.accounts")
    x = fakes[0]
    x.fail_next("^/2/users/me$", Response(503, {"title": "Service Unavailable"}), times=2)
    register_env_accounts(configured)
    scheduler = scheduling.build_scheduler(configured)
    scheduler.start(paused=True)
    paused_scheduler.append(scheduler)
    assert platforms_enabled(configured) == {"facebook"}
    assert "X account from the environment could not be identified" in caplog.text
    assert "503" in caplog.text
    assert x.bearer_token not in caplog.text
    run_sync = scheduler.get_job("sync").func

    run_sync()  # not due yet: a retry waits a minute
    assert len(x.calls("^/2/users/me$")) == 1
    configured.clock.advance(minutes=1)  # type: ignore[attr-defined]
    run_sync()  # the second 503: the next try waits two minutes
    assert len(x.calls("^/2/users/me$")) == 2
    assert platforms_enabled(configured) == {"facebook"}
    configured.clock.advance(minutes=1)  # type: ignore[attr-defined]
    run_sync()
    assert len(x.calls("^/2/users/me$")) == 2
    configured.clock.advance(minutes=1)  # type: ignore[attr-defined]
    run_sync()  # X answers now

    assert platforms_enabled(configured) == {"x", "facebook"}
    with configured.transaction() as session:
        enabled = accounts.enabled_accounts(session)
    assert poll_job_ids(scheduler) == {f"poll:{a.id}" for a in enabled}
    configured.clock.advance(minutes=5)  # type: ignore[attr-defined]
    run_sync()  # registered: no more identification calls
    assert len(x.calls("^/2/users/me$")) == 3
    warnings = [r for r in caplog.records if "could not be identified" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.INFO]  # one warning per kind


def test_status_and_accounts_name_an_env_account_that_is_not_polled_yet(
    configured: Context, fakes: tuple[FakeX, FakeGraph]
) -> None:
    """Otherwise `/twoway status` would say nothing while the X account waits for a retry."""
    from bot.app.wiring import COMMANDS as REGISTRY
    from bot.slack.commands import CommandRequest
    from storage import staff

    fakes[0].fail_next("^/2/users/me$", Response(503, {"title": "Service Unavailable"}))
    register_env_accounts(configured)
    with configured.transaction() as session:
        staff.set_role(session, "U0ADMIN", "admin", by="test", now=configured.clock.now())
    for name in ("status", "accounts"):
        request = CommandRequest(user_id="U0ADMIN", channel_id="C0X", text="", args=(), trigger_id="t")
        text = REGISTRY[name].handler(configured, request).text
        assert "X account from the environment: not polled yet" in text
        assert "503" in text
        assert fakes[0].bearer_token not in text


def test_a_woken_jobs_skipped_interval_is_not_logged_as_trouble(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    scheduling.build_scheduler(ctx)
    log = logging.getLogger("apscheduler.scheduler")
    with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        log.warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "slack (trigger: interval[0:00:05], next run at: 2026-12-06 05:07:34 UTC)",
            1,
        )
        log.warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "poll account 3 (trigger: interval[0:02:00], next run at: 2026-12-06 05:07:34 UTC)",
            1,
        )
    assert [r.getMessage()[:29] for r in caplog.records] == ['Execution of job "poll accoun']
