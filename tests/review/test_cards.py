"""The card outbox and the card's content, against the fake Slack over real HTTP."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.context import Context
from bot.review.action_ids import draft_mark
from bot.review.cards import (
    EVENT_TYPE,
    REDRAW_WINDOW,
    post_pending_cards,
    redraw_recent_cards,
    refresh_card,
)
from storage import audit
from storage import settings as stored_settings
from storage.audit import Action
from storage.models import AuditEvent, Mention
from tests.support.fakes.server import Response
from tests.support.signed import find_element
from tests.support.world import ADMIN, REVIEW, World, mention, world


def card_posts(w: World) -> list[Any]:
    return [c for c in w.fake.api_calls("chat.postMessage") if c.get("channel") == REVIEW]


def test_pending_card_is_posted_once_with_metadata_and_stored(ctx: Context) -> None:
    with world(ctx) as w:
        mid = w.new_mention()
        assert post_pending_cards(ctx) == 1
        assert post_pending_cards(ctx) == 0
        row = mention(ctx, mid)
        assert row.card_status == "posted"
        assert row.card_channel == REVIEW
        [call] = card_posts(w)
        assert call["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"mention_id": mid}}
        assert call["unfurl_links"] is False
        assert w.fake.message(REVIEW, row.card_ts or "").metadata is not None


def test_no_channel_leaves_cards_pending_until_setup_chooses_one(ctx: Context) -> None:
    with world(ctx, twoway_channel=None) as w:
        mid = w.new_mention()
        assert post_pending_cards(ctx) == 0
        assert mention(ctx, mid).card_status == "pending"
        with ctx.transaction() as session:
            stored_settings.put(session, "channel", "C0SETUP001", ADMIN, ctx.clock.now())
        assert post_pending_cards(ctx) == 1
        assert mention(ctx, mid).card_channel == "C0SETUP001"


def test_slack_error_marks_card_failed_and_next_sweep_posts_it(ctx: Context) -> None:
    with world(ctx) as w:
        mid = w.new_mention()
        w.fake.fail_next(r"chat\.postMessage$", Response(200, {"ok": False, "error": "not_in_channel"}))
        assert post_pending_cards(ctx) == 0
        row = mention(ctx, mid)
        assert (row.card_status, row.card_error) == ("failed", "not_in_channel")
        assert post_pending_cards(ctx) == 1
        assert mention(ctx, mid).card_status == "posted"
        assert len(card_posts(w)) == 2  # the refused one and the real one
        assert len(w.fake.messages(REVIEW)) == 1


def test_rate_limited_post_is_retried_after_retry_after(ctx: Context) -> None:
    with world(ctx) as w:
        mid = w.new_mention()
        w.fake.fail_next(
            r"chat\.postMessage$", Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
        )
        assert post_pending_cards(ctx) == 1
        assert mention(ctx, mid).card_status == "posted"
        assert len(w.fake.messages(REVIEW)) == 1


def test_server_error_is_ambiguous_and_found_by_metadata_instead_of_reposting(ctx: Context) -> None:
    """A 500 after Slack stored the message: the next sweep finds it in history and does not post again."""
    with world(ctx) as w:
        mid = w.new_mention()
        post_pending_cards(ctx)
        ts = mention(ctx, mid).card_ts
        # Pretend the post answered 500 although the message exists.
        with ctx.transaction() as session:
            session.execute(
                update(Mention)
                .where(Mention.id == mid)
                .values(
                    card_status="failed", card_ts=None, card_channel=None, card_error="ambiguous: HTTP 500"
                )
            )
        assert post_pending_cards(ctx) == 1
        row = mention(ctx, mid)
        assert (row.card_status, row.card_ts) == ("posted", ts)
        assert len(card_posts(w)) == 1
        assert w.fake.api_calls("conversations.history")[0]["include_all_metadata"] in (True, "1", "true")


def test_crash_in_posting_is_recovered_from_history_without_a_duplicate(ctx: Context, clock: Any) -> None:
    with world(ctx) as w:
        first, second = w.new_mention(), w.new_mention("another one")
        post_pending_cards(ctx)
        posted_ts = mention(ctx, first).card_ts
        w.fake.drop_message(REVIEW, mention(ctx, second).card_ts or "")  # as if never posted
        # Crash after chat.postMessage for `first`, and before it for `second`.
        with ctx.transaction() as session:
            session.execute(
                update(Mention)
                .where(Mention.id.in_([first, second]))
                .values(card_status="posting", card_ts=None, card_channel=None, card_claimed_at=clock.now())
            )
        assert post_pending_cards(ctx) == 0  # claims are fresh: nobody steals them
        clock.advance(minutes=6)
        assert post_pending_cards(ctx) == 2
        assert mention(ctx, first).card_ts == posted_ts
        assert mention(ctx, second).card_status == "posted"
        ids = [m.metadata["event_payload"]["mention_id"] for m in w.fake.messages(REVIEW)]
        assert sorted(ids) == sorted([first, second])


def test_two_sweeps_at_once_post_one_card_per_mention(ctx: Context) -> None:
    with world(ctx) as w:
        mids = [w.new_mention(f"thanks number {n}") for n in range(8)]
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(post_pending_cards(ctx))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(results) == len(mids)
        ids = sorted(m.metadata["event_payload"]["mention_id"] for m in w.fake.messages(REVIEW))
        assert ids == sorted(mids)
        with ctx.transaction() as session:
            audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "card_posted")).all()
        assert len(audits) == len(mids)


def test_card_shows_item_author_category_drafts_and_actions(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted("thank you officers", parent_text="Our update about the parade")
        text = str(card.blocks)
        assert f"#{mid}" in text
        assert "Jane Citizen" in text
        assert "@jane" in text
        assert "@agency" in text
        assert "Compliment" in text
        assert "82%" in text
        assert "Replying to: Our update about the parade" in text
        for n in (1, 2, 3):
            block_id, button = find_element(card.blocks, f"send_reply:{n}")
            draft = mention(ctx, mid).drafts["items"][n - 1]["text"]  # type: ignore[index]
            assert button["value"] == f"{mid}:{n}:{draft_mark(draft)}"
            assert block_id.startswith(f"m:{mid}")
        for action in ("edit_reply", "like", "assign", "dismiss", "reclassify"):
            block_id, _ = find_element(card.blocks, action)
            assert block_id == f"m:{mid}"
        assert "#" + str(mid) in card.text


def test_urgent_card_has_a_banner_first(ctx: Context) -> None:
    with world(ctx) as w:
        _, card = w.posted(
            "someone is breaking in right now",
            category="other",
            urgent=True,
            urgent_reason="break-in in progress",
        )
        assert card.blocks[0]["text"]["text"].startswith(
            ":rotating_light: *URGENT: possible emergency — break-in in progress"
        )
        assert card.text.startswith("URGENT")


def test_x_item_without_explicit_mention_offers_manual_path_only(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted("nice work", explicit_mention=False)
        text = str(card.blocks)
        assert "The X API cannot reply to this post" in text
        assert "Open the post on X" in text
        _, button = find_element(card.blocks, "mark_replied_manually")
        assert button["value"] == str(mid)
        for missing in ("send_reply:1", "edit_reply"):
            try:
                find_element(card.blocks, missing)
            except LookupError:
                continue
            raise AssertionError(f"{missing} should not be on a restricted card")


def test_long_text_is_cut_with_a_link_to_the_original(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted("word " * 2000)
        [section] = [b["text"]["text"] for b in card.blocks if b.get("block_id") == f"m:{mid}:text"]
        assert len(section) < 2000
        assert "Read the full post" in section
        assert sum(len(str(b)) for b in card.blocks) < 12000


@pytest.mark.parametrize(
    "text",
    [
        "&" * 1400 + " END-OF-POST",  # each "&" is five characters once escaped
        "<3 " * 480 + "END-OF-POST",
        "ok\n" * 700 + "END-OF-POST",  # every line quoted: "> ok"
    ],
)
def test_a_post_that_escaping_makes_too_long_is_cut_visibly_with_a_link(ctx: Context, text: str) -> None:
    """Under 1,500 characters but longer than a section once escaped and quoted: the card says it
    is cut and links to the post, instead of Slack's own silent cut at the section's limit."""
    with world(ctx) as w:
        mid, card = w.posted(text)
        [section] = [b["text"]["text"] for b in card.blocks if b.get("block_id") == f"m:{mid}:text"]
        assert len(section) <= 2900
        assert "…" in section
        assert section.endswith("|Read the full post>")
        assert "END-OF-POST" not in section


def test_refresh_card_redraws_from_the_database(ctx: Context) -> None:
    with world(ctx) as w:
        mid, _card = w.posted()
        with ctx.transaction() as session:
            session.execute(update(Mention).where(Mention.id == mid).values(assignee="U0SUPER01"))
        assert refresh_card(ctx, mid)
        assert "Assigned to <@U0SUPER01>" in str(w.card(mid).blocks)
        assert len(w.fake.messages(REVIEW)) == 1


def test_a_start_redraws_cards_a_crash_left_showing_an_old_state(ctx: Context, clock: Any) -> None:
    """Killed after an assignment was committed and before its card was redrawn: the next start
    redraws it. A card changed long before the start is left as it is."""
    with world(ctx) as w:
        old, _ = w.posted()
        recent, _ = w.posted()
        for mid, who in ((old, "U0SUPER01"), (recent, "U0SUPER02")):
            with ctx.transaction() as session:
                session.execute(update(Mention).where(Mention.id == mid).values(assignee=who))
                audit.record(session, clock.now(), Action.ASSIGNED, actor=ADMIN, mention_id=mid, assignee=who)
            clock.advance(seconds=REDRAW_WINDOW.total_seconds() + 60 if mid == old else 120)
        assert "Assigned to" not in str(w.card(recent).blocks)
        assert redraw_recent_cards(ctx, clock.now()) == 1
        assert "Assigned to <@U0SUPER02>" in str(w.card(recent).blocks)
        assert "Assigned to" not in str(w.card(old).blocks)
        assert len(w.fake.messages(REVIEW)) == 2


def test_a_card_slack_does_not_answer_for_at_start_does_not_stop_the_others(ctx: Context, clock: Any) -> None:
    with world(ctx, http_timeout=1) as w:
        first, _ = w.posted()
        second, _ = w.posted()
        for mid in (first, second):
            with ctx.transaction() as session:
                session.execute(update(Mention).where(Mention.id == mid).values(assignee="U0SUPER02"))
                audit.record(session, clock.now(), Action.ASSIGNED, actor=ADMIN, mention_id=mid)
            clock.advance(seconds=1)
        # Latest first: the second card's update gets no answer in time.
        w.fake.fail_next(r"chat\.update$", Response(200, {"ok": True}, delay=2.5))
        assert redraw_recent_cards(ctx, clock.now()) == 1
        assert "Assigned to <@U0SUPER02>" in str(w.card(first).blocks)


def test_a_sweep_that_read_a_card_before_another_tried_it_leaves_it_to_the_next(
    ctx: Context, monkeypatch: Any
) -> None:
    """Two sweepers (`twoway run` and a `poll --once`): the other one's post timed out but exists."""
    from bot.review import cards

    with world(ctx) as w:
        mid = w.new_mention()
        real_claim = cards._claim

        def other_sweep_gets_there_first(*args: Any) -> bool:
            monkeypatch.setattr(cards, "_claim", real_claim)
            assert post_pending_cards(ctx) == 1  # the other sweep posts the card...
            with ctx.transaction() as session:  # ...and its answer is lost: the outcome is unknown
                session.execute(
                    update(Mention)
                    .where(Mention.id == mid)
                    .values(card_status="failed", card_ts=None, card_error="ambiguous: TimeoutError")
                )
            return real_claim(*args)

        monkeypatch.setattr(cards, "_claim", other_sweep_gets_there_first)
        assert post_pending_cards(ctx) == 0  # its snapshot is out of date: it does not post blindly
        assert len(w.fake.messages(REVIEW)) == 1
        assert post_pending_cards(ctx) == 1  # the next sweep looks in history first and finds it
        assert mention(ctx, mid).card_status == "posted"
        assert len(w.fake.messages(REVIEW)) == 1
        assert len(card_posts(w)) == 1


def test_slack_still_rate_limiting_stops_the_sweep_instead_of_waiting_card_after_card(ctx: Context) -> None:
    with world(ctx) as w:
        mids = [w.new_mention(f"thanks number {n}") for n in range(5)]
        limited = Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
        w.fake.fail_next(r"chat\.postMessage$", limited, times=3)  # the first try and both retries
        assert post_pending_cards(ctx) == 0
        assert len(card_posts(w)) == 3  # one card tried; the other four were not
        assert [mention(ctx, m).card_status for m in mids] == ["pending"] * 4 + ["failed"]  # newest first
        assert post_pending_cards(ctx) == 5  # Slack has calmed down: every card goes out once
        assert len(w.fake.messages(REVIEW)) == 5


def _card_text(card: Any) -> str:
    return "\n".join(find_element_texts(card.blocks))


def find_element_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for value in node.values() for t in find_element_texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in find_element_texts(value)]
    return []


def test_a_category_the_model_is_unsure_of_says_so_until_staff_set_it(ctx: Context) -> None:
    """An unsure card asks for a look at the category; one staff reclassified does not."""
    with world(ctx) as w:
        _sure, card = w.posted("when does the records office open?", category="question", confidence=0.93)
        assert "unsure" not in _card_text(card)
        unsure_id, card = w.posted("idk what is going on with you guys", category="question", confidence=0.41)
        assert "*unsure*: check the category" in _card_text(card)
        with ctx.transaction() as session:
            row = session.get(Mention, unsure_id)
            assert row is not None
            row.drafts = {**(row.drafts or {}), "category_set_by": ADMIN}
        refresh_card(ctx, unsure_id)
        assert "unsure" not in _card_text(w.card(unsure_id))


def test_a_possible_emergency_not_flagged_is_pointed_out_on_the_card(ctx: Context) -> None:
    with world(ctx) as w:
        reason = "may be an emergency (not flagged): drafts lead with the 911 line"
        _mid, card = w.posted("theres someone in the yard again", category="question", urgent_reason=reason)
        text = _card_text(card)
        assert f"Check this one: it {reason}" in text
        assert "URGENT" not in text


def test_a_backlog_of_cards_goes_out_urgent_first_then_questions_then_the_rest_newest_first(
    ctx: Context,
) -> None:
    with world(ctx) as w:
        made = {
            "old thanks": w.new_mention("thanks, old", category="compliment"),
            "old question": w.new_mention("an old question?", category="question"),
            "new thanks": w.new_mention("thanks, new", category="compliment"),
            "urgent": w.new_mention(
                "help, now", category="other", urgent=True, urgent_reason="reports danger"
            ),
            "new question": w.new_mention("a new question?", category="question"),
        }
        with ctx.transaction() as session:
            for minutes, key in enumerate(
                ["new question", "urgent", "new thanks", "old question", "old thanks"]
            ):
                session.execute(
                    update(Mention)
                    .where(Mention.id == made[key])
                    .values(created_at=ctx.clock.now() - timedelta(minutes=10 * minutes))
                )
        assert post_pending_cards(ctx, limit=2) == 2  # a few at a time: the worker looks again in between
        assert post_pending_cards(ctx) == 3
        order = [c["metadata"]["event_payload"]["mention_id"] for c in card_posts(w)]
        assert order == [
            made[k] for k in ("urgent", "new question", "old question", "new thanks", "old thanks")
        ]
