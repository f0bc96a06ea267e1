"""Storms end to end: the fake X, a real poll, triage and the Slack worker against the fake
Slack, with the test's clock deciding when a storm starts and ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app.pipeline import process
from bot.core.context import Context
from bot.intake.polling import poll_account
from bot.review.summary import SUMMARY_EVENT
from bot.slack.client import make_web_client
from bot.slack.pace import Pacer
from storage.db import make_sessionmaker
from storage.models import Mention, StormMessage
from tests.conftest import FakeClock
from tests.support.storms import (
    QUESTIONS,
    URGENT,
    angry,
    audit,
    channel_posts,
    event_types,
    mentions_of,
    replies,
    set_threshold,
    storm_messages,
    storms_of,
    turn,
    viral_post,
)
from tests.support.world import OFFICER, REVIEW, World, world


def summary_updates(w: World, ts: str) -> list[dict[str, Any]]:
    return [c for c in w.fake.api_calls("chat.update") if c.get("ts") == ts]


def test_a_burst_on_one_post_starts_a_storm_and_calm_ends_it(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        set_threshold(ctx, multiple=10, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(5), clock.now() - timedelta(minutes=3))
        turn(w)
        assert storms_of(ctx) == []  # five replies are no storm,
        assert event_types(w) == []  # but a third of the way: their cards wait to see whether it grows
        clock.advance(seconds=31)
        turn(w)
        assert storms_of(ctx) == []
        assert event_types(w) == ["twoway_card"] * 5  # it did not: five cards

        clock.advance(minutes=1)
        replies(w, post, angry(20), clock.now() - timedelta(minutes=1))
        turn(w)
        [storm] = storms_of(ctx)
        assert (storm.thread_key, storm.ended_at, storm.level) == (post["id"], None, 10)
        [started] = audit(ctx, "storm_started")
        assert started.details["thread"] == post["id"]
        assert started.details["mentions_in_window"] == 25
        assert event_types(w) == ["twoway_card"] * 5 + ["twoway_storm", "twoway_summary"]
        notice, summary = channel_posts(w)[5:]
        assert "A storm has started" in notice["text"] + str(notice.get("blocks"))
        assert summary["metadata"] == {
            "event_type": SUMMARY_EVENT,
            "event_payload": {"post_id": post["id"], "storm_id": storm.id, "platform": "x"},
        }
        rows = mentions_of(ctx)
        assert all(m.storm_id == storm.id for m in rows)  # the five before it are part of it too
        assert sorted(m.card_status for m in rows) == ["posted"] * 5 + ["summary"] * 20

        clock.advance(minutes=11)  # nothing more: the last 10 minutes are calm
        turn(w)
        [storm] = storms_of(ctx)
        assert storm.ended_at == clock.now()
        [ended] = audit(ctx, "storm_ended")
        assert ended.details["mentions"] == 25
        assert event_types(w)[-1] == "twoway_storm"
        assert "has calmed" in channel_posts(w)[-1]["text"]
        card = w.fake.message(REVIEW, storm_messages(ctx, storm.id)["summary"].ts or "")
        assert card.blocks[0]["text"]["text"].startswith(":white_check_mark: Storm over")
        assert len([t for t in event_types(w) if t == "twoway_summary"]) == 1  # redrawn, never re-posted


def test_during_a_storm_urgent_posts_and_questions_get_cards_first_and_the_rest_is_gathered(
    ctx: Context, clock: FakeClock
) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(15), clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        summary_ts = storm_messages(ctx, storm.id)["summary"].ts or ""
        posted_before = len(channel_posts(w))

        clock.advance(seconds=30)
        replies(
            w, post, [*angry(10), QUESTIONS[0], URGENT, QUESTIONS[1]], clock.now() - timedelta(seconds=20)
        )
        turn(w)
        new = channel_posts(w)[posted_before:]
        assert [(c.get("metadata") or {}).get("event_type") for c in new] == ["twoway_card"] * 3
        assert new[0]["text"].startswith("URGENT ")  # the emergency first
        carded = [
            m.text
            for m in mentions_of(ctx)
            if m.card_status == "posted" and m.category == "question" and not m.urgent
        ]
        assert len(carded) == 2
        assert all(any(q in text for q in QUESTIONS[:2]) for text in carded)
        gathered = [m for m in mentions_of(ctx) if m.card_status == "summary"]
        assert len(gathered) == 25
        assert all(not m.urgent and m.category != "question" for m in gathered)
        # The summary card is redrawn in place, not posted again.
        assert summary_updates(w, summary_ts)
        card = w.fake.message(REVIEW, summary_ts)
        counts = next(b for b in card.blocks if b.get("block_id") == "storm:counts")["text"]["text"]
        assert "*1* urgent" in counts
        assert "*3* with cards of their own" in counts
        assert "*25* gathered here" in counts


def test_two_storms_at_once_each_have_their_own_summary_card(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        first = viral_post(w, "Statement on the Riverside Park incident")
        second = viral_post(w, "Road closures for the marathon this weekend")
        replies(w, first, angry(14), clock.now() - timedelta(minutes=2))
        replies(
            w,
            second,
            ["Why is Main St closed AGAIN, this is ridiculous"] * 12,
            clock.now() - timedelta(minutes=2),
        )
        turn(w)
        storms = storms_of(ctx)
        assert sorted(s.thread_key for s in storms) == sorted([first["id"], second["id"]])
        summaries = [
            c for c in channel_posts(w) if (c.get("metadata") or {}).get("event_type") == SUMMARY_EVENT
        ]
        assert sorted(c["metadata"]["event_payload"]["post_id"] for c in summaries) == sorted(
            [first["id"], second["id"]]
        )
        by_storm = {s.id: [m for m in mentions_of(ctx) if m.storm_id == s.id] for s in storms}
        assert sorted(len(v) for v in by_storm.values()) == [12, 14]
        for storm in storms:
            card = w.fake.message(REVIEW, storm_messages(ctx, storm.id)["summary"].ts or "")
            head = card.blocks[1]["text"]["text"]
            assert f"*{len(by_storm[storm.id])}* mentions" in head
        assert len(channel_posts(w)) == 4  # two notices and two summary cards, no card per reply


def test_a_restart_during_a_storm_carries_on_with_the_same_summary_card(
    ctx: Context, clock: FakeClock
) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(12), clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        summary_ts = storm_messages(ctx, storm.id)["summary"].ts or ""

        # A new process: the database and the settings, nothing in memory.
        restarted = Context(
            settings=ctx.settings, engine=ctx.engine, sessions=make_sessionmaker(ctx.engine), clock=clock
        )
        restarted.slack = make_web_client(restarted.settings)
        restarted.attach(Pacer(interval=0))
        clock.advance(seconds=10)
        replies(w, post, angry(8), clock.now() - timedelta(seconds=5))
        poll_account(restarted, w.account_id)
        process(restarted)
        assert event_types(w).count(SUMMARY_EVENT) == 1
        assert event_types(w).count("twoway_storm") == 1
        assert summary_updates(w, summary_ts)
        card = w.fake.message(REVIEW, summary_ts)
        assert "*20* mentions" in card.blocks[1]["text"]["text"]


def test_a_crash_between_posting_the_summary_and_recording_it_does_not_post_it_twice(
    ctx: Context, clock: FakeClock
) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(12), clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        posted = storm_messages(ctx, storm.id)["summary"]
        with ctx.transaction() as session:  # the process died after Slack answered, before the ts was stored
            row = session.get(StormMessage, posted.id)
            assert row is not None
            row.status, row.ts, row.claimed_at = "posting", None, clock.now()
        turn(w)
        assert event_types(w).count(SUMMARY_EVENT) == 1  # a fresh claim is left alone
        clock.advance(minutes=6)
        turn(w)
        recovered = storm_messages(ctx, storm.id)["summary"]
        assert (recovered.status, recovered.ts) == ("posted", posted.ts)
        assert event_types(w).count(SUMMARY_EVENT) == 1
        [event] = [e for e in audit(ctx, "storm_message_posted") if e.details.get("recovered")]
        assert event.details["kind"] == "summary"


def test_the_summary_card_is_redrawn_at_most_every_few_seconds(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(12), clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        ts = storm_messages(ctx, storm.id)["summary"].ts or ""
        for _ in range(4):  # four batches within four seconds: one redraw at most
            clock.advance(seconds=1)
            replies(w, post, angry(5), clock.now() - timedelta(seconds=1))
            turn(w)
        assert len(summary_updates(w, ts)) == 0  # drawn when posted, less than 5 s ago
        clock.advance(seconds=2)
        turn(w)
        assert len(summary_updates(w, ts)) == 1
        turn(w)
        assert len(summary_updates(w, ts)) == 1  # nothing changed since
        with ctx.transaction() as session:
            total = len(list(session.scalars(select(Mention.id).where(Mention.storm_id == storm.id))))
        assert f"*{total}* mentions" in w.fake.message(REVIEW, ts).blocks[1]["text"]["text"]


def test_a_thread_warming_up_holds_its_ordinary_cards_and_the_storm_then_gathers_them(
    ctx: Context, clock: FakeClock
) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, [*angry(6), QUESTIONS[0]], clock.now() - timedelta(seconds=30))
        turn(w)
        assert event_types(w) == ["twoway_card"]  # the question does not wait
        clock.advance(seconds=10)
        replies(w, post, angry(10), clock.now() - timedelta(seconds=5))
        turn(w)
        assert event_types(w) == ["twoway_card", "twoway_storm", "twoway_summary"]
        rows = mentions_of(ctx)
        assert sorted(m.card_status for m in rows) == ["posted"] + ["summary"] * 16
        assert len(audit(ctx, "gathered")) == 6  # the held ones, moved onto the summary card


def test_status_names_the_storms_going_on(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        replies(w, post, angry(12), clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        text = " ".join(w.h.ephemeral_texts(w.h.command("status", OFFICER)))
        assert f"Storms now: storm #{storm.id} on post {post['id']}" in text
