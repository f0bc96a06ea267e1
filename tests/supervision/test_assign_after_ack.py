"""`/twoway assign` over signed requests: the assignment is stored and answered within Slack's
3 seconds; the assignee's DM and the card's redraw come after the ack, once each, however slow
Slack is with them."""

from __future__ import annotations

import time
from typing import Any

from bot.core.context import Context
from tests.support.fakes.server import Response
from tests.support.signed import SlackResult
from tests.support.world import OFFICER, SUPERVISOR, World, mention, world

ACK_BOUND = 1.5  # seconds; each scripted slowness below costs Slack's 3 s Retry-After or more
RATE_LIMITED = Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"})


def _timed_assign(w: World, line: str) -> tuple[SlackResult, float]:
    started = time.monotonic()
    result = w.h.sender.command(line, SUPERVISOR, timeout=30)  # the ack alone, not the work after it
    return result, time.monotonic() - started


def _updates_of(w: World, card: Any) -> list[dict[str, Any]]:
    return [c for c in w.fake.api_calls("chat.update") if c.get("ts") == card.ts]


def test_a_rate_limited_redraw_does_not_delay_the_ack(ctx: Context) -> None:
    with world(ctx) as w:
        mention_id, card = w.posted("Is the park closed today?", category="question")
        before = len(_updates_of(w, card))
        w.fake.fail_next(r"chat\.update", RATE_LIMITED)
        result, took = _timed_assign(w, f"assign {mention_id} <@{OFFICER}>")
        assert result.status == 200
        assert result.json["response_type"] == "ephemeral"
        assert result.text == f"#{mention_id} is now assigned to <@{OFFICER}>."
        assert took < ACK_BOUND, f"the ack took {took:.2f}s"
        assert mention(ctx, mention_id).assignee == OFFICER  # stored before the ack
        w.h.wait()
        [dm] = w.fake.dms(OFFICER)
        assert f"#{mention_id}" in dm.text
        assert "archives/" in dm.text
        updates = _updates_of(w, card)[before:]
        assert len(updates) == 2  # the one Slack refused with 429, and its one retry
        redrawn = w.fake.message(card.channel, card.ts)
        assert OFFICER in str(redrawn.blocks)
        assert w.fake.responses_to(result.response_url) == []  # nothing more to tell


def test_a_slow_dm_does_not_delay_the_ack_and_is_sent_once(ctx: Context) -> None:
    with world(ctx) as w:
        mention_id, card = w.posted("Is the park closed today?", category="question")
        before = len(_updates_of(w, card))
        w.fake.fail_next(r"chat\.postMessage", RATE_LIMITED)
        result, took = _timed_assign(w, f"assign #{mention_id} <@{OFFICER}|dana>")
        assert result.status == 200
        assert result.text == f"#{mention_id} is now assigned to <@{OFFICER}>."
        assert took < ACK_BOUND, f"the ack took {took:.2f}s"
        w.h.wait()
        assert len(w.fake.dms(OFFICER)) == 1
        assert len(_updates_of(w, card)[before:]) == 1


def test_a_dm_slack_will_not_deliver_is_told_to_the_supervisor_after_the_ack(ctx: Context) -> None:
    with world(ctx) as w:
        mention_id, card = w.posted("Is the park closed today?", category="question")
        before = len(_updates_of(w, card))
        w.fake.fail_next(r"conversations\.open", Response(200, {"ok": False, "error": "user_disabled"}))
        result, took = _timed_assign(w, f"assign {mention_id} <@{OFFICER}>")
        assert result.text == f"#{mention_id} is now assigned to <@{OFFICER}>."
        assert took < ACK_BOUND
        w.h.wait()
        assert w.fake.dms(OFFICER) == []
        [told] = w.fake.responses_to(result.response_url)
        assert told["response_type"] == "ephemeral"
        assert (
            f"could not send <@{OFFICER}> a direct message about #{mention_id} (user_disabled)"
            in told["text"]
        )
        assert "tell them yourself" in told["text"]
        assert mention(ctx, mention_id).assignee == OFFICER  # the assignment stands
        assert len(_updates_of(w, card)[before:]) == 1  # and the card is redrawn anyway


def test_a_slow_user_lookup_is_not_waited_for(ctx: Context) -> None:
    """users.info (apps and deactivated accounts are refused) is asked once, briefly, before the
    ack: rate limited, the assignment goes ahead as when Slack cannot say."""
    with world(ctx) as w:
        mention_id, _ = w.posted("Is the park closed today?", category="question")
        w.fake.fail_next(r"users\.info", RATE_LIMITED)
        result, took = _timed_assign(w, f"assign {mention_id} <@{OFFICER}>")
        assert result.text == f"#{mention_id} is now assigned to <@{OFFICER}>."
        assert took < ACK_BOUND
        w.h.wait()
        assert len(w.fake.dms(OFFICER)) == 1


def test_assigning_the_same_person_again_answers_at_once_and_sends_nothing(ctx: Context) -> None:
    with world(ctx) as w:
        mention_id, card = w.posted("Is the park closed today?", category="question")
        w.h.command(f"assign {mention_id} <@{OFFICER}>", SUPERVISOR)
        updates = len(_updates_of(w, card))
        result = w.h.command(f"assign {mention_id} <@{OFFICER}>", SUPERVISOR)
        assert result.text == f"#{mention_id} is already assigned to <@{OFFICER}>."
        assert len(w.fake.dms(OFFICER)) == 1
        assert len(_updates_of(w, card)) == updates
