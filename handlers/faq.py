"""Match a mention to the agency's own FAQ, so its approved answer becomes the first draft."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from handlers.textmatch import TextIndex

# Below this, the best FAQ often shares one word with the post but answers another question:
# a wrong answer offered first is worse than none (see tests/handlers/test_faq.py).
FAQ_THRESHOLD = 0.42


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: int
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class FaqMatch:
    faq: FaqEntry
    score: float


class FaqIndex:
    """The agency's FAQ questions, indexed once and matched against many mentions."""

    def __init__(self, faqs: Sequence[FaqEntry]) -> None:
        self.faqs = tuple(faqs)
        self._index = TextIndex(faq.question for faq in self.faqs)

    def match(self, text: str, threshold: float = FAQ_THRESHOLD) -> FaqMatch | None:
        best = self._index.best(text, threshold)
        if best is None:
            return None
        return FaqMatch(self.faqs[best[0]], round(best[1], 3))


@lru_cache(maxsize=8)
def faq_index(faqs: tuple[FaqEntry, ...]) -> FaqIndex:
    """A cached index: a triage sweep drafts thousands of mentions against the same FAQ."""
    return FaqIndex(faqs)


def match_faq(text: str, faqs: Sequence[FaqEntry], threshold: float = FAQ_THRESHOLD) -> FaqMatch | None:
    """The FAQ whose question is most like `text`, when it is similar enough."""
    if not faqs or not text.strip():
        return None
    return faq_index(tuple(faqs)).match(text, threshold)
