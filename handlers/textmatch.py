"""Short-text similarity for FAQ questions and earlier replies.

People ask the same thing many ways ("how do I get my accident report", "need a copy of the
crash report"), so matching compares content words (lower-cased, lightly stemmed, common words
and words every post to a police account contains removed) and, for spelling variants, character
4-grams of those words. Both are TF-IDF weighted over the indexed texts and compared by cosine.
Pure Python with an inverted index: deterministic, and a query costs microseconds per indexed
text that shares a feature with it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources

WORD_WEIGHT = 0.65  # the rest goes to character 4-grams

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w]+", re.IGNORECASE)


def _load_words() -> tuple[frozenset[str], frozenset[str]]:
    """The stop and weak word lists from handlers/data/textmatch-words.txt."""
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    text = resources.files("handlers").joinpath("data/textmatch-words.txt").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line[1 : line.index("]")], set())
        elif current is not None:
            current.update(line.split())
    return frozenset(sections["stop"]), frozenset(sections["weak"])


_STOP, _WEAK = _load_words()
# Words people use for the same thing in posts to public-safety accounts.
_SAME = {
    "ticket": "citation",
    "car": "vehicle",
    "auto": "vehicle",
    "truck": "vehicle",
    "job": "career",
    "hiring": "career",
    "hire": "career",
    "employment": "career",
    "recruit": "career",
    "recruitment": "career",
    "crash": "accident",
    "collision": "accident",
    "wreck": "accident",
    "impounded": "tow",
    "impound": "tow",
    "hour": "open",
    "copy": "request",
}


def stem(word: str) -> str:
    """A light, predictable stemmer: plurals and -ing/-ed, nothing clever."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4:
        if word.endswith("ies"):
            word = word[:-3] + "y"
        elif word.endswith("ing") and len(word) > 5:
            word = word[:-3]
        elif word.endswith("ed") and not word.endswith("eed"):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    return word


def content_words(text: str) -> list[str]:
    words = []
    for word in _WORD.findall(_NOISE.sub(" ", text.lower())):
        if word in _STOP or (word.isalnum() and not word.isalpha() and word != "911"):
            continue
        word = _SAME.get(word) or _SAME.get(stem(word)) or stem(word)
        if word not in _STOP:
            words.append(word)
    return words


def features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Word and character-4-gram counts of a text's content words."""
    words = content_words(text)
    grams: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        grams.update(padded[i : i + 4] for i in range(len(padded) - 3))
    return Counter(words), grams


class _Space:
    """One TF-IDF vector space with an inverted index over the indexed texts."""

    def __init__(self, counts: Sequence[Counter[str]]) -> None:
        n = len(counts)
        df: Counter[str] = Counter()
        for count in counts:
            df.update(count.keys())
        self.idf = {term: math.log((1 + n) / (1 + d)) + 1.0 for term, d in df.items()}
        # Words no indexed text has are what the rest of the post is about: count them, lightly.
        self.default_idf = 1.0 + 0.25 * math.log(1 + n)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.vectors = [self._unit(count, self.idf) for count in counts]
        for index, vector in enumerate(self.vectors):
            for term, weight in vector.items():
                self.postings.setdefault(term, []).append((index, weight))

    def _unit(self, count: Counter[str], idf: dict[str, float]) -> dict[str, float]:
        vector = {
            t: (1.0 + math.log(c)) * idf.get(t, self.default_idf) * (0.5 if t in _WEAK else 1.0)
            for t, c in count.items()
        }
        norm = math.sqrt(sum(v * v for v in vector.values()))
        return {t: v / norm for t, v in vector.items()} if norm else {}

    def cosines(self, count: Counter[str]) -> tuple[dict[int, float], dict[int, float]]:
        """Per indexed text sharing a term: the cosine, and the share of its weight covered."""
        cosines: dict[int, float] = {}
        covered: dict[int, float] = {}
        for term, weight in self._unit(count, self.idf).items():
            for index, other in self.postings.get(term, ()):
                cosines[index] = cosines.get(index, 0.0) + weight * other
                covered[index] = covered.get(index, 0.0) + other * other
        return cosines, covered

    def cosines_with(self, count: Counter[str], candidates: Iterable[int]) -> dict[int, float]:
        """Cosines with the given indexed texts only (cheaper when they are few)."""
        query = self._unit(count, self.idf)
        result = {}
        for index in candidates:
            vector = self.vectors[index]
            result[index] = sum(weight * vector.get(term, 0.0) for term, weight in query.items())
        return result


class TextIndex:
    """Find the indexed texts most similar to a query; scores are in 0..1."""

    def __init__(self, texts: Iterable[str]) -> None:
        pairs = [features(text) for text in texts]
        self.size = len(pairs)
        self._words = _Space([p[0] for p in pairs])
        self._grams = _Space([p[1] for p in pairs])

    def scores(self, text: str) -> dict[int, float]:
        """Similarity to each indexed text that shares a content word with `text`.

        Half is the cosine (words and character runs); half is how much of the indexed text's
        content the query covers, so a long post that contains a whole short FAQ question
        matches it, and one shared word out of three does not.
        """
        words, grams = features(text)
        cosines, covered = self._words.cosines(words)
        # Only texts sharing a word are candidates: a shared character run alone ("port" in
        # "airport" and "report") is not a match.
        if len(cosines) <= 16:
            by_gram = self._grams.cosines_with(grams, cosines)
        else:
            by_gram = self._grams.cosines(grams)[0]
        scores = {}
        for i, cosine in cosines.items():
            blended = WORD_WEIGHT * cosine + (1 - WORD_WEIGHT) * by_gram.get(i, 0.0)
            scores[i] = min(1.0, (blended + covered[i]) / 2)
        return scores

    def ranked(self, text: str, threshold: float = 0.0) -> list[tuple[int, float]]:
        """(index, score) at or above `threshold`, best first; ties go to the earlier text."""
        found = [(i, s) for i, s in self.scores(text).items() if s >= threshold]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def best(self, text: str, threshold: float = 0.0) -> tuple[int, float] | None:
        ranked = self.ranked(text, threshold)
        return ranked[0] if ranked else None
