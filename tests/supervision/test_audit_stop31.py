"""Audit of stop 31: a digest recovered after a crash gets its chart exactly once, and a stopping
process (SIGTERM) claims no further SLA notice or digest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.context import Context, Stopping
from bot.supervision import digest
from bot.supervision.digest import tick
from bot.supervision.sla import sweep
from storage.models import AuditEvent, DigestRun, SlaNotice
from tests.conftest import FakeClock
from tests.support.fakes.server import Recorded, Response
from tests.support.fakes.slack_api import FakeSlack, Message
from tests.support.rows import CHANNEL, add_account, add_mention, post_card, supervised


@dataclass
class _FileShare(Message):
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_api(self, with_metadata: bool = False) -> dict[str, Any]:
        return {**super().as_api(with_metadata), "upload": True, "files": self.files}


class _SharingSlack(FakeSlack):
    """Real Slack shares an uploaded file into the channel (or thread) as a message carrying the
    file, so `conversations.replies` lists it; the repo's fake keeps files apart."""

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> Response:
        response = super().api_files_completeUploadExternal(args)
        if response.body.get("ok") and args.get("channel_id"):
            self._messages.append(
                _FileShare(
                    str(args["channel_id"]),
                    self._next_ts(),
                    str(args.get("initial_comment") or ""),
                    [],
                    thread_ts=args.get("thread_ts"),
                    files=list(response.body["files"]),
                )
            )
        return response


class _Crash(BaseException):
    """The process dies here (kill -9): nothing after it runs, no `except Exception` catches it."""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with _SharingSlack() as server:
        yield server


@pytest.fixture
def sctx(ctx: Context, fake: FakeSlack) -> Context:
    return supervised(ctx, fake, {"U0SUPER": "supervisor"}, channel=CHANNEL, timezone="America/Los_Angeles")


def _restart(ctx: Context, clock: FakeClock) -> list[str]:
    """The copy that takes over, once the claim is five minutes old."""
    ctx.forget_state()
    clock.advance(minutes=6)
    return tick(ctx)


def _run(ctx: Context) -> tuple[str | None, int]:
    with ctx.transaction() as session:
        run = session.scalar(select(DigestRun))
        audited = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "digest_posted")
        )
    return (run.ts if run else None), int(audited or 0)


def _charts(fake: FakeSlack) -> list[tuple[str, str]]:
    return [(f["thread_ts"], f["title"]) for f in fake.files if f["shared"]]


def test_a_digest_whose_answer_was_lost_gets_its_chart_on_recovery(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """The post landed but its answer never came (the auditor's kill -9 mid-post): the recovery
    finds the digest in the channel and uploads its chart into its thread, once."""
    clock.advance(hours=1)
    real = fake.dispatch

    def dispatch(request: Recorded) -> Response:
        answer = real(request)
        if request.path.endswith("chat.postMessage"):
            return Response(503, "<html>Service Unavailable</html>")  # stored, answer lost
        return answer

    fake.dispatch = dispatch  # type: ignore[method-assign]
    assert tick(sctx) == []
    fake.dispatch = real  # type: ignore[method-assign]
    [landed] = fake.messages(CHANNEL, top_level=True)
    assert fake.files == []
    assert _restart(sctx, clock) == ["daily"]
    assert _charts(fake) == [(landed.ts, "TwoWay daily digest")]
    assert _run(sctx) == (landed.ts, 1)
    assert _restart(sctx, clock) == []
    assert len(fake.files) == 1
    assert len(fake.messages(CHANNEL, top_level=True)) == 1


def _digest_dying_in(
    step: str,
    sctx: Context,
    fake: FakeSlack,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    after: bool = False,
) -> Message:
    """The daily digest is posted, then the process dies in `step` of `bot.supervision.digest`
    (once that step is done, when `after`), before it records anything: the message it left."""
    clock.advance(hours=1)
    real = getattr(digest, step)

    def die(*args: Any, **kwargs: Any) -> Any:
        if after:
            real(*args, **kwargs)
        raise _Crash

    with monkeypatch.context() as patch:
        patch.setattr(digest, step, die)
        with pytest.raises(_Crash):
            tick(sctx)
    [posted] = fake.messages(CHANNEL, top_level=True)
    return posted


def test_a_crash_between_the_digest_and_its_chart_is_recovered_with_one_chart(
    sctx: Context, fake: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted = _digest_dying_in("report_chart", sctx, fake, clock, monkeypatch)
    assert fake.files == []
    assert _restart(sctx, clock) == ["daily"]
    assert _charts(fake) == [(posted.ts, "TwoWay daily digest")]
    assert _run(sctx) == (posted.ts, 1)
    assert len(fake.messages(CHANNEL, top_level=True)) == 1


def test_a_crash_after_the_chart_does_not_upload_it_twice(
    sctx: Context, fake: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted = _digest_dying_in("upload_chart", sctx, fake, clock, monkeypatch, after=True)
    assert _charts(fake) == [(posted.ts, "TwoWay daily digest")]
    assert _run(sctx) == (None, 0)  # the claim is left unsettled
    assert _restart(sctx, clock) == ["daily"]
    assert _charts(fake) == [(posted.ts, "TwoWay daily digest")]
    assert _run(sctx) == (posted.ts, 1)


def test_a_recovered_digest_whose_thread_cannot_be_read_is_recorded_without_a_chart(
    sctx: Context, fake: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not knowing whether the chart is there, none is uploaded: a missing chart beats two."""
    posted = _digest_dying_in("upload_chart", sctx, fake, clock, monkeypatch, after=True)
    fake.fail_next(r"conversations\.replies", Response(200, {"ok": False, "error": "internal_error"}))
    assert _restart(sctx, clock) == ["daily"]
    assert len(fake.files) == 1
    assert _run(sctx) == (posted.ts, 1)


@contextmanager
def _stopping_at_the_first_post(sctx: Context, fake: FakeSlack) -> Iterator[None]:
    """SIGTERM arrives while the first message is being posted."""
    real = fake.dispatch

    def dispatch(request: Recorded) -> Response:
        if request.path.endswith("chat.postMessage"):
            sctx.state(Stopping).event.set()
        return real(request)

    fake.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield
    finally:
        fake.dispatch = real  # type: ignore[method-assign]


def test_a_stop_mid_sweep_claims_no_further_sla_notice(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """SIGTERM while the first of five reminders is posted: no other is claimed; the next start
    posts the other four, each once."""
    with sctx.transaction() as session:
        account = add_account(session, clock.now())
        ids = [add_mention(session, account, clock.now(), card=False).id for _ in range(5)]
    for mention_id in ids:
        post_card(sctx, mention_id)
    clock.advance(minutes=61)  # past the 1h question SLA, short of twice it
    with _stopping_at_the_first_post(sctx, fake):
        result = sweep(sctx)
    assert len(result.reminded) == 1
    with sctx.transaction() as session:
        claims = session.scalars(select(SlaNotice.ts)).all()
    assert len(claims) == 1
    assert claims[0]
    sctx.forget_state()  # the next start
    clock.advance(minutes=1)
    assert sorted(result.reminded + sweep(sctx).reminded) == sorted(ids)
    with sctx.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SlaNotice)) == 5


def test_a_stop_during_the_daily_digest_leaves_the_weekly_for_the_next_start(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    clock.advance(days=3, hours=1)  # Monday 08:00 in Los Angeles: daily and weekly both due
    with _stopping_at_the_first_post(sctx, fake):
        assert tick(sctx) == ["daily"]
    with sctx.transaction() as session:
        assert session.scalars(select(DigestRun.kind)).all() == ["daily"]
    sctx.forget_state()
    clock.advance(minutes=1)
    assert tick(sctx) == ["weekly"]
    assert len(fake.messages(CHANNEL, top_level=True)) == 2
    assert len(fake.files) == 2
