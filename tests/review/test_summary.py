"""What staff do from a storm's summary card: read it, open the storm's queue, reply to one
post as from its card, dismiss the rest with a reason. Signed clicks against the running app."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.context import Context
from bot.slack.format import stamp
from storage import settings
from storage.models import AuditEvent
from tests.conftest import FakeClock
from tests.support.signed import find_element
from tests.support.storms import QUESTIONS, audit, mentions_of, replies, storm_messages, storming, turn
from tests.support.world import ADMIN, OFFICER, REVIEW, STRANGER, SUPERVISOR, World

AGENCY = {
    "agency_name": "Springfield Police Department",
    "phone": "(555) 010-2000",
    "website": "https://springfield.example.gov",
}


def summary_card(w: World, storm_id: int) -> Any:
    return w.fake.message(REVIEW, storm_messages(w.h.ctx, storm_id)["summary"].ts or "")


def told(w: World, result: Any) -> list[dict[str, Any]]:
    return w.fake.responses_to(result.response_url)


def test_the_summary_card_reads_well_and_offers_the_agency_drafts(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=30) as (w, storm):
        with ctx.transaction() as session:
            for key, value in AGENCY.items():
                settings.put(session, key, value, ADMIN, clock.now())
        clock.advance(seconds=6)
        replies(w, _post_of(w, storm), ["<!channel> wake up @here, fire them all now"] * 40, clock.now())
        turn(w)
        card = summary_card(w, storm.id)
        text = json.dumps(card.blocks)
        assert "<!channel>" not in text
        assert "&lt;!channel&gt;" in text
        heads = [b["text"]["text"] for b in card.blocks if b["type"] == "section"]
        assert any(h.startswith("*Most repeated*") for h in heads)
        themes = [
            b for b in card.blocks if str(b.get("block_id", "")).endswith(("theme1", "theme2", "theme3"))
        ]
        assert len(themes) == 3
        assert all(
            "open on X" in b["text"]["text"] and b["accessory"]["action_id"] == "edit_reply" for b in themes
        )
        statement = next(b for b in card.blocks if b.get("block_id") == "storm:statement")["text"]["text"]
        assert "(555) 010-2000" in statement
        pinned = next(b for b in card.blocks if b.get("block_id") == "storm:pinned")["text"]["text"]
        assert "https://springfield.example.gov" in pinned
        timeline = next(b for b in card.blocks if b.get("block_id") == "storm:timeline")["text"]["text"]
        assert "criticism" in timeline
        assert "```" in timeline
        assert card.text.startswith("Storm on X: 73 mentions")


def _post_of(w: World, storm: Any) -> dict[str, Any]:
    return {"id": storm.thread_key, "conversation_id": storm.thread_key, "author_id": w.fake_x.me["id"]}


def test_a_custom_statement_template_replaces_the_shipped_one(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=12) as (w, storm):
        w.h.command("template add statement We hear you. Updates at {website} as we confirm them.", ADMIN)
        w.h.command("set website https://springfield.example.gov", ADMIN)
        clock.advance(seconds=6)
        turn(w)
        statement = next(
            b for b in summary_card(w, storm.id).blocks if b.get("block_id") == "storm:statement"
        )
        assert "We hear you. Updates at https://springfield.example.gov" in statement["text"]["text"]
        refused = w.h.command("template add pinned Thanks {author_name}!", ADMIN)
        assert "answers everyone" in " ".join(w.h.ephemeral_texts(refused))


def test_the_storm_queue_lists_its_open_posts_with_reply_and_dismiss_as_on_a_card(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=25) as (w, storm):
        open_ids = {m.id for m in mentions_of(ctx) if m.state == "open"}
        result = w.h.click(summary_card(w, storm.id), "storm_queue", user_id=OFFICER)
        [answer] = told(w, result)
        assert answer["response_type"] == "ephemeral"
        blocks = answer["blocks"]
        listed = {
            int(b["block_id"].split(":")[1])
            for b in blocks
            if b["type"] == "actions" and b["block_id"].startswith("m:")
        }
        assert len(listed) == 10
        assert listed <= open_ids
        assert f"*{len(open_ids)}* open in storm #{storm.id}" in blocks[0]["text"]["text"]

        # The next page, clicked in the ephemeral answer, replaces it.
        block_id, element = find_element(blocks, "storm_queue")
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
        [page2] = told(w, result)
        assert page2["replace_original"] is True
        assert "page 2 of" in page2["blocks"][0]["text"]["text"]

        # One post dismissed from the ephemeral list, as from its card.
        target = sorted(listed)[0]
        block_id, _ = find_element([b for b in blocks if b.get("block_id") == f"m:{target}"], "dismiss")
        w.h.sender.click(
            "dismiss",
            user_id=OFFICER,
            channel=REVIEW,
            message_ts="1.000001",
            block_id=block_id,
            selected_option="duplicate",
            element_type="static_select",
            ephemeral=True,
        )
        w.h.wait()
        row = next(m for m in mentions_of(ctx) if m.id == target)
        assert (row.state, row.dismissed_reason, row.dismissed_by) == ("dismissed", "duplicate", OFFICER)
        stranger = w.h.click(summary_card(w, storm.id), "storm_queue", user_id=STRANGER)
        assert "You need the officer role" in told(w, stranger)[0]["text"]


def test_reply_to_one_post_from_the_summary_card_goes_out_once(ctx: Context, clock: FakeClock) -> None:
    with storming(ctx, clock, angry_posts=12, questions=0, urgent=0) as (w, storm):
        card = summary_card(w, storm.id)
        block_id, element = find_element(card.blocks, "edit_reply")
        mention_id = int(element["value"])
        assert next(m for m in mentions_of(ctx) if m.id == mention_id).card_status == "summary"
        w.h.click(card, "edit_reply", user_id=OFFICER)
        view = w.fake.views_opened[-1]["view"]
        metadata = json.loads(view["private_metadata"])
        assert metadata["m"] == mention_id
        for _ in range(2):  # a double submission sends once
            w.h.sender.submit_view(
                "edit_reply",
                {
                    "reply": {
                        "text": {"type": "plain_text_input", "value": "We hear you, and we are listening."}
                    }
                },
                view["private_metadata"],
                user_id=OFFICER,
            )
            w.h.wait()
        assert len(w.fake_x.replies) == 1
        row = next(m for m in mentions_of(ctx) if m.id == mention_id)
        assert (row.state, row.card_status) == ("replied", "summary")
        clock.advance(seconds=6)
        turn(w)
        counts = next(b for b in summary_card(w, storm.id).blocks if b.get("block_id") == "storm:counts")
        assert "*1* answered" in counts["text"]["text"]
        assert block_id.startswith(f"m:{mention_id}:")


def test_dismiss_the_rest_needs_a_supervisor_and_records_every_post_with_its_reason(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=20, questions=2, urgent=1) as (w, storm):
        card = summary_card(w, storm.id)
        refused = w.h.click(card, "storm_dismiss", user_id=OFFICER, option_value="spam")
        assert "You need the supervisor role" in told(w, refused)[0]["text"]
        assert all(m.state == "open" for m in mentions_of(ctx))
        select_element = find_element(card.blocks, "storm_dismiss")[1]
        assert select_element["confirm"]["confirm"]["text"] == "Dismiss them"

        gathered = {m.id for m in mentions_of(ctx) if m.card_status == "summary"}
        done = w.h.click(card, "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        assert f"Dismissed {len(gathered)} posts" in told(w, done)[0]["text"]
        rows = mentions_of(ctx)
        assert {m.id for m in rows if m.state == "dismissed"} == gathered
        assert all(m.state == "open" for m in rows if m.card_status == "posted")  # urgent and questions
        events = [e for e in audit(ctx, "dismissed") if e.mention_id in gathered]
        assert len(events) == len(gathered)
        assert all(e.actor == SUPERVISOR and e.details["reason"] == "spam" for e in events)
        [summary_event] = audit(ctx, "storm_dismissed")
        assert summary_event.details["count"] == len(gathered)

        again = w.h.click(card, "storm_dismiss", user_id=SUPERVISOR, option_value="spam")
        assert "Nothing gathered on this card was still open" in told(w, again)[0]["text"]
        clock.advance(seconds=6)
        turn(w)
        counts = next(b for b in summary_card(w, storm.id).blocks if b.get("block_id") == "storm:counts")
        assert f"*{len(gathered)}* dismissed" in counts["text"]["text"]
        assert find_element_or_none(summary_card(w, storm.id).blocks, "storm_dismiss") is None


def find_element_or_none(blocks: list[dict[str, Any]], action_id: str) -> Any:
    try:
        return find_element(blocks, action_id)
    except (LookupError, AssertionError):
        return None


def test_a_dismiss_click_that_is_not_from_its_summary_card_changes_nothing(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=12) as (w, storm):
        [some_card] = [
            m for m in w.fake.messages(REVIEW) if m.metadata and m.metadata["event_type"] == "twoway_card"
        ][:1]
        result = w.h.sender.click(
            "storm_dismiss",
            user_id=SUPERVISOR,
            channel=REVIEW,
            message_ts=some_card.ts,
            block_id=f"s:{storm.id}",
            selected_option="spam",
            element_type="static_select",
        )
        w.h.wait()
        assert "doesn't belong to this card" in told(w, result)[0]["text"]
        assert all(m.state == "open" for m in mentions_of(ctx))


def test_a_question_asked_again_is_gathered_and_counted_on_the_first_ones_card(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=12, questions=1, urgent=0) as (w, storm):
        clock.advance(seconds=10)
        again = ["When are you releasing the body camera video?", "When will the bodycam video be released??"]
        replies(w, _post_of(w, storm), again, clock.now() - timedelta(seconds=5))
        turn(w)
        questions = [m for m in mentions_of(ctx) if m.category == "question"]
        carded = [m for m in questions if m.card_status == "posted"]
        assert len(carded) == 1
        assert QUESTIONS[0] in carded[0].text
        assert sorted(m.card_status for m in questions) == ["posted", "summary", "summary"]
        with ctx.transaction() as session:
            triaged = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "triaged", AuditEvent.mention_id.in_([m.id for m in questions])
                )
            ).all()
        assert sorted(e.details.get("asks_again") or 0 for e in triaged) == [0, carded[0].id, carded[0].id]
        clock.advance(seconds=6)
        turn(w)
        repeats = next(b for b in summary_card(w, storm.id).blocks if b.get("block_id") == "storm:repeats")
        assert "asked *2* more times" in repeats["text"]["text"]
        assert "its card>" in repeats["text"]["text"]


def test_a_dismiss_the_rest_that_claims_to_come_from_an_ephemeral_message_changes_nothing(
    ctx: Context, clock: FakeClock
) -> None:
    with storming(ctx, clock, angry_posts=12) as (w, storm):
        result = w.h.sender.click(
            "storm_dismiss",
            user_id=SUPERVISOR,
            channel=REVIEW,
            message_ts="1.000001",
            block_id=f"s:{storm.id}",
            selected_option="spam",
            element_type="static_select",
            ephemeral=True,
        )
        w.h.wait()
        assert "doesn't belong to this card" in told(w, result)[0]["text"]
        assert all(m.state == "open" for m in mentions_of(ctx))


def test_the_storm_is_timed_from_its_first_post_not_from_when_it_was_recognised(
    ctx: Context, clock: FakeClock
) -> None:
    """The card gathers the posts that made the burst, written before it was recognised: "N
    mentions since T" starts at the first of them, as the card's own timeline does."""
    with storming(ctx, clock, angry_posts=30) as (w, storm):
        first = min(m.created_at for m in mentions_of(ctx) if m.storm_id == storm.id)
        assert first < storm.started_at
        head = next(b for b in summary_card(w, storm.id).blocks if b.get("block_id") == "storm:head")
        assert f"since {stamp(first)}" in head["text"]["text"]
