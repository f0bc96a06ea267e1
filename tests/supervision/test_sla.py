"""SLA reminders and escalations: on time, once, never for closed items, quiet hours respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.core.context import Context
from bot.supervision import sla
from bot.supervision.sla import (
    format_duration,
    in_quiet_hours,
    parse_duration,
    parse_quiet,
    sweep,
)
from storage import settings
from storage.models import AuditEvent, Mention, SlaNotice
from tests.conftest import FakeClock
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import CHANNEL, add_account, add_mention, post_card, supervised

SUP, ADMIN, OFFICER = "U0SUPER", "U0ADMIN", "U0OFFICER"


@pytest.fixture
def sctx(ctx: Context, fake: FakeSlack) -> Context:
    return supervised(ctx, fake, {SUP: "supervisor", ADMIN: "admin", OFFICER: "officer"})


def _item(ctx: Context, clock: FakeClock, card: bool = True, **values: object) -> tuple[int, str | None]:
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        mention_id = add_mention(session, account, clock.now(), card=False, **values).id  # type: ignore[arg-type]
    return mention_id, post_card(ctx, mention_id) if card else None


def _thread(fake: FakeSlack, ts: str | None) -> list[str]:
    assert ts is not None
    return [m.text for m in fake.replies(CHANNEL, ts)]


def _run(ctx: Context, clock: FakeClock, minutes: int, step: int = 1) -> tuple[list[int], list[int]]:
    """Sweep every `step` minutes for `minutes` minutes; every id reminded and escalated, in order."""
    reminded: list[int] = []
    escalated: list[int] = []
    for _ in range(0, minutes, step):
        clock.advance(minutes=step)
        result = sweep(ctx)
        reminded += result.reminded
        escalated += result.escalated
    return reminded, escalated


def test_one_reminder_at_the_sla_then_one_escalation_at_twice(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    mention_id, ts = _item(sctx, clock, assignee=OFFICER)
    assert _run(sctx, clock, 59) == ([], [])
    assert _run(sctx, clock, 1) == ([mention_id], [])
    [reminder] = _thread(fake, ts)
    assert f"<@{OFFICER}>" in reminder
    assert f"#{mention_id}" in reminder
    assert "1h SLA" in reminder
    assert _run(sctx, clock, 59) == ([], [])
    assert _run(sctx, clock, 1) == ([], [mention_id])
    assert _run(sctx, clock, 240, step=5) == ([], [])
    reminder, escalation = _thread(fake, ts)
    assert f"<@{SUP}>" in escalation
    assert f"<@{ADMIN}>" in escalation
    assert f"<@{OFFICER}>" in escalation
    [broadcast] = [c for c in fake.api_calls("chat.postMessage") if c.get("text") == escalation]
    assert broadcast.get("reply_broadcast") in (True, "1", "true")
    with sctx.transaction() as session:
        actions = [
            e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.mention_id == mention_id))
        ]
        notices = {n.kind: n.ts for n in session.scalars(select(SlaNotice))}
    assert actions == ["reminded", "escalated"]
    assert set(notices) == {"reminder", "escalation"}
    assert all(notices.values())


def test_an_unassigned_reminder_names_the_supervisors(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    _, ts = _item(sctx, clock, category="criticism")
    _run(sctx, clock, 120, step=5)
    [reminder] = _thread(fake, ts)
    assert "nobody is assigned" in reminder
    assert f"<@{SUP}>" in reminder
    assert f"<@{ADMIN}>" in reminder
    assert f"<@{OFFICER}>" not in reminder


def test_urgent_items_use_the_urgent_sla(sctx: Context, clock: FakeClock) -> None:
    mention_id, _ = _item(sctx, clock, category="compliment", urgent=True)
    assert _run(sctx, clock, 5) == ([mention_id], [])
    assert _run(sctx, clock, 5) == ([], [mention_id])


@pytest.mark.parametrize("state", ["replied", "dismissed"])
def test_no_notices_for_answered_or_dismissed_items(
    sctx: Context, fake: FakeSlack, clock: FakeClock, state: str
) -> None:
    mention_id, ts = _item(sctx, clock)
    _run(sctx, clock, 30)
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        mention.state = state
    assert _run(sctx, clock, 300, step=10) == ([], [])
    assert _thread(fake, ts) == []


def test_an_item_without_a_card_waits_and_then_gets_only_the_escalation(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    mention_id, _ = _item(sctx, clock, card=False)
    assert _run(sctx, clock, 150, step=5) == ([], [])
    ts = post_card(sctx, mention_id)
    assert _run(sctx, clock, 30) == ([], [mention_id])
    assert len(_thread(fake, ts)) == 1


def test_no_sla_means_no_notice_and_admins_can_change_it(sctx: Context, clock: FakeClock) -> None:
    other, _ = _item(sctx, clock, category="other")
    question, _ = _item(sctx, clock)
    with sctx.transaction() as session:
        settings.put(session, "sla.question", 600, by=ADMIN, now=clock.now())
    assert _run(sctx, clock, 10) == ([question], [])
    assert _run(sctx, clock, 3000, step=10) == ([], [question])
    assert other not in _run(sctx, clock, 10)[0]


def test_quiet_hours_hold_reminders_until_they_end_but_not_urgent_ones(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 13:00 in Los Angeles
    with sctx.transaction() as session:
        settings.put(session, "sla.quiet", parse_quiet("12:30-16:00"), by=ADMIN, now=clock.now())
        settings.put(session, "timezone", "America/Los_Angeles", by=ADMIN, now=clock.now())
    question, _ = _item(sctx, clock)
    urgent, _ = _item(sctx, clock, category="criticism", urgent=True)
    # Quiet until 16:00 local = 00:00 UTC: three hours of silence for the question.
    reminded, escalated = _run(sctx, clock, 179)
    assert (reminded, escalated) == ([urgent], [urgent])
    assert _run(sctx, clock, 1) == ([], [question])  # past 2x already: only the escalation
    assert _run(sctx, clock, 60) == ([], [])


def test_a_refused_post_is_retried_and_posted_once(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=59)
    fake.fail_next(r"chat\.postMessage", Response(200, {"ok": False, "error": "internal_error"}))
    assert _run(sctx, clock, 1) == ([], [])
    assert _run(sctx, clock, 1) == ([mention_id], [])
    assert _run(sctx, clock, 10) == ([], [])
    assert len(_thread(fake, ts)) == 1


def test_an_unknown_outcome_is_looked_for_before_it_is_posted_again(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """A timed-out post may have reached Slack: nothing is posted blindly; once the claim is
    STALE_CLAIM old the card's thread is read, and a reminder that is not there is posted, once."""
    mention_id, ts = _item(sctx, clock)
    sctx.slack = WebClient(token="xoxb-test-token", base_url=fake.api_url, timeout=1)
    clock.advance(minutes=59)
    fake.fail_next(r"chat\.postMessage", Response(200, {"ok": True, "ts": "1.1"}, delay=1.5))
    result = sweep(sctx) if clock.advance(minutes=1) else None
    assert result is not None
    assert result.failed == [mention_id]
    assert _run(sctx, clock, 4) == ([], [])
    assert fake.api_calls("conversations.replies") == []
    assert _run(sctx, clock, 30) == ([mention_id], [])
    assert len(fake.api_calls("conversations.replies")) == 1
    assert len(_thread(fake, ts)) == 1


@pytest.mark.parametrize("status", [503, 504])
def test_a_server_error_may_have_posted_so_the_notice_is_not_posted_again(
    sctx: Context, fake: FakeSlack, clock: FakeClock, status: int
) -> None:
    """A 5xx is not a refusal: Slack may have stored the reminder before it failed to answer."""
    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=59)
    fake.fail_next(r"chat\.postMessage", Response(status, "<html>Bad Gateway</html>"))
    assert _run(sctx, clock, 1) == ([], [])
    assert ts is not None
    # Slack had stored it before failing to answer.
    landed = _landed_reminder(sctx, ts, mention_id)
    assert _run(sctx, clock, 30) == ([mention_id], [])
    reminders = [c for c in fake.api_calls("chat.postMessage") if c.get("thread_ts")]
    assert len(reminders) == 2  # the one that failed, and the stand-in for what Slack stored
    assert len(_thread(fake, ts)) == 1
    with sctx.transaction() as session:
        notice = session.scalar(select(SlaNotice).where(SlaNotice.mention_id == mention_id))
        assert notice is not None
        assert notice.ts == landed


def _landed_reminder(ctx: Context, card_ts: str, mention_id: int) -> str:
    """A reminder Slack stored although its answer never arrived, as the sweep would have sent it."""
    assert ctx.slack is not None
    return str(
        ctx.slack.chat_postMessage(
            channel=CHANNEL,
            thread_ts=card_ts,
            text="reminder that made it",
            metadata={
                "event_type": sla.EVENT_TYPE,
                "event_payload": {"mention_id": mention_id, "kind": "reminder"},
            },
        )["ts"]
    )


def _forget_posting(ctx: Context, mention_id: int) -> None:
    """As if the process died between claiming the notice and recording its ts."""
    with ctx.transaction() as session:
        notice = session.scalar(select(SlaNotice).where(SlaNotice.mention_id == mention_id))
        assert notice is not None
        notice.ts = None


def test_a_claim_left_by_a_crash_is_found_or_posted_once(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """Killed after chat.postMessage (the reminder is in the thread) or before it (it is not): a
    fresh claim is left alone; a stale one is recorded from the thread, or posted, once each."""
    first, first_ts = _item(sctx, clock)
    second, second_ts = _item(sctx, clock)
    assert first_ts is not None
    assert second_ts is not None
    assert _run(sctx, clock, 60) == ([first, second], [])
    posted_first = _thread(fake, first_ts)
    [dropped] = fake.replies(CHANNEL, second_ts)
    fake.drop_message(CHANNEL, dropped.ts)  # never reached Slack
    _forget_posting(sctx, first)
    _forget_posting(sctx, second)
    assert _run(sctx, clock, 4) == ([], [])  # the claims are fresh: their poster may be at work
    assert _run(sctx, clock, 2) == ([first, second], [])
    assert _thread(fake, first_ts) == posted_first
    assert len(_thread(fake, second_ts)) == 1
    with sctx.transaction() as session:
        assert all(n.ts for n in session.scalars(select(SlaNotice)))
    assert _run(sctx, clock, 20) == ([], [])
    assert len(_thread(fake, first_ts)) == len(_thread(fake, second_ts)) == 1


def test_a_claim_another_process_left_waits_five_minutes_even_at_a_new_holders_first_sweep(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """A copy that has just taken the scheduler over leaves a fresh claim alone (the copy that
    lost the lock may still be posting it, and a post in flight is not in the thread yet); once
    the claim is five minutes old it looks for the notice and, not finding it, posts it once."""
    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=60)
    with sctx.transaction() as session:
        session.add(SlaNotice(mention_id=mention_id, kind="reminder", at=clock.now(), channel=CHANNEL))
    clock.advance(seconds=30)
    assert sweep(sctx).reminded == []
    assert _thread(fake, ts) == []
    clock.advance(minutes=5)
    assert sweep(sctx).reminded == [mention_id]
    assert len(_thread(fake, ts)) == 1
    clock.advance(minutes=6)
    assert sweep(sctx).reminded == []
    assert len(_thread(fake, ts)) == 1


def test_a_reminder_a_crash_left_unposted_is_dropped_once_its_escalation_is_out(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """Killed between claiming a reminder and posting it, shortly before twice the SLA: the
    escalation goes out on time, and the reminder, recovered five minutes later, is not posted
    below it minutes late; its claim is settled as never posted (so the record says so)."""
    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=118)
    with sctx.transaction() as session:
        session.add(SlaNotice(mention_id=mention_id, kind="reminder", at=clock.now(), channel=CHANNEL))
    assert _run(sctx, clock, 15) == ([], [mention_id])
    [escalation] = _thread(fake, ts)
    assert "step in" in escalation
    with sctx.transaction() as session:
        notices = {n.kind: n.ts for n in session.scalars(select(SlaNotice))}
    assert notices["reminder"] == ""
    assert notices["escalation"]
    assert _run(sctx, clock, 30, step=5) == ([], [])


def test_an_unreadable_thread_leaves_the_claim_unposted(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """If the thread cannot be read, TwoWay cannot tell whether the notice is there: it does not
    post it again (a missed reminder beats a duplicate), and looks again at a later sweep."""
    mention_id, ts = _item(sctx, clock)
    assert _run(sctx, clock, 60) == ([mention_id], [])
    _forget_posting(sctx, mention_id)
    fake.fail_next(r"conversations\.replies", Response(200, {"ok": False, "error": "internal_error"}))
    assert _run(sctx, clock, 6) == ([], [])
    assert len(_thread(fake, ts)) == 1
    assert _run(sctx, clock, 6) == ([mention_id], [])  # the next look finds it
    assert len(_thread(fake, ts)) == 1


@pytest.mark.parametrize("reply_status", ["sending", "unknown"])
def test_an_item_whose_reply_may_be_out_is_not_chased(
    sctx: Context, fake: FakeSlack, clock: FakeClock, reply_status: str
) -> None:
    mention_id, ts = _item(sctx, clock)
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        mention.reply_status = reply_status
    assert _run(sctx, clock, 300, step=10) == ([], [])
    assert _thread(fake, ts) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h", 3600),
        ("90m", 5400),
        ("2h30m", 9000),
        ("1d", 86400),
        ("1D", 86400),
        ("none", None),
        ("off", None),
    ],
)
def test_parse_duration(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "0m", "1h-5m", "31d", "5 minutes", "1.5h", "-5m"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|SLA"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "none"),
        (45, "45s"),
        (300, "5m"),
        (9000, "2h 30m"),
        (86400, "1d"),
        (100000, "1d 3h"),
        (3600, "1h"),
    ],
)
def test_format_duration(seconds: int | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("quiet", "hour", "minute", "expected"),
    [
        ("22:00-07:00", 23, 0, True),
        ("22:00-07:00", 6, 59, True),
        ("22:00-07:00", 7, 0, False),
        ("22:00-07:00", 12, 0, False),
        ("12:00-13:30", 13, 0, True),
        ("12:00-13:30", 13, 30, False),
    ],
)
def test_quiet_hours(quiet: str, hour: int, minute: int, expected: bool) -> None:
    local = datetime(2026, 11, 20, hour, minute, tzinfo=UTC)
    assert in_quiet_hours(parse_quiet(quiet), local) is expected


@pytest.mark.parametrize("text", ["22:00", "25:00-07:00", "22:00-22:00", "late-early"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"range|time"):
        parse_quiet(text)


def test_quiet_hours_off_is_never_quiet() -> None:
    assert not in_quiet_hours(None, datetime(2026, 1, 1, 3, tzinfo=UTC) + timedelta(hours=1))


def test_a_notice_slack_keeps_refusing_is_given_up(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    """A deleted card (thread_not_found) is tried a few times, not every minute forever."""
    _item(sctx, clock)
    clock.advance(minutes=59)
    fake.fail_next(r"chat\.postMessage", Response(200, {"ok": False, "error": "thread_not_found"}), times=50)
    assert _run(sctx, clock, 30) == ([], [])
    assert len(fake.api_calls("chat.postMessage")) == 5 + 1  # the stand-in card, then five tries


def test_an_item_answered_after_it_was_found_gets_no_notice(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=60)
    with sctx.transaction() as session:
        due = sla._find_due(session, clock.now(), quiet=False)
        mention = session.get(Mention, mention_id)
        assert mention is not None
        mention.state = "replied"
    assert [d.mention_id for d in due] == [mention_id]
    assert not sla._claim(sctx, due[0], clock.now())
    assert _thread(fake, ts) == []


def test_two_sweeps_at_once_post_one_reminder(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    """Two scheduler processes by mistake: the unique claim lets only one post."""
    import threading

    mention_id, ts = _item(sctx, clock)
    clock.advance(minutes=60)
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def run() -> None:
        barrier.wait()
        results.append(sweep(sctx).reminded)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [[], [mention_id]]
    assert len(_thread(fake, ts)) == 1
