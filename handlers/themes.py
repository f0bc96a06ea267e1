"""The themes of a storm: posts that say the same thing, grouped by the sentence vectors triage
computes anyway (`handlers.embeddings`), so a storm of a thousand comments reads as a handful of
points of view.

Grouping is online, one post at a time, because a storm arrives over minutes and its summary is
redrawn while it grows: a post joins the theme whose first post it is closest to when the cosine
similarity is at least JOIN, and otherwise starts a theme of its own (up to MAX_THEMES; after that
it joins no theme and is only counted). A theme's centre stays its first post: a centre averaged
over its members drifts towards what every post of a storm shares (the incident, the police) and
swallows everything; on the benchmark's 975 comments it made one theme of 44% of them. Each theme
keeps the post that stands for it best (the one closest to its centre), which the summary card
quotes. JOIN is 0.7: on the static vectors, rewordings of one complaint score 0.75-0.9, related
complaints ("how many times does this have to happen" and "every time this happens you post the
same empty words") about 0.7, and different points of view about one incident 0.4-0.6.

Questions are handled apart: during a storm the same question asked again and again ("when will
you release the video?") would flood the channel with cards, so a question at least REPEAT
similar to one that already has its own card counts as asked again instead. On the static
sentence vectors, rewordings of one question score 0.87-0.90 and different questions about one
incident at most 0.65, hence 0.8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

JOIN = 0.7
REPEAT = 0.8
MAX_THEMES = 60
MAX_ASKED = 200
DIGITS = 4
Float = npt.NDArray[np.float64]


def _unit(vector: Any) -> Float | None:
    array = np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(array))
    if not np.isfinite(norm) or norm < 1e-9:
        return None  # no word of the post was known: nothing to compare
    return np.asarray(array / norm)


def _listed(vector: Float) -> list[float]:
    return [round(float(x), DIGITS) for x in vector]


@dataclass
class Theme:
    centre: Float  # unit vector of its first post
    count: int
    lead: int  # the mention that stands for the theme
    lead_score: float = 0.0


@dataclass
class Asked:
    """A question shown on a card of its own during the storm, and how often it was asked again."""

    mention_id: int
    vector: Float
    repeats: int = 0


@dataclass
class Themes:
    themes: list[Theme] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)

    # -- grouping ---------------------------------------------------------------------------

    def assign(self, mention_id: int, vector: Any) -> int | None:
        """The index of the theme the post joins (or starts), or None."""
        unit = _unit(vector)
        if unit is None:
            return None
        best, score = self._closest(unit, [t.centre for t in self.themes])
        if best is not None and score >= JOIN:
            theme = self.themes[best]
            theme.count += 1
            if score > theme.lead_score:
                theme.lead, theme.lead_score = mention_id, score
            return best
        if len(self.themes) >= MAX_THEMES:
            return None
        self.themes.append(Theme(unit, 1, mention_id))
        return len(self.themes) - 1

    def repeat_of(self, vector: Any) -> int | None:
        """The mention id of a carded question this one repeats (and count it), or None."""
        unit = _unit(vector)
        if unit is None:
            return None
        best, score = self._closest(unit, [a.vector for a in self.asked])
        if best is None or score < REPEAT:
            return None
        self.asked[best].repeats += 1
        return self.asked[best].mention_id

    def ask(self, mention_id: int, vector: Any) -> None:
        """Remember a question that gets a card of its own."""
        unit = _unit(vector)
        if unit is not None and len(self.asked) < MAX_ASKED:
            self.asked.append(Asked(mention_id, unit))

    @staticmethod
    def _closest(unit: Float, centres: list[Float]) -> tuple[int | None, float]:
        best, score = None, -1.0
        for index, centre in enumerate(centres):
            if centre.shape != unit.shape:
                continue  # stored with another sentence encoder: not comparable
            similarity = float(centre @ unit)
            if similarity > score:
                best, score = index, similarity
        return best, score

    # -- reading ----------------------------------------------------------------------------

    def top(self, n: int) -> list[tuple[int, Theme]]:
        """The `n` themes with the most posts, most first (ties: the older theme)."""
        ranked = sorted(enumerate(self.themes), key=lambda pair: (-pair[1].count, pair[0]))
        return ranked[:n]

    def repeated(self) -> list[Asked]:
        """Carded questions that were asked again, most repeated first."""
        return sorted((a for a in self.asked if a.repeats), key=lambda a: -a.repeats)

    # -- storage ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "themes": [
                {"c": _listed(t.centre), "n": t.count, "lead": t.lead, "s": round(t.lead_score, DIGITS)}
                for t in self.themes
            ],
            "asked": [{"id": a.mention_id, "v": _listed(a.vector), "r": a.repeats} for a in self.asked],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Themes:
        """Read back what `to_json` wrote; anything malformed is left out rather than failing a sweep."""
        found = cls()
        if not isinstance(data, Mapping):
            return found
        for item in data.get("themes") or []:
            try:
                centre = _unit(item["c"])
                if centre is not None:
                    found.themes.append(Theme(centre, int(item["n"]), int(item["lead"]), float(item["s"])))
            except (KeyError, TypeError, ValueError):
                continue
        for item in data.get("asked") or []:
            try:
                vector = _unit(item["v"])
                if vector is not None:
                    found.asked.append(Asked(int(item["id"]), vector, int(item["r"])))
            except (KeyError, TypeError, ValueError):
                continue
        return found
