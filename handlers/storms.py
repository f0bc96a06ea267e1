"""When a thread or an account is storming: the rule, as plain arithmetic on counts.

A storm is a burst far above what an account normally gets. The rule compares the mentions
posted in the last WINDOW (10 minutes) with the account's normal rate, its mentions per WINDOW
averaged over the BASELINE_DAYS (7) before that window:

- a thread (one post's comments, one conversation on X) storms when the last 10 minutes brought
  it at least `max(minimum, ceil(multiple × normal))` mentions (defaults: 10 times normal, and
  never fewer than 30);
- an account storms when its mentions outside the storming threads reach the same level;
- a storm ends once it has lasted a whole window and the last window brought fewer than half
  the mentions that started it (the level is kept from the start, so a storm does not flap);
- a thread at a third of the level is warming up: the cards of its compliments, criticism and
  other posts wait up to 30 seconds, long enough for the next poll to tell whether it storms.

Admins change `multiple` and `minimum` with `/twoway set storm_threshold MULTIPLEx [MINIMUM]`, or
turn detection off. Counting is by the time a post was made on the platform, so reading a day
of backlog after an outage is not mistaken for a storm.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.themes import Themes

WINDOW = timedelta(minutes=10)
BASELINE_DAYS = 7
WINDOWS_IN_BASELINE = int(timedelta(days=BASELINE_DAYS) / WINDOW)
DEFAULT_MULTIPLE = 10.0
DEFAULT_MINIMUM = 30
CALM_SHARE = 0.5
WARM_SHARE = 1 / 3  # a thread at a third of the storm level is warming up
HOLD = timedelta(seconds=30)  # how long a warming thread's ordinary cards wait for the verdict
MIN_MULTIPLE, MAX_MULTIPLE = 2.0, 1000.0
MIN_MINIMUM, MAX_MINIMUM = 5, 100_000
USAGE = "`/twoway set storm_threshold 10x` (times the normal rate), `10x 40` (and at least 40 in 10 minutes), or `off`"

_MULTIPLE = re.compile(r"^(\d+(?:\.\d+)?)\s*[x×]?$", re.IGNORECASE)


@dataclass(frozen=True)
class StormRule:
    """How far above normal a burst must be to count as a storm."""

    multiple: float = DEFAULT_MULTIPLE
    minimum: int = DEFAULT_MINIMUM

    def level(self, normal: float) -> int:
        """Mentions in one window that start a storm, for an account whose normal per window is `normal`."""
        return max(self.minimum, math.ceil(self.multiple * max(normal, 0.0)))

    def starts(self, count: int, normal: float) -> bool:
        return count >= self.level(normal)

    def warming(self, count: int, normal: float) -> bool:
        """A third of the way to a storm: its compliments, criticism and other posts wait HOLD
        before their cards go out, so a storm recognised at the next poll gathers them instead
        of the channel getting the first dozen one by one (urgent posts and questions never wait)."""
        return count >= max(1, math.ceil(self.level(normal) * WARM_SHARE))

    def as_setting(self) -> dict[str, float | int]:
        return {"multiple": self.multiple, "minimum": self.minimum}

    def describe(self) -> str:
        multiple = f"{self.multiple:g}"
        return (
            f"{multiple}× the account's normal rate, and at least {self.minimum} mentions "
            f"in {int(WINDOW.total_seconds() // 60)} minutes"
        )


def calmed(count: int, level: int) -> bool:
    """True when a window with `count` mentions ends a storm that started at `level`."""
    return count < max(1, math.ceil(level * CALM_SHARE))


def normal_rate(count_in_baseline: int) -> float:
    """Mentions per window, averaged over the baseline days."""
    return count_in_baseline / WINDOWS_IN_BASELINE


def rule_from_setting(value: object) -> StormRule | None:
    """The stored setting as a rule: None when detection is off; defaults for a missing or odd value."""
    if value is False:
        return None
    if not isinstance(value, dict):
        return StormRule()
    try:
        multiple = float(value.get("multiple", DEFAULT_MULTIPLE))
        minimum = int(value.get("minimum", DEFAULT_MINIMUM))
    except (TypeError, ValueError):
        return StormRule()
    if not (MIN_MULTIPLE <= multiple <= MAX_MULTIPLE and MIN_MINIMUM <= minimum <= MAX_MINIMUM):
        return StormRule()
    return StormRule(multiple, minimum)


def parse_rule(text: str) -> StormRule | None:
    """`10x`, `10x 40`, `10 40` or `off`; raises ValueError saying what is wrong."""
    words = text.lower().split()
    if words == ["off"]:
        return None
    if not 1 <= len(words) <= 2:
        raise ValueError(f"give the multiple, and optionally a minimum: {USAGE}")
    match = _MULTIPLE.match(words[0])
    if match is None:
        raise ValueError(f"`{words[0][:20]}` is not a multiple like `10x`: {USAGE}")
    multiple = float(match.group(1))
    if not MIN_MULTIPLE <= multiple <= MAX_MULTIPLE:
        raise ValueError(f"the multiple is between {MIN_MULTIPLE:g}x and {MAX_MULTIPLE:g}x")
    minimum = DEFAULT_MINIMUM
    if len(words) == 2:
        if not words[1].isdigit():
            raise ValueError(f"`{words[1][:20]}` is not a number of mentions: {USAGE}")
        minimum = int(words[1])
        if not MIN_MINIMUM <= minimum <= MAX_MINIMUM:
            raise ValueError(f"the minimum is between {MIN_MINIMUM} and {MAX_MINIMUM:,} mentions")
    return StormRule(multiple, minimum)


@dataclass(frozen=True)
class Placement:
    """Where one mention of a storm is shown, and its theme."""

    gathered: bool  # on the summary card (False: a card of its own)
    theme: int | None
    repeats: int | None = None  # the carded question this one asks again


def place(themes: Themes, mention_id: int, category: str | None, urgent: bool, vector: Any) -> Placement:
    """During a storm, urgent posts and new questions keep cards of their own; a question asked
    again, and every compliment, criticism and other post, is gathered on the summary card."""
    theme = themes.assign(mention_id, vector) if vector is not None else None
    if urgent:
        return Placement(False, theme)
    if category == "question":
        repeated = themes.repeat_of(vector) if vector is not None else None
        if repeated is not None:
            return Placement(True, theme, repeated)
        if vector is not None:
            themes.ask(mention_id, vector)
        return Placement(False, theme)
    return Placement(True, theme)
