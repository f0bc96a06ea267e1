"""What a storm's summary card promises is what its buttons do: "Dismiss the rest" reaches only
the posts the card the supervisor saw counted, the queue button's number is what the queue lists,
and the "Over time" table gives every slot its own column."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.context import Context
from bot.review.summary import _timeline
from bot.review.summary_blocks import SummaryView, bucket_label, ended_text, summary_blocks
from bot.slack.commands import run_command
from storage.models import Mention, Storm
from storage.storms import Item
from tests.conftest import FakeClock
from tests.support.fakes.slack_api import FakeSlack
from tests.support.signed import find_element
from tests.support.storms import angry, audit, mentions_of, replies, storm_messages, storming, turn
from tests.support.world import OFFICER, REVIEW, SUPERVISOR, World


def summary_card(w: World, storm_id: int) -> Any:
    return w.fake.message(REVIEW, storm_messages(w.h.ctx, storm_id)["summary"].ts or "")


def told(w: World, result: Any) -> list[dict[str, Any]]:
    return w.fake.responses_to(result.response_url)


def block_text(card: Any, block_id: str) -> str:
    return str(next(b for b in card.blocks if b.get("block_id") == block_id)["text"]["text"])


def confirm_text(card: Any) -> str:
    return str(find_element(card.blocks, "storm_dismiss")[1]["confirm"]["text"]["text"])


def more_replies(w: World, storm: Storm, count: int) -> None:
    post = {"id": storm.thread_key, "conversation_id": storm.thread_key, "author_id": w.fake_x.me["id"]}
    replies(w, post, angry(count), w.h.ctx.clock.now() - timedelta(seconds=1))


def open_on_summary(ctx: Context) -> set[int]:
    return {m.id for m in mentions_of(ctx) if m.card_status == "summary" and m.state == "open"}


# -- dismiss the rest ------------------------------------------------------------------------------


def test_dismiss_the_rest_reaches_only_the_posts_the_card_as_drawn_counted(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=20, questions=1, urgent=1) as (w, storm):
        shown = open_on_summary(ctx)
        card = summary_card(w, storm.id)
        assert f"The {len(shown)} open posts gathered on this card" in confirm_text(card)

        clock.advance(seconds=2)  # within the 5 s between redraws
        more_replies(w, storm, 15)
        turn(w)
        later = open_on_summary(ctx) - shown
        assert len(later) == 15  # gathered, but the card in Slack is still the one drawn before
        card_now = summary_card(w, storm.id)
        assert card_now.blocks == card.blocks

        done = w.h.click(card_now, "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        answer = told(w, done)[0]["text"]
        assert f"Dismissed {len(shown)} posts gathered on this card" in answer
        assert "15 posts gathered since the card you saw was drawn are still open" in answer
        rows = mentions_of(ctx)
        assert {m.id for m in rows if m.state == "dismissed"} == shown
        assert all(m.state == "open" for m in rows if m.id in later)
        [event] = audit(ctx, "storm_dismissed")
        assert event.details["count"] == len(shown)
        assert len([e for e in audit(ctx, "dismissed") if e.mention_id in later]) == 0

        clock.advance(seconds=6)
        turn(w)
        redrawn = summary_card(w, storm.id)
        counts = block_text(redrawn, "storm:counts")
        assert ":inbox_tray: *15* still open" in counts
        assert f"*{len(shown)}* dismissed" in counts
        assert "The 15 open posts gathered on this card" in confirm_text(redrawn)
        again = w.h.click(redrawn, "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        assert "Dismissed 15 posts gathered on this card" in told(w, again)[0]["text"]
        assert open_on_summary(ctx) == set()


def test_a_failed_redraw_leaves_dismiss_the_rest_to_the_card_still_shown(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=12, questions=0, urgent=0) as (w, storm):
        shown = open_on_summary(ctx)
        card = summary_card(w, storm.id)
        clock.advance(seconds=6)
        more_replies(w, storm, 10)
        w.fake.fail_next(r"chat\.update", FakeSlack.error("internal_error"))
        turn(w)
        assert len(w.fake.api_calls("chat.update")) == 1
        assert summary_card(w, storm.id).blocks == card.blocks  # the redraw failed
        assert len(open_on_summary(ctx) - shown) == 10

        done = w.h.click(summary_card(w, storm.id), "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        assert f"Dismissed {len(shown)} posts" in told(w, done)[0]["text"]
        assert {m.id for m in mentions_of(ctx) if m.state == "dismissed"} == shown
        assert len(open_on_summary(ctx)) == 10


def test_a_card_drawn_by_an_earlier_release_dismisses_up_to_its_stored_last_draw(
    ctx: Context, clock: FakeClock
) -> None:
    """A card whose actions block is the old `s:<storm_id>` carries no draw time: the last
    successful draw stored for it stands in."""
    with storming(ctx, clock, angry_posts=12, questions=0, urgent=0) as (w, storm):
        shown = open_on_summary(ctx)
        clock.advance(seconds=2)
        more_replies(w, storm, 8)
        turn(w)
        result = w.h.sender.click(
            "storm_dismiss",
            user_id=SUPERVISOR,
            channel=REVIEW,
            message_ts=storm_messages(ctx, storm.id)["summary"].ts or "",
            block_id=f"s:{storm.id}",
            selected_option="not_needed",
            element_type="static_select",
        )
        w.h.wait()
        assert f"Dismissed {len(shown)} posts" in told(w, result)[0]["text"]
        assert {m.id for m in mentions_of(ctx) if m.state == "dismissed"} == shown
        assert len(open_on_summary(ctx)) == 8


def test_a_post_that_reached_twoway_before_the_draw_but_was_gathered_after_it_stays_open(
    ctx: Context, clock: FakeClock
) -> None:
    """Gathering happens at triage: a post read before the card was drawn but triaged after it
    was not on that card."""
    with storming(ctx, clock, angry_posts=12, questions=0, urgent=0) as (w, storm):
        drawn = storm_messages(ctx, storm.id)["summary"].drawn_at
        assert drawn is not None
        shown = open_on_summary(ctx)
        late = min(shown)
        with ctx.transaction() as session:
            session.execute(
                update(Mention)
                .where(Mention.id == late)
                .values(ingested_at=drawn - timedelta(seconds=1), triaged_at=drawn + timedelta(seconds=1))
            )
        clock.advance(seconds=2)
        done = w.h.click(summary_card(w, storm.id), "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        answer = told(w, done)[0]["text"]
        assert f"Dismissed {len(shown) - 1} posts" in answer
        assert "1 post gathered since the card you saw was drawn is still open" in answer
        assert open_on_summary(ctx) == {late}


# -- the queue button -------------------------------------------------------------------------------


def test_the_queue_button_counts_what_the_storm_queue_lists(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=20, questions=2, urgent=1) as (w, storm):
        open_ids = {m.id for m in mentions_of(ctx) if m.state == "open" and m.storm_id == storm.id}
        assert len(open_ids) > len(open_on_summary(ctx))  # questions and urgent posts: cards of their own
        card = summary_card(w, storm.id)
        label = find_element(card.blocks, "storm_queue")[1]["text"]["text"]
        match = re.search(r"\((\d+) open", label)
        assert match, label
        assert int(match.group(1)) == len(open_ids)

        listed: set[int] = set()
        blocks = told(w, w.h.click(card, "storm_queue", user_id=OFFICER))[0]["blocks"]
        assert blocks[0]["text"]["text"].startswith(f"*{len(open_ids)}* open in storm #{storm.id}")
        while True:
            listed |= {
                int(b["block_id"].split(":")[1])
                for b in blocks
                if b["type"] == "actions" and b["block_id"].startswith("m:")
            }
            try:
                block_id, element = find_element(blocks, "storm_queue")
            except (LookupError, AssertionError):
                break
            result = w.h.sender.click(
                "storm_queue",
                user_id=OFFICER,
                channel=REVIEW,
                message_ts="1.000001",
                block_id=block_id,
                value=element["value"],
                ephemeral=True,
            )
            w.h.wait()
            blocks = told(w, result)[0]["blocks"]
        assert listed == open_ids
        # The dismiss confirmation still counts only the posts gathered on the card.
        assert f"The {len(open_on_summary(ctx))} open posts gathered" in confirm_text(card)


def test_the_whole_queue_header_counts_what_its_pages_list(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=30, questions=2, urgent=1) as (_, storm):
        rows = mentions_of(ctx)
        open_ids = {m.id for m in rows if m.state == "open"}
        gathered = {m.id for m in rows if m.card_status == "summary" and m.state == "open"}
        listed: list[int] = []
        page = 1
        while True:
            reply = run_command(
                ctx,
                REGISTRY,
                {
                    "text": f"queue all {page}",
                    "user_id": SUPERVISOR,
                    "channel_id": REVIEW,
                    "response_url": "",
                },
            )
            blocks = reply.blocks or []
            head = blocks[0]["text"]["text"]
            assert head.startswith(f"*{len(open_ids)}* unanswered in total")
            assert f"{len(gathered)} of them are gathered on storm summary cards" in head
            listed += [
                int(b["block_id"].split(":")[1])
                for b in blocks
                if str(b.get("block_id", "")).startswith("m:")
            ]
            if "Next page" not in str(blocks):
                break
            page += 1
        assert sorted(listed) == sorted(open_ids)
        assert storm.id


# -- over time ------------------------------------------------------------------------------------


def _items(times: list[datetime]) -> list[Item]:
    return [Item(n, t, "criticism", False, "open", "summary", None, "none") for n, t in enumerate(times, 1)]


def _storm(ended_at: datetime | None = None) -> Storm:
    return cast(Storm, SimpleNamespace(ended_at=ended_at))


def test_the_newest_slot_gets_its_own_column() -> None:
    first = datetime(2026, 11, 20, 14, 58, 30, tzinfo=UTC)
    newest = datetime(2026, 11, 20, 15, 6, 20, tzinfo=UTC)
    timeline, minutes = _timeline(_items([first, newest]), _storm(), newest, ZoneInfo("UTC"))
    assert minutes == 2
    assert [label for label, _ in timeline] == ["14:58", "15:00", "15:02", "15:04", "15:06"]
    assert [counts.get("criticism", 0) for _, counts in timeline] == [1, 0, 0, 0, 1]


def test_every_post_is_counted_in_its_own_slot_whatever_the_span() -> None:
    rng = random.Random(20261120)
    zones = [ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
    for _ in range(1500):
        tz = rng.choice(zones)
        start = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 86400 * 3))
        span = timedelta(
            seconds=rng.choice([rng.randrange(0, 600), rng.randrange(0, 86400), rng.randrange(0, 86400 * 20)])
        )
        times = sorted(
            [start, start + span] + [start + span * rng.random() for _ in range(rng.randrange(0, 6))]
        )
        now = times[-1] + rng.choice([timedelta(0), timedelta(seconds=rng.randrange(0, 3600))])
        timeline, minutes = _timeline(_items(times), _storm(), now, tz)
        columns = [counts.get("criticism", 0) for _, counts in timeline]
        assert 1 <= len(columns) <= 8
        assert sum(columns) == len(times)

        *local, current = [t.astimezone(tz).replace(tzinfo=None) for t in [*times, now]]
        step = timedelta(minutes=minutes)
        day = local[0].replace(hour=0, minute=0, second=0, microsecond=0)
        origin = day + ((local[0] - day) // step) * step  # the first post's slot
        indexes = [(moment - origin) // step for moment in local]
        # each post counted in its own slot, none folded into another
        assert columns == [indexes.count(n) for n in range(len(columns))]
        assert timeline[0][0] == bucket_label(origin, minutes)
        # the current slot (the newest post's when drawn at once) is the last column
        assert (current - origin) // step == len(columns) - 1
        if now == times[-1]:
            assert columns[-1] >= 1


def test_posts_the_model_was_still_reading_when_the_card_was_drawn_stay_open(
    ctx: Context, clock: FakeClock, monkeypatch: Any
) -> None:
    import bot.intake.triage as triage
    from bot.app.pipeline import process
    from bot.intake.polling import poll_account
    from bot.review.summary import redraw_summaries

    with storming(ctx, clock, angry_posts=12, questions=0, urgent=0) as (w, storm):
        before = open_on_summary(ctx)
        clock.advance(seconds=6)
        more_replies(w, storm, 5)
        poll_account(w.h.ctx, w.account_id)  # the five reach TwoWay now
        classify = triage._classify
        drawn: list[Any] = []

        def slow(c: Any, rows: Any) -> Any:
            # While the model reads them, time passes and the card is redrawn without them.
            clock.advance(seconds=6)
            with ctx.transaction() as session:
                session.execute(update(Storm).where(Storm.id == storm.id).values(version=Storm.version + 1))
            redraw_summaries(ctx)
            drawn.append(summary_card(w, storm.id))
            clock.advance(seconds=1)  # the model is still reading
            return classify(c, rows)

        monkeypatch.setattr(triage, "_classify", slow)
        process(w.h.ctx)
        monkeypatch.setattr(triage, "_classify", classify)
        new = open_on_summary(ctx) - before
        assert len(new) == 5
        answer = told(w, w.h.click(drawn[0], "storm_dismiss", user_id=SUPERVISOR, option_value="spam"))[0][
            "text"
        ]
        assert f"Dismissed {len(before)} posts" in answer
        assert "5 posts gathered since the card you saw was drawn are still open" in answer
        assert new <= open_on_summary(ctx)


def test_one_open_post_is_said_in_the_singular() -> None:
    start = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    view = SummaryView(
        storm_id=1,
        platform="x",
        account="@agency",
        thread_key="",
        post_text=None,
        post_url=None,
        started_at=start,
        ended_at=start + timedelta(minutes=30),
        normal=1.0,
        peak=40,
        total=41,
        rows={},
        own_cards=0,
        gathered=41,
        open_gathered=1,
        open_posts=1,
        answered=0,
        dismissed=40,
        timeline=(),
        bucket_minutes=5,
        timezone="UTC",
        themes=(),
        repeats=(),
        drafts=(),
        updated_at=start,
    )
    assert "*1* gathered post is still open" in ended_text(view, None)
    confirm = str(summary_blocks(view))
    assert "The 1 open post gathered on this card is marked" in confirm
