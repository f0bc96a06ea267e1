"""Storm items in the supervisors' views: the report and digest count them, the queue and the
public-records export show every one of them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.context import Context
from bot.review.replies import send_reply
from bot.review.summary import dismiss_rest
from bot.slack.commands import CommandReply, run_command
from bot.supervision.digest import report_blocks, tick
from bot.supervision.export import day_bounds, records
from storage.metrics import build_report
from tests.conftest import FakeClock
from tests.support.storms import mentions_of, storming
from tests.support.world import OFFICER, REVIEW, SUPERVISOR


def run(ctx: Context, text: str, user: str = SUPERVISOR) -> CommandReply:
    return run_command(
        ctx, REGISTRY, {"text": text, "user_id": user, "channel_id": REVIEW, "response_url": ""}
    )


def test_the_report_and_digest_count_storm_items_once_each_and_gathered_ones_apart_from_overdue(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=30, questions=2, urgent=1) as (_, storm):
        rows = mentions_of(ctx)
        gathered = [m for m in rows if m.card_status == "summary"]
        own = [m for m in rows if m.card_status == "posted"]
        assert (len(rows), len(own)) == (33, 3)
        answered = gathered[0]
        assert (
            send_reply(ctx, answered.id, "Thank you for writing to us.", "edited", OFFICER).outcome == "sent"
        )
        dismissed = dismiss_rest(ctx, storm.id, "not_needed", SUPERVISOR)
        assert dismissed == len(gathered) - 1

        clock.advance(hours=3)  # every SLA has passed
        now = clock.now()
        with ctx.transaction() as session:
            report = build_report(session, now - timedelta(days=1), now, now)
        assert report.total == 33
        assert sum(report.by_category.values()) == 33
        assert (report.answered, report.dismissed, report.still_open) == (1, dismissed, 3)
        assert (report.storms, report.storm_mentions, report.gathered) == (1, 33, len(gathered))
        assert (report.gathered_dismissed, report.gathered_open) == (dismissed, 0)
        assert report.overdue_now == 3  # the urgent post and the questions, on cards of their own

        text, blocks = report_blocks(report, "Daily digest", ZoneInfo("UTC"))
        assert "33 mentions" in text
        line = next(
            b["text"]["text"] for b in blocks if ":cyclone:" in str(b.get("text", {}).get("text", ""))
        )
        assert "*1 storm*: 33 of these mentions" in line
        assert (
            f"{len(gathered)} gathered on summary cards ({dismissed} dismissed from there, 0 still open"
            in line
        )

        reply = run(ctx, "report 1d")
        assert "*1 storm*" in str(reply.blocks)


def test_the_queue_shows_every_open_storm_mention_and_links_gathered_ones_to_the_summary_card(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=24, questions=2, urgent=1) as (_, storm):
        open_ids = {m.id for m in mentions_of(ctx) if m.state == "open"}
        gathered = {m.id for m in mentions_of(ctx) if m.card_status == "summary"}
        reply = run(ctx, "queue all")
        head = reply.blocks[0]["text"]["text"] if reply.blocks else ""
        assert f"*{len(open_ids)}* unanswered in total" in head
        assert f"{len(gathered)} of them are gathered on storm summary cards" in head

        seen: set[int] = set()
        page = 1
        while True:
            reply = run(ctx, f"queue storm {storm.id} {page}")
            items = [b for b in reply.blocks or [] if str(b.get("block_id", "")).startswith("m:")]
            for block in items:
                mention_id = int(block["block_id"].split(":")[1])
                seen.add(mention_id)
                if mention_id in gathered:
                    assert f"storm #{storm.id} summary card>" in block["text"]["text"]
                    assert "overdue" not in block["text"]["text"]
                else:
                    assert "open card>" in block["text"]["text"]
            if "Next page" not in str(reply.blocks):
                break
            page += 1
        assert seen == open_ids
        assert "Give the storm's number" in run(ctx, "queue storm twelve").text


def test_the_export_holds_every_storm_mention_with_where_it_was_shown_and_each_dismissal(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=20, questions=1, urgent=1) as (_, storm):
        dismissed = dismiss_rest(ctx, storm.id, "spam", SUPERVISOR)
        start, end = day_bounds(date(2026, 11, 19), date(2026, 11, 21), ZoneInfo("UTC"))
        exported = {r["mention_id"]: r for r in records(ctx.sessions, start, end)}
        rows = mentions_of(ctx)
        assert set(exported) == {m.id for m in rows}
        for m in rows:
            record = exported[m.id]
            assert record["storm_id"] == storm.id
            assert record["shown_on"] == ("storm summary card" if m.card_status == "summary" else "own card")
        bulk = [r for r in exported.values() if r["state"] == "dismissed"]
        assert len(bulk) == dismissed
        for record in bulk:
            assert (record["dismissed_reason"], record["dismissed_by"]) == ("spam", SUPERVISOR)
            [event] = [e for e in record["audit_trail"] if e["action"] == "dismissed"]
            assert event["details"] == {"reason": "spam", "storm_id": storm.id, "from_summary": True}
            assert event["actor"] == SUPERVISOR
        assert datetime(2026, 11, 20, tzinfo=UTC) <= min(m.created_at for m in rows)


def test_the_daily_digest_posted_the_next_morning_has_the_storm_line(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=15, questions=1, urgent=1) as (w, storm):
        gathered = [m for m in mentions_of(ctx) if m.card_status == "summary"]
        dismiss_rest(ctx, storm.id, "not_needed", SUPERVISOR)
        clock.current = datetime(2026, 11, 21, 8, 0, 30, tzinfo=UTC)
        assert tick(ctx) == ["daily"]
        [digest] = [
            m for m in w.fake.messages(REVIEW) if (m.metadata or {}).get("event_type") == "twoway_digest"
        ]
        text = json.dumps(digest.blocks, ensure_ascii=False)
        assert "*17* mentions" in text
        assert (
            f"*1 storm*: 17 of these mentions · 2 with cards of their own · {len(gathered)} gathered" in text
        )
        assert f"({len(gathered)} dismissed from there, 0 still open, not counted as overdue)" in text


def test_an_officer_assigned_a_gathered_post_can_list_its_storm_as_the_dm_says(
    ctx: Context, clock: FakeClock
) -> None:
    """The DM for a post gathered on a summary card names `/twoway queue storm N`; an officer who
    runs it gets that storm's posts (what the card's queue button shows), not a refusal."""
    with storming(ctx, clock, angry_posts=20, questions=1, urgent=1) as (w, storm):
        rows = mentions_of(ctx)
        gathered = next(m for m in rows if m.card_status == "summary")
        w.h.command(f"assign {gathered.id} <@{OFFICER}>", SUPERVISOR)
        [dm] = w.fake.dms(OFFICER)
        command = f"/twoway queue storm {storm.id}"
        assert f"`{command}`" in dm.text

        seen: set[int] = set()
        line = command.removeprefix("/twoway ")
        while line:
            result = w.h.command(line, OFFICER)
            assert result.status == 200
            assert "for supervisors" not in result.text, result.text
            blocks = result.json["blocks"]
            assert f"unanswered in storm #{storm.id}" in blocks[0]["text"]["text"]
            items = [b for b in blocks if str(b.get("block_id", "")).startswith("m:")]
            assert items
            assert all("accessory" not in b for b in items)  # assigning stays with supervisors
            seen |= {int(b["block_id"].split(":")[1]) for b in items}
            more = [b for b in blocks if b.get("type") == "context" and "Next page" in str(b)]
            line = str(more[0]["elements"][0]["text"]).split("`/twoway ")[1].rstrip("`") if more else ""
        assert seen == {m.id for m in rows if m.state == "open" and m.storm_id == storm.id}
        assert gathered.id in seen

        refused = w.h.command("queue all", OFFICER)
        assert "the whole queue is for supervisors" in refused.text
        assert "blocks" not in refused.json
