"""Posting at Slack's pace: about one message per second per channel, short bursts allowed.

Every message the outbox posts takes a turn in its channel: a token bucket holding BURST
messages, refilled at one per INTERVAL. Posts to one channel are made one at a time (the turn
is held while Slack answers), so two threads never race each other into a 429. A 429 holds the
channel for its `Retry-After` before anyone may post there again.

Pacing is per process: exactly one process posts to the review channel (the one running the
scheduler, see `bot.app.scheduler`); listeners in web processes only redraw, DM and answer
ephemerally. The bucket uses the monotonic clock, not `ctx.clock`: Slack's limit is real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

INTERVAL = 1.0  # seconds per message in one channel
BURST = 2  # messages one channel may take at once after a quiet spell (below what Slack allows)


@dataclass
class _Channel:
    tokens: float
    at: float  # when `tokens` was counted
    held_until: float = 0.0
    lock: threading.Lock | None = None


class Pacer:
    """Per-channel turns for posting; one per process (`ctx.state(Pacer)`)."""

    def __init__(
        self,
        interval: float = INTERVAL,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval, self.burst = interval, burst
        self.clock, self.sleep = clock, sleep
        self._guard = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self.waited = 0.0  # seconds spent waiting for turns, for the benchmark

    def _channel(self, channel: str) -> _Channel:
        with self._guard:
            found = self._channels.get(channel)
            if found is None:
                found = self._channels[channel] = _Channel(
                    float(self.burst), self.clock(), lock=threading.Lock()
                )
            return found

    @contextmanager
    def turn(self, channel: str) -> Iterator[None]:
        """Wait until `channel` may take a message, then hold it while the message is posted."""
        state = self._channel(channel)
        assert state.lock is not None
        with state.lock:
            while True:
                now = self.clock()
                with self._guard:
                    wait = self._wait(state, now)
                    if wait <= 0:
                        state.tokens -= 1.0
                        break
                self.waited += wait
                self.sleep(wait)
            yield

    def _wait(self, state: _Channel, now: float) -> float:
        """Seconds until the channel has a token (refilling it first); under `_guard`."""
        if self.interval <= 0:  # unpaced (tests that are not about pacing): only holds apply
            state.tokens, state.at = float(self.burst), now
            return state.held_until - now
        tokens = min(float(self.burst), state.tokens + (now - state.at) / self.interval)
        state.tokens, state.at = tokens, now
        return max(state.held_until - now, (1.0 - tokens) * self.interval if tokens < 1 else 0.0)

    def hold(self, channel: str, seconds: float) -> None:
        """Slack said 429: nobody posts to `channel` for `seconds`, and the burst is spent."""
        state = self._channel(channel)
        now = self.clock()
        with self._guard:
            state.held_until = max(state.held_until, now + max(seconds, 0.0))
            state.tokens, state.at = 0.0, now

    def free_in(self, channel: str) -> float:
        """Seconds until `channel` may take a message (0 when it may now)."""
        state = self._channel(channel)
        with self._guard:
            return max(0.0, self._wait(state, self.clock()))
