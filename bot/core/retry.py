"""Backing off after failures: one rule for polls and for accounts waiting to be identified."""

from __future__ import annotations

from datetime import timedelta

MAX_BACKOFF = timedelta(hours=1)


def backoff(failures: int, base_seconds: int) -> timedelta:
    """Wait 1, 2, 4... base intervals after consecutive failures, never more than an hour."""
    steps = max(failures - 1, 0)
    if steps >= 16:
        return MAX_BACKOFF
    return min(timedelta(seconds=base_seconds * 2**steps), MAX_BACKOFF)
