"""Digests: posted once per period at the configured local time, with the chart uploaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.context import Context
from bot.supervision.digest import due_periods, schedule, tick
from storage import settings
from storage.models import AuditEvent, DigestRun
from tests.conftest import FakeClock
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import CHANNEL, add_account, add_mention, slack_client, supervised

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def sctx(ctx: Context, fake: FakeSlack) -> Context:
    return supervised(ctx, fake, channel=CHANNEL, timezone="America/Los_Angeles")


def _ticks(ctx: Context, clock: FakeClock, minutes: int, step: int = 1) -> list[str]:
    posted: list[str] = []
    for _ in range(0, minutes, step):
        clock.advance(minutes=step)
        posted += tick(ctx)
    return posted


def test_daily_digest_at_local_time_once_with_a_chart(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """15:00 UTC is 07:00 in Los Angeles: the 08:00 digest comes an hour later, then not again that day."""
    with sctx.transaction() as session:
        account = add_account(session, clock.now())
        add_mention(
            session,
            account,
            clock.now() - timedelta(hours=3),
            response_after=timedelta(minutes=30),
            responded_by="U0OFFICER",
            state="replied",
        )
        add_mention(session, account, clock.now() - timedelta(hours=2), category="criticism")
    assert tick(sctx) == []
    assert _ticks(sctx, clock, 59) == []
    assert _ticks(sctx, clock, 1) == ["daily"]
    assert _ticks(sctx, clock, 600, step=10) == []
    [digest] = fake.messages(CHANNEL, top_level=True)
    assert "2 mentions" in digest.text
    assert "50% answered" in digest.text
    body = str(digest.blocks)
    assert "<@U0OFFICER> 1" in body
    assert "question: 30m / 30m (1 answered)" in body
    assert "criticism 1" in body
    [chart] = fake.files
    assert chart["data"].startswith(b"\x89PNG")
    assert (chart["channel"], chart["thread_ts"], chart["filename"]) == (
        CHANNEL,
        digest.ts,
        "twoway-report.png",
    )
    with sctx.transaction() as session:
        runs = [(r.kind, r.period_key, r.ts) for r in session.scalars(select(DigestRun))]
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "digest_posted")).all()
    assert runs == [("daily", "2026-11-20", digest.ts)]
    assert audited == ["digest_posted"]


def test_weekly_digest_on_its_day(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    """From Friday 07:00 to Tuesday 07:00 in Los Angeles: four dailies and Monday's weekly."""
    posted = _ticks(sctx, clock, 4 * 24 * 60, step=15)
    assert posted.count("daily") == 4
    assert posted.count("weekly") == 1
    with sctx.transaction() as session:
        weekly = session.scalars(select(DigestRun.period_key).where(DigestRun.kind == "weekly")).all()
    assert weekly == ["2026-11-23"]
    assert len(fake.files) == 5


def test_digests_can_be_turned_off(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    with sctx.transaction() as session:
        settings.put(session, "digest.daily", False, by="U0ADMIN", now=clock.now())
        settings.put(session, "digest.weekly", False, by="U0ADMIN", now=clock.now())
    assert _ticks(sctx, clock, 8 * 24 * 60, step=60) == []
    assert fake.messages(CHANNEL) == []


def test_no_channel_no_digest(ctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    ctx.slack = slack_client(fake)
    assert _ticks(ctx, clock, 24 * 60, step=60) == []
    assert fake.messages() == []


def test_a_refused_digest_is_retried_and_posted_once(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    clock.advance(hours=1)
    fake.fail_next(r"chat\.postMessage", Response(200, {"ok": False, "error": "internal_error"}))
    assert tick(sctx) == []
    assert _ticks(sctx, clock, 5) == ["daily"]
    assert len(fake.messages(CHANNEL, top_level=True)) == 1


def test_a_digest_answered_with_a_server_error_is_looked_for_before_it_is_posted_again(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """Slack may have posted it before the 503: nothing is posted blindly; once the claim is
    five minutes old the channel is searched, and a digest that is not there is posted once."""
    clock.advance(hours=1)
    fake.fail_next(r"chat\.postMessage", Response(503, "<html>Service Unavailable</html>"))
    assert tick(sctx) == []
    assert _ticks(sctx, clock, 4) == []
    assert fake.api_calls("conversations.history") == []
    assert _ticks(sctx, clock, 60) == ["daily"]
    assert len(fake.messages(CHANNEL, top_level=True)) == 1


def _landed_digest(ctx: Context, period: str) -> str:
    """A digest Slack stored although its answer never arrived."""
    assert ctx.slack is not None
    metadata = {"event_type": "twoway_digest", "event_payload": {"kind": "daily", "period": period}}
    return str(ctx.slack.chat_postMessage(channel=CHANNEL, text="Daily digest", metadata=metadata)["ts"])


def test_a_digest_slack_stored_despite_the_error_is_recorded_not_posted_twice(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    clock.advance(hours=1)
    fake.fail_next(r"chat\.postMessage", Response(503, "<html>Service Unavailable</html>"))
    assert tick(sctx) == []
    with sctx.transaction() as session:
        run = session.scalar(select(DigestRun))
        assert run is not None
        assert run.ts is None
        period = run.period_key
    landed = _landed_digest(sctx, period)
    assert _ticks(sctx, clock, 60) == ["daily"]
    assert [m.ts for m in fake.messages(CHANNEL, top_level=True)] == [landed]
    with sctx.transaction() as session:
        run = session.scalar(select(DigestRun))
        assert run is not None
        assert run.ts == landed


def test_a_digest_claim_another_process_left_waits_five_minutes_even_at_a_first_tick(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """A copy killed (or still posting after losing the lock) between claiming the digest and
    posting it: the copy that took over leaves the claim alone until it is five minutes old, then
    looks for the digest and, not finding it, posts it once."""
    clock.advance(hours=1)
    with sctx.transaction() as session:
        daily, weekly = schedule(session)
    [period] = due_periods(clock.now(), LA, daily, weekly)
    with sctx.transaction() as session:
        session.add(DigestRun(kind="daily", period_key=period.key, at=clock.now(), channel=CHANNEL))
    clock.advance(seconds=30)
    assert tick(sctx) == []
    assert fake.messages(CHANNEL, top_level=True) == []
    clock.advance(minutes=5)
    assert tick(sctx) == ["daily"]
    assert len(fake.messages(CHANNEL, top_level=True)) == 1
    assert _ticks(sctx, clock, 30) == []


def test_a_failed_chart_keeps_the_digest(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    clock.advance(hours=1)
    fake.fail_next(r"files\.getUploadURLExternal", Response(200, {"ok": False, "error": "internal_error"}))
    assert tick(sctx) == ["daily"]
    assert _ticks(sctx, clock, 5) == []
    assert len(fake.messages(CHANNEL, top_level=True)) == 1


@pytest.mark.parametrize(
    ("now", "daily", "weekly", "expected"),
    [
        # 16:00 UTC = 08:00 PST on Friday 20 Nov.
        (datetime(2026, 11, 20, 16, 0, tzinfo=UTC), {"time": "08:00"}, None, [("daily", "2026-11-20", 24)]),
        (datetime(2026, 11, 20, 15, 59, tzinfo=UTC), {"time": "08:00"}, None, []),
        # 07:59 UTC on the 21st is still the 20th in Los Angeles.
        (datetime(2026, 11, 21, 7, 59, tzinfo=UTC), {"time": "08:00"}, None, [("daily", "2026-11-20", 24)]),
        (
            datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
            None,
            {"day": "fri", "time": "06:30"},
            [("weekly", "2026-11-20", 168)],
        ),
        (datetime(2026, 11, 20, 16, 0, tzinfo=UTC), None, {"day": "mon", "time": "06:30"}, []),
        # Sunday 1 Nov 2026 is the end of daylight saving time: that day is 25 hours long.
        (datetime(2026, 11, 1, 17, 0, tzinfo=UTC), {"time": "09:00"}, None, [("daily", "2026-11-01", 25)]),
        # 8 Mar 2026 springs forward from 02:00 to 03:00: 02:30 is skipped and means 03:30 PDT.
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), {"time": "02:30"}, None, []),  # 03:00 PDT
        (datetime(2026, 3, 8, 10, 30, tzinfo=UTC), {"time": "02:30"}, None, [("daily", "2026-03-08", 24)]),
    ],
)
def test_due_periods(
    now: datetime,
    daily: dict[str, str] | None,
    weekly: dict[str, str] | None,
    expected: list[tuple[str, str, int]],
) -> None:
    periods = due_periods(now, LA, daily, weekly)
    assert [(p.kind, p.key, (p.until - p.since) / timedelta(hours=1)) for p in periods] == expected
    for p in periods:
        assert p.until <= now


def test_two_ticks_at_once_post_one_digest(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    import threading

    clock.advance(hours=1)
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def run() -> None:
        barrier.wait()
        results.append(tick(sctx))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [[], ["daily"]]
    assert len(fake.messages(CHANNEL, top_level=True)) == 1
