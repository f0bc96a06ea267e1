"""Posting at Slack's pace: the pacer's turns, and the outbox against a fake Slack that enforces
Slack's per-channel rate (real HTTP, real slack_sdk)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bot.core.context import Context
from bot.slack import outbox
from bot.slack.pace import Pacer
from tests.conftest import paced
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import slack_client


@dataclass
class Ticks:
    """A monotonic clock that moves only when the pacer sleeps."""

    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_a_channel_takes_a_short_burst_then_one_message_per_interval() -> None:
    ticks = Ticks()
    pacer = Pacer(interval=1.0, burst=2, clock=ticks.clock, sleep=ticks.sleep)
    for _ in range(4):
        with pacer.turn("C1"):
            pass
    assert ticks.slept == [1.0, 1.0]  # two at once, then one a second
    with pacer.turn("C2"):
        pass  # another channel is not held up by the first
    assert ticks.slept == [1.0, 1.0]


def test_a_429_holds_the_channel_for_its_retry_after() -> None:
    ticks = Ticks()
    pacer = Pacer(interval=1.0, burst=2, clock=ticks.clock, sleep=ticks.sleep)
    pacer.hold("C1", 7.0)
    assert pacer.free_in("C1") == 7.0
    with pacer.turn("C1"):
        pass
    assert ticks.slept == [7.0]
    assert pacer.free_in("C2") == 0.0


class _Claim:
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def posted(self, sent: outbox.Sent) -> None:
        self.outcomes.append("posted")

    def refused(self, sent: outbox.Sent) -> None:
        self.outcomes.append("refused:" + sent.error)

    def unknown(self, sent: outbox.Sent) -> None:
        self.outcomes.append("unknown")


def test_posting_faster_than_slack_allows_is_paced_and_nothing_is_refused(ctx: Context) -> None:
    with FakeSlack() as fake:
        fake.enforce_rate_limits(per_channel_per_second=1.0, burst=3)
        ctx.slack = slack_client(fake)
        paced(ctx)
        claims = [_Claim() for _ in range(5)]
        start = time.monotonic()
        for n, claim in enumerate(claims):
            outbox.deliver(ctx, claim, outbox.Message("C0PACED", f"message {n}"))
        took = time.monotonic() - start
        assert [c.outcomes for c in claims] == [["posted"]] * 5
        assert fake.rate_limited == []
        assert [m.text for m in fake.messages("C0PACED")] == [f"message {n}" for n in range(5)]
        assert took >= 2.9  # a burst of two, then one a second


def test_posts_from_several_threads_to_one_channel_take_turns(ctx: Context) -> None:
    with FakeSlack() as fake:
        fake.enforce_rate_limits(per_channel_per_second=1.0, burst=3)
        ctx.slack = slack_client(fake)
        paced(ctx)
        claims = [_Claim() for _ in range(4)]
        threads = [
            threading.Thread(target=outbox.deliver, args=(ctx, c, outbox.Message("C0PACED", f"m{n}")))
            for n, c in enumerate(claims)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert [c.outcomes for c in claims] == [["posted"]] * 4
        assert fake.rate_limited == []
        assert len(fake.messages("C0PACED")) == 4


def test_a_429_is_waited_out_and_the_message_posted_once(ctx: Context) -> None:
    with FakeSlack() as fake:
        ctx.slack = slack_client(fake)
        pacer = paced(ctx)
        limited = Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        fake.fail_next(r"chat\.postMessage$", limited)
        claim = _Claim()
        start = time.monotonic()
        outbox.deliver(ctx, claim, outbox.Message("C0PACED", "after the wait"))
        assert claim.outcomes == ["posted"]
        assert time.monotonic() - start >= 0.95  # Retry-After was obeyed
        assert pacer.waited >= 0.95
        assert [m.text for m in fake.messages("C0PACED")] == ["after the wait"]
        assert len(fake.api_calls("chat.postMessage")) == 2


def test_a_long_retry_after_is_not_waited_for_inline_but_holds_the_channel(ctx: Context) -> None:
    with FakeSlack() as fake:
        ctx.slack = slack_client(fake)
        pacer = paced(ctx)
        limited = Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "600"})
        fake.fail_next(r"chat\.postMessage$", limited)
        claim = _Claim()
        sent = outbox.deliver(ctx, claim, outbox.Message("C0PACED", "too soon"))
        assert sent.rate_limited
        assert claim.outcomes == ["refused:ratelimited"]  # nothing was posted: a later sweep retries
        assert fake.messages("C0PACED") == []
        assert pacer.free_in("C0PACED") > 590
