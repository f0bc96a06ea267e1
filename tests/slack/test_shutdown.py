"""A stop (SIGTERM, as in a deploy) after Slack was told yes: the clicks and Edit & send forms
already acked are finished first; what cannot start before the deadline is told back to the
person who asked (an edited text with it), never dropped without a word.

Signed Slack requests on the real app, the X connector against the fake X API, which takes
replies only when the test opens its gate; SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from bot.core.context import Context
from bot.review.listeners import NOT_CARRIED_OUT
from tests.support.fakes.server import Recorded, Response
from tests.support.process import wait_for
from tests.support.signed import SlackResult, click_on_message
from tests.support.world import OFFICER, SUPERVISOR, World, mention, world

EDITED = "Officer Diaz here: the front desk keeps lost property, open 8am to 6pm"


@dataclass
class Busy:
    """Five Send clicks and one Edit & send acked; four sends held at X, the rest queued."""

    sends: list[tuple[int, SlackResult]]  # (mention id, the click's answer)
    edited: int  # the mention the edit answers
    gate: threading.Event


def busy(w: World) -> Busy:
    gate = threading.Event()
    arrived: list[Recorded] = []
    real = w.fake_x.dispatch

    def dispatch(request: Recorded) -> Response:
        if request.method == "POST" and request.path.endswith("/2/tweets"):
            arrived.append(request)
            gate.wait(30)
        return real(request)

    w.fake_x.dispatch = dispatch  # type: ignore[method-assign]
    cards = [
        w.posted(f"where is lost and found? ({n})", drafts=[f"At the front desk ({n})."]) for n in range(6)
    ]
    edited, edit_card = cards[5]
    w.h.click(edit_card, "edit_reply", user_id=SUPERVISOR)
    view = w.fake.views_opened[-1]["view"]
    sends = [
        (mid, click_on_message(w.h.sender, card, "send_reply:1", user_id=OFFICER)) for mid, card in cards[:5]
    ]
    wait_for("four sends held at X", lambda: len(arrived) == 4, timeout=10, every=0.01)
    values = {"reply": {"text": {"type": "plain_text_input", "value": EDITED}}}
    answer = w.h.sender.submit_view("edit_reply", values, view["private_metadata"], user_id=SUPERVISOR)
    assert answer.status == 200
    assert answer.json in (None, {}), "the form closed: the officer believes it is going out"
    assert all(result.status == 200 for _mid, result in sends)
    return Busy(sends, edited, gate)


def told(w: World, result: SlackResult) -> list[str]:
    return [str(r.get("text", "")) for r in w.fake.responses_to(result.response_url)]


def test_a_stop_finishes_the_clicks_and_the_edit_already_acked(ctx: Context) -> None:
    with world(ctx) as w:
        b = busy(w)
        stopping = threading.Thread(target=w.h.slack.close, kwargs={"drain": 30})
        stopping.start()
        b.gate.set()
        stopping.join(30)
        assert not stopping.is_alive()
        texts = sorted(r["text"] for r in w.fake_x.replies)
        assert texts == sorted([f"At the front desk ({n})." for n in range(5)] + [EDITED])
        assert all(mention(ctx, mid).reply_status == "sent" for mid, _ in b.sends)
        assert mention(ctx, b.edited).reply_status == "sent"
        assert not any(NOT_CARRIED_OUT in t for _mid, r in b.sends for t in told(w, r))
        assert not w.fake.ephemerals_for(SUPERVISOR)


def test_work_that_cannot_start_before_the_deadline_is_told_back_never_dropped(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    with world(ctx) as w, caplog.at_level(logging.INFO, logger="bot.slack.app"):
        b = busy(w)
        w.h.slack.close(drain=0.1)  # the four held sends outlast it
        b.gate.set()
        wait_for("the held sends to finish", lambda: w.h.slack.wait_idle(0.1), timeout=20)

        assert len(w.fake_x.replies) == 4, "what had started went out; nothing else did"
        assert EDITED not in [r["text"] for r in w.fake_x.replies]
        [(dropped, result)] = [(mid, r) for mid, r in b.sends if mention(ctx, mid).reply_status == "none"]
        assert told(w, result) == [NOT_CARRIED_OUT]
        assert mention(ctx, dropped).state == "open", "nothing happened to it: a click again is safe"

        assert mention(ctx, b.edited).reply_status == "none"
        [given_back] = [e["text"] for e in w.fake.ephemerals_for(SUPERVISOR)]
        assert f"did not send your reply to #{b.edited}" in given_back
        assert f"> {EDITED}" in given_back, "the modal closed: the text comes back to its writer"

        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "finishing 6 acked job(s) first" in logged
        assert "2 acked job(s) had not started" in logged
        assert "edit & send" in logged
        assert "send_reply:1 click" in logged


def test_work_handed_over_after_the_deadline_is_told_too(ctx: Context) -> None:
    """A listener that acked while the pool was being stopped: its work is not started, and the
    person who asked hears so."""
    with world(ctx) as w:
        w.h.slack.close(drain=0)
        ran: list[str] = []
        future = w.h.slack.submit(lambda: ran.append("work"), dropped=lambda: ran.append("told"))
        assert future.cancelled()
        assert ran == ["told"]


def _slow_to_queue(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each listener acks, then takes half a second before it queues its work: Bolt has already
    answered Slack by then, as it may under load."""
    queue = w.h.slack.submit

    def late(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return queue(*args, **kwargs)

    monkeypatch.setattr(w.h.slack, "submit", late)


@pytest.mark.parametrize("finish", ["wait for idle", "stop"])
def test_a_click_acked_before_its_work_was_queued_is_carried_out(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, finish: str
) -> None:
    """Waiting for idle (tests, benchmarks) and a stop both wait for the listeners, then the work."""
    with world(ctx) as w:
        mid, card = w.posted()
        _slow_to_queue(w, monkeypatch)
        result = click_on_message(w.h.sender, card, "send_reply:1", user_id=OFFICER)
        assert result.status == 200
        if finish == "stop":
            w.h.slack.close(drain=15)
        else:
            assert w.h.slack.wait_idle(15)
        assert len(w.fake_x.replies) == 1
        assert mention(ctx, mid).reply_status == "sent"
        assert NOT_CARRIED_OUT not in told(w, result)
