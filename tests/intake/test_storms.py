"""Storm detection on a real database, with the test's clock: relative to each account's normal
rate, per thread and per account, off when admins say so, and blind to old backlog."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from bot.core.context import Context
from bot.intake.storms import watch
from bot.intake.triage import triage_pending
from storage import keys, settings
from storage.models import Account, AuditEvent, Mention, Storm
from tests.conftest import FakeClock

_ids = itertools.count(1)
ANGRY = ["This is a disgrace, fire him", "Shameful conduct by your officers", "I have lost all trust in you"]


def account(ctx: Context, handle: str) -> int:
    with ctx.transaction() as session:
        row = Account(
            platform="facebook", external_id=f"page-{handle}", handle=handle, created_at=ctx.clock.now()
        )
        session.add(row)
        session.flush()
        return row.id


def arrive(
    ctx: Context, account_id: int, texts: list[str], at: datetime, thread: str | None = "post-1"
) -> list[int]:
    """Comments stored by a poll just now (`new`), posted on the platform at `at`."""
    with ctx.transaction() as session:
        rows = []
        for text in texts:
            n = next(_ids)
            mention = Mention(
                account_id=account_id,
                platform="facebook",
                external_id=f"c-{n}",
                author_id=f"a-{n}",
                text=f"{text} ({n})",
                url=f"https://www.facebook.com/c-{n}",
                created_at=at,
                ingested_at=ctx.clock.now(),
                conversation_id=thread if thread is not None else f"post-own-{n}",
                parent_id=thread,
                parent_text="Statement on last night's incident",
                raw={},
            )
            session.add(mention)
            rows.append(mention)
        session.flush()
        return [m.id for m in rows]


def history(ctx: Context, account_id: int, per_window: int) -> None:
    """A normal week: `per_window` mentions every ten minutes, each on its own post."""
    now = ctx.clock.now()
    values = []
    for window in range(7 * 24 * 6):
        at = now - timedelta(minutes=10 * (window + 2))
        for k in range(per_window):
            n = next(_ids)
            values.append(
                {
                    "account_id": account_id,
                    "platform": "facebook",
                    "external_id": f"h-{n}",
                    "author_id": "a",
                    "author_handle": "",
                    "author_name": "",
                    "author_url": "",
                    "text": "old",
                    "url": "",
                    "created_at": at + timedelta(seconds=k),
                    "ingested_at": at,
                    "conversation_id": f"old-{n}",
                    "explicit_mention": True,
                    "raw": {},
                    "state": "open",
                    "urgent": False,
                    "reply_status": "none",
                    "card_attempts": 0,
                }
            )
    with ctx.transaction() as session:
        session.execute(insert(Mention), values)


def threshold(ctx: Context, value: object) -> None:
    with ctx.transaction() as session:
        settings.put(session, keys.STORM_THRESHOLD, value, "U0ADMIN", ctx.clock.now())


def storms(ctx: Context) -> list[Storm]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Storm).order_by(Storm.id)))


def rows(ctx: Context, ids: list[int]) -> list[Mention]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Mention).where(Mention.id.in_(ids)).order_by(Mention.id)))


def test_the_same_burst_is_a_storm_for_a_quiet_account_and_not_for_a_busy_one(
    ctx: Context, clock: FakeClock
) -> None:
    threshold(ctx, {"multiple": 10, "minimum": 10})
    quiet, busy = account(ctx, "quiet"), account(ctx, "busy")
    history(ctx, busy, per_window=3)  # normally 3 per ten minutes: a storm takes 30
    arrive(ctx, quiet, ANGRY * 7, clock.now() - timedelta(minutes=4))
    arrive(ctx, busy, ANGRY * 7, clock.now() - timedelta(minutes=4))
    triage_pending(ctx)
    [storm] = storms(ctx)
    assert (storm.account_id, storm.thread_key, storm.level) == (quiet, "post-1", 10)
    assert storm.normal == 0.0
    assert storm.post_text == "Statement on last night's incident"


def test_many_posts_each_on_its_own_thread_make_an_account_wide_storm(ctx: Context, clock: FakeClock) -> None:
    threshold(ctx, {"multiple": 10, "minimum": 10})
    page = account(ctx, "page")
    ids = arrive(ctx, page, ANGRY * 5, clock.now() - timedelta(minutes=2), thread=None)
    triage_pending(ctx)
    [storm] = storms(ctx)
    assert (storm.account_id, storm.thread_key) == (page, "")
    assert {m.storm_id for m in rows(ctx, ids)} == {storm.id}
    assert {m.card_status for m in rows(ctx, ids)} == {"summary"}


def test_old_backlog_read_late_is_not_a_storm(ctx: Context, clock: FakeClock) -> None:
    threshold(ctx, {"multiple": 10, "minimum": 10})
    page = account(ctx, "page")
    ids = arrive(ctx, page, ANGRY * 20, clock.now() - timedelta(days=2))
    triage_pending(ctx)
    assert storms(ctx) == []
    assert {m.card_status for m in rows(ctx, ids)} == {"pending"}


def test_detection_off_starts_no_storm_and_a_storm_under_way_still_ends_when_calm(
    ctx: Context, clock: FakeClock
) -> None:
    threshold(ctx, {"multiple": 10, "minimum": 10})
    page = account(ctx, "page")
    arrive(ctx, page, ANGRY * 5, clock.now() - timedelta(minutes=1))
    triage_pending(ctx)
    [storm] = storms(ctx)
    threshold(ctx, False)
    later = arrive(ctx, page, ANGRY * 5, clock.now(), thread="post-2")
    triage_pending(ctx)
    assert len(storms(ctx)) == 1  # no second storm on post-2
    assert {m.card_status for m in rows(ctx, later)} == {"pending"}
    clock.advance(minutes=5)
    assert watch(ctx).ended == []  # not a whole window yet
    clock.advance(minutes=6)
    assert watch(ctx).ended == [storm.id]


def test_a_storm_under_way_stays_while_it_keeps_its_pace(ctx: Context, clock: FakeClock) -> None:
    threshold(ctx, {"multiple": 10, "minimum": 10})
    page = account(ctx, "page")
    for _ in range(5):  # eight comments every three minutes for fifteen minutes
        arrive(ctx, page, (ANGRY * 3)[:8], clock.now())
        triage_pending(ctx)
        clock.advance(minutes=3)
    [storm] = storms(ctx)
    assert storm.ended_at is None
    assert storm.peak >= 24
    clock.advance(minutes=8)  # the last window holds 4 < half of 10
    assert watch(ctx).ended == [storm.id]


def test_cards_not_posted_yet_move_onto_the_summary_when_the_storm_starts(
    ctx: Context, clock: FakeClock
) -> None:
    threshold(ctx, False)
    page = account(ctx, "page")
    angry = arrive(ctx, page, ANGRY * 4, clock.now() - timedelta(minutes=3))
    question = arrive(
        ctx, page, ["When will the body camera video be released?"], clock.now() - timedelta(minutes=3)
    )
    triage_pending(ctx)
    assert {m.card_status for m in rows(ctx, angry + question)} == {"pending"}  # Slack has not caught up
    threshold(ctx, {"multiple": 10, "minimum": 10})
    [started] = watch(ctx).started
    gathered = [m for m in rows(ctx, angry) if m.card_status == "summary"]
    assert len(gathered) >= 10  # a few angry posts may read as questions and keep their cards
    assert all(m.storm_id == started and m.storm_theme is not None for m in gathered)
    [asked] = rows(ctx, question)
    assert (asked.card_status, asked.storm_id) == ("pending", started)
    with ctx.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "gathered")).all()
    assert sorted(e.mention_id for e in events) == sorted(m.id for m in gathered)
