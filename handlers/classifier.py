"""The category of a post (compliment, question, criticism, other), its confidence and urgency.

A linear model over TF-IDF word 1-2-grams, the hand-built cues of `handlers.features` (requests,
praise, sarcasm, hostility, link shares...) and a sentence vector from `handlers.embeddings`
(what the post means, beyond its exact words). It is fitted from the examples of
`handlers.examples` (written by the TwoWay team; every setting chosen by leaving one batch out,
`bench/grouped_cv.py`) and ships fitted, as `data/base-model.bin`: nothing is downloaded, the
same examples always give the same model, and a process that only classifies never imports
scikit-learn. An agency model is the base model plus a layer learnt from the staff's labels
alone: n-gram and sentence-vector weights added to the base model's log-probabilities
(`handlers.residual`). Both are stored as JSON bytes of their fitted numbers and the name of
their sentence encoder (no pickle); an agency model carries its base model inside, so it stays
what it was judged to be when a later release ships another base model.

Every text is read as `reply_body`: without the @handles a platform puts in front of a reply and
a trailing t.co link (a photo or quoted post), which the writer never typed and which written
examples had taught the model to read as "other".

Compliment is the only class guarded after the model: a "thank you" sent to an angry complaint
is the worst error TwoWay can make, so compliment needs a clear margin and no sign of sarcasm,
hostility or a request; otherwise the runner-up class wins. `unsure` says when a judgement is a
coin toss (the card says so and the drafts stay neutral). Urgency is `handlers.urgency`: rules
and cue families, then a learned layer over the same n-grams and sentence vector, for every post
whatever its category; a post that may be an emergency without being flagged carries a reason,
so that its drafts lead with the 911 line.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from scipy import sparse
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from domain import CATEGORIES, Category, Triage
from handlers import embeddings, features, residual
from handlers.examples import category_examples, urgency_examples
from handlers.urgency import FOREIGN_REASON, verdict

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_MODEL = DATA / "base-model.bin"  # `python scripts/build_base_model.py` rewrites it
FORMAT = 4  # 2 added the sentence vector, 4 the urgency layer (3 is format 2 with an agency layer)
LAYERED = 5  # an agency model: format 4 plus the layer learnt from the staff's labels
FOREIGN = features.DENSE_NAMES.index("foreign")
Float = npt.NDArray[np.float64]

# Chosen by leaving one batch of examples out at a time (`bench/grouped_cv.py`):
COMPLIMENT_MIN = 0.72  # the lowest P(compliment) whose compliments were right 95% of the time in-domain
UNSURE_BELOW = 0.5  # below it, the category was wrong more often than right: the card says unsure
UNSURE_MARGIN = 0.2  # ... and so was it when the runner-up came this close
FOREIGN_CONFIDENCE = 0.35  # posts in another language keep their category but say they are unsure
AMBIGUOUS_CONFIDENCE = 0.35  # so do 🙏 or 💯 alone (features.only_ambiguous_emoji)
DENSE_WEIGHT = 0.6  # scale of the standardised cues next to the L2-normalised n-gram blocks
VECTOR_WEIGHT = 0.5  # scale of the L2-normalised sentence vector (0.5, 1 and 2 tried)
C = 16.0  # 1, 2, 4, 8, 16 and 32 tried
PROBABILITY_FLOOR = 1e-6  # keeps the base model's log-probabilities finite
LAYER_VECTOR_WEIGHT = 1.0  # the sentence vector in an agency layer (0.5 / 1 / 1.5 / 2 tried in 5-fold runs)
LAYER_MIN_DF = 2  # an n-gram the staff used once says little (fair dev splits: 0.729 against 0.720 with 1)

_URL_TOKEN = re.compile(r"https?://\S+|\bwww\.\S+")
_HANDLE_TOKEN = re.compile(r"@\w+")
WORD_PARAMS: dict[str, Any] = {
    "lowercase": True,
    "token_pattern": r"(?u)\b\w[\w']*\b|[!?]|[^\w\s]",
    "ngram_range": (1, 2),
}

# Character n-grams were tried and dropped: on our examples they added noise and halved the speed.
# n-grams seen in one example only are left out (leave-one-batch-out 0.773 against 0.766).
BLOCKS: tuple[tuple[dict[str, Any], int], ...] = ((WORD_PARAMS, 2),)
ALARM_C = 3.0  # the urgency layer's inverse L2 strength (1, 3 and 10 tried by leaving a batch out)
ALARM_VECTOR_WEIGHT = 1.0
# Fits run to the optimum, not to where scikit-learn's default tolerance (1e-4) stops: that stop
# moved probabilities by up to 0.07 from the optimum and by 0.005 between two CPUs' BLAS kernels,
# so the shipped model could not be refitted identically on another machine; at 1e-8 two kernels
# agree within 1e-5 (about 2.5 times the fitting time).
TOL = 1e-8


# What a platform adds to the text of a post that its writer never typed. An X or Threads client
# puts the @handles of everyone in the thread in front of a reply, and X appends a t.co link for an
# attached photo, video or quoted post. In written examples a leading handle mostly marks talk to
# another user and a trailing link a news share (both "other"), so, leaving a batch out, two
# handles in front took in-domain macro-F1 from 0.853 to 0.714 and a photo link to about 0.67;
# read without them it is 0.849 whatever is added (docs/triage.md, "Fifth round").
_REPLY_HANDLES = re.compile(r"^(?:\s*\.?@\w{1,50}[,:]?)+\s+(?=[^\s@.])")
_MEDIA_LINK = re.compile(r"(?<=\S)\s+https?://t\.co/\w+\s*$")
_LINK_ONLY = re.compile(r"\s*https?://t\.co/\w+\s*")
_SURROGATE = re.compile("[\ud800-\udfff]")


# X sends (and its archive exports) a post's text HTML-escaped; other exports escape quotes too.
# The connectors decode what they read, but a file given to `twoway eval` or as corrections may not.
_ESCAPED = re.compile(r"&(amp|lt|gt|quot|apos|#39|#x27);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "#39": "'", "#x27": "'"}


def reply_body(text: str) -> str:
    """The post as its writer typed it: without the handles in front of a reply and a trailing
    t.co link (a photo or a shared page: which, the text cannot say), and without HTML escapes
    ("Me &amp; my kids"). A post that is nothing else is kept whole. A handle a sentence starts
    with ("@MayorOfLA fix this") goes too."""
    text = _ESCAPED.sub(lambda m: _UNESCAPED[m.group(1)], text)
    body = _MEDIA_LINK.sub("", _REPLY_HANDLES.sub("", text, count=1))
    return text if _LINK_ONLY.fullmatch(body) else body


# Real posts are typed in a hurry more often than written examples are: no apostrophes, no
# sentence punctuation, no capitals. The model also learns every example as it would be typed so
# (`hurried`): leaving a batch out, macro-F1 0.857 against 0.854 in-domain, compliment recall
# 0.768 against 0.756 at the same precision, and on posts typed in a hurry about 0.015 better
# (docs/triage.md, "Tenth round").
_SENTENCE_PUNCTUATION = re.compile(r"[?!.,;:]+(?=\s|$)")
_BLANKS = re.compile(r"[ \t]+")


def hurried(text: str) -> str:
    """The post as someone in a hurry types it: lower case, "dont", no full stops or question marks."""
    text = text.lower().replace("'", "").replace("’", "")
    return _BLANKS.sub(" ", _SENTENCE_PUNCTUATION.sub(" ", text)).strip()


def _with_hurried(texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
    """The examples, then each one typed in a hurry where that changes it."""
    extra = [(h, label) for text, label in zip(texts, labels, strict=True) if (h := hurried(text)) != text]
    return texts + [h for h, _ in extra], labels + [label for _, label in extra]


def _bodies(texts: Sequence[str]) -> list[str]:
    # a lone surrogate (a half emoji from a bad JSON escape) would stop the tokenizer
    return [reply_body(_SURROGATE.sub("\ufffd", t)) for t in texts]


def _word_grams(texts: Sequence[str]) -> list[list[str]]:
    """Each text's word n-grams (WORD_PARAMS), computed once for every block that reads them."""
    return [_WORD_ANALYSE(_normalise(t)) for t in texts]


def _analyser(params: dict[str, Any]) -> Callable[[str], list[str]]:
    """scikit-learn's word analyser: lowercase, the token pattern, then n-grams joined by spaces."""
    pattern = re.compile(params["token_pattern"])
    low, high = params["ngram_range"]
    lowercase = params.get("lowercase", True)

    def analyse(text: str) -> list[str]:
        tokens: list[str] = pattern.findall(text.lower() if lowercase else text)
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        return grams

    return analyse


_WORD_ANALYSE = _analyser(WORD_PARAMS)


def _normalise(text: str) -> str:
    text = _URL_TOKEN.sub(" httpurl ", text.replace("’", "'"))
    return _HANDLE_TOKEN.sub(" @user ", text)


@dataclass
class _Block:
    """One TF-IDF block: fixed vocabulary and idf, sublinear tf, L2-normalised rows. It is given
    the posts as written and normalises them (URLs, handles) only when it must analyse them."""

    params: dict[str, Any]
    vocabulary: dict[str, int]
    idf: Float

    def counts(self, texts: Sequence[str], analysed: Sequence[list[str]] | None = None) -> sparse.csr_matrix:
        """What scikit-learn's CountVectorizer gives for this vocabulary, without importing
        scikit-learn, which alone would add about 85 MB to every process that classifies.
        `analysed`: the texts' n-grams when the caller already has them (same params)."""
        if analysed is None:
            analyse = _analyser(self.params)
            analysed = [analyse(_normalise(text)) for text in texts]
        indptr, indices, values = [0], [], []
        for grams in analysed:
            found = Counter(i for i in map(self.vocabulary.get, grams) if i is not None)
            for index in sorted(found):
                indices.append(index)
                values.append(found[index])
            indptr.append(len(indices))
        shape = (len(texts), len(self.vocabulary))
        return sparse.csr_matrix((np.asarray(values, dtype=np.float64), indices, indptr), shape=shape)

    def transform(
        self, texts: Sequence[str], analysed: Sequence[list[str]] | None = None
    ) -> sparse.csr_matrix:
        counts = self.counts(texts, analysed if analysed is not None and self.params == WORD_PARAMS else None)
        counts.data = 1.0 + np.log(counts.data)
        weighted = sparse.csr_matrix(counts.multiply(self.idf[np.newaxis, :]))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ weighted)

    @classmethod
    def fit(cls, params: dict[str, Any], texts: Sequence[str], min_df: int) -> _Block:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=min_df, **params)
        vectorizer.fit([_normalise(t) for t in texts])
        vocabulary = {term: int(i) for term, i in sorted(vectorizer.vocabulary_.items())}
        return cls(params, vocabulary, np.asarray(vectorizer.idf_, dtype=np.float64))

    @classmethod
    def fit_or_empty(cls, params: dict[str, Any], texts: Sequence[str], min_df: int) -> _Block:
        """`fit`, or a block without n-grams when no n-gram is in `min_df` texts (a few short labels)."""
        analyse = _analyser(params)
        seen = Counter(gram for text in texts for gram in set(analyse(_normalise(text))))
        if not any(count >= min_df for count in seen.values()):
            return cls(params, {}, np.zeros(0))
        return cls.fit(params, texts, min_df)


@dataclass
class _Alarm:
    """The learned urgency layer: P(urgent) from the model's n-gram block and sentence vector.

    It reads the same TF-IDF numbers and sentence vector the category model computes, so it costs
    one more dot product per post. Fitted on the emergencies and look-alikes of
    `data/urgency/` and the urgent flags of the category examples."""

    coef: Float  # one weight per n-gram of the first block, then one per vector dimension
    intercept: float

    def probability(self, grams: sparse.csr_matrix, vectors: Float) -> Float:
        if grams.shape[0] == 0:
            return np.zeros(0)
        n = grams.shape[1]
        logits = np.asarray(grams @ self.coef[:n]).ravel()
        logits += vectors @ self.coef[n:] * ALARM_VECTOR_WEIGHT + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    def state(self) -> dict[str, Any]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept}


@dataclass
class _Layer:
    """What an agency model adds to its base model, fitted on the staff's labels only.

    It adds weights over n-grams of the staff's examples and the sentence vector to the base
    model's log-probabilities. The hand-built cues are left out: the base model already weighs
    them, and feeding them again cost 0.03 macro-F1 in 5-fold runs on the dev file."""

    block: _Block
    coef: Float  # one row per category, in the base model's order
    intercept: Float
    n_examples: int

    def probabilities(
        self, texts: Sequence[str], prior: Float, vectors: Float, analysed: Sequence[list[str]] | None = None
    ) -> Float:
        design = _layer_design(self.block, texts, vectors, analysed)
        logits = _offset(prior) + np.asarray(design @ self.coef.T)
        return _softmax(logits, self.intercept)

    def state(self) -> dict[str, Any]:
        return {
            "block": _block_state(self.block),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "n_examples": self.n_examples,
        }


def _offset(prior: Float) -> Float:
    return np.asarray(np.log(np.clip(prior, PROBABILITY_FLOOR, 1.0)))


def _layer_design(
    block: _Block, texts: Sequence[str], vectors: Float, analysed: Sequence[list[str]] | None = None
) -> sparse.csr_matrix:
    parts = [
        block.transform(texts, analysed),
        sparse.csr_matrix(vectors * LAYER_VECTOR_WEIGHT),
    ]
    return sparse.csr_matrix(sparse.hstack(parts, format="csr"))


def _block_state(block: _Block) -> dict[str, Any]:
    return {"params": block.params, "vocabulary": block.vocabulary, "idf": block.idf.tolist()}


def _block_from(state: dict[str, Any]) -> _Block:
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()}
    return _Block(params, state["vocabulary"], np.asarray(state["idf"], dtype=np.float64))


@dataclass(frozen=True)
class Judged:
    """A batch's triage, and the sentence vector of each text (rows in the same order)."""

    triages: list[Triage]
    vectors: Float


class Classifier:
    """A fitted model: n-gram blocks, cue scaling and linear weights per category, and for an
    agency model the layer learnt from the staff's labels on top."""

    def __init__(
        self,
        blocks: list[_Block],
        dense_mean: Float,
        dense_scale: Float,
        coef: Float,
        intercept: Float,
        classes: Sequence[str],
        n_examples: int,
        encoder: str,
        layer: _Layer | None = None,
        alarm: _Alarm | None = None,
    ) -> None:
        self.blocks = blocks
        self.dense_mean = dense_mean
        self.dense_scale = dense_scale
        self.coef = coef
        self.intercept = intercept
        if set(classes) != set(CATEGORIES):
            raise ValueError(f"a model must know every category, not just {', '.join(classes)}")
        self.classes = cast(tuple[Category, ...], tuple(classes))
        self.layer = layer
        self.base_n_examples = n_examples
        self.n_examples = (
            n_examples if layer is None else layer.n_examples
        )  # an agency model counts its labels
        self.encoder = encoder
        self._vectors = embeddings.load(encoder)
        self.alarm = alarm
        if alarm is not None and alarm.coef.shape != (len(blocks[0].vocabulary) + self._vectors.dimensions,):
            raise ValueError("the urgency layer does not fit its base model")
        if layer is not None:
            columns = len(layer.block.vocabulary) + self._vectors.dimensions
            if layer.coef.shape != (len(self.classes), columns) or layer.intercept.shape != (
                len(self.classes),
            ):
                raise ValueError("the agency layer does not fit its base model")

    # -- judging -------------------------------------------------------------------------------

    def classify(self, text: str, parent_text: str | None = None) -> Triage:
        return self.judge([text], [parent_text]).triages[0]

    def classify_many(self, texts: Sequence[str]) -> list[Triage]:
        return self.judge(texts, [None] * len(texts)).triages

    def judge(self, texts: Sequence[str], parents: Sequence[str | None]) -> Judged:
        """Judge a batch (replies with the post they answer) and keep the sentence vectors
        computed on the way, which group a storm's posts into themes (`handlers.themes`)."""
        bodies = _bodies(texts)
        vectors = self._vectors.encode(bodies)
        return Judged(
            self._judge(bodies, [p if p is None else reply_body(p) for p in parents], vectors), vectors
        )

    def vectors(self, texts: Sequence[str]) -> Float:
        """The sentence vectors triage judges with, one unit row per text."""
        return self._vectors.encode(_bodies(texts))

    def probabilities(self, texts: Sequence[str]) -> Float:
        """Rows of P(category) in the order of `self.classes`, before any guard."""
        bodies = _bodies(texts)
        return self._probabilities(bodies, _cues(bodies), self._vectors.encode(bodies))

    def _probabilities(
        self,
        texts: Sequence[str],
        cues: Float,
        vectors: Float,
        grams: list[sparse.csr_matrix] | None = None,
        analysed: Sequence[list[str]] | None = None,
    ) -> Float:
        if not texts:
            return np.zeros((0, len(self.classes)))
        with _one_thread():
            if analysed is None and (grams is None or self.layer is not None):
                analysed = _word_grams(texts)
            grams = grams if grams is not None else self._grams(texts, analysed)
            design = _design(grams, self.dense_mean, self.dense_scale, cues, vectors)
            base = _softmax(design @ self.coef.T, self.intercept)
            if self.layer is None:
                return base
            return self.layer.probabilities(texts, base, vectors, analysed)

    def _grams(
        self, texts: Sequence[str], analysed: Sequence[list[str]] | None = None
    ) -> list[sparse.csr_matrix]:
        return [b.transform(texts, analysed) for b in self.blocks]

    def alarm_probabilities(self, texts: Sequence[str]) -> Float:
        """P(urgent) of the learned urgency layer for each text (zeros when the model has none)."""
        bodies = _bodies(texts)
        return self._alarms(self._grams(bodies), self._vectors.encode(bodies))

    def _alarms(self, grams: list[sparse.csr_matrix], vectors: Float) -> Float:
        if self.alarm is None:
            return np.zeros(len(vectors))
        with _one_thread():
            return self.alarm.probability(grams[0], vectors)

    def with_layer(self, layer: _Layer | None) -> Classifier:
        """This model's base with `layer` on top (None: the base model alone); the base is shared."""
        if layer is not None and self.layer is not None:
            raise ValueError("an agency model cannot be the base of another")
        return Classifier(
            self.blocks,
            self.dense_mean,
            self.dense_scale,
            self.coef,
            self.intercept,
            self.classes,
            self.base_n_examples,
            self.encoder,
            layer,
            self.alarm,
        )

    def base(self) -> Classifier:
        """The base model under an agency layer (itself when there is none)."""
        return self if self.layer is None else self.with_layer(None)

    def _judge(
        self, texts: list[str], parents: list[str | None], vectors: Float | None = None
    ) -> list[Triage]:
        cues = _cues(texts)
        vectors = self._vectors.encode(texts) if vectors is None else vectors
        analysed = _word_grams(texts)  # the base blocks and an agency layer read the same n-grams
        with _one_thread():
            grams = self._grams(texts, analysed)
        probabilities = self._probabilities(texts, cues, vectors, grams, analysed)
        alarms = self._alarms(grams, vectors)
        foreign = cues[:, FOREIGN] if texts else np.zeros(0)
        return [
            _decide(text, parent, row, self.classes, float(share), float(alarm))
            for text, parent, row, share, alarm in zip(
                texts, parents, probabilities, foreign, alarms, strict=True
            )
        ]

    # -- persistence ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Compressed JSON of the fitted numbers: safe to store and load, unlike a pickle."""
        state: dict[str, Any] = {
            "format": FORMAT if self.layer is None else LAYERED,
            "blocks": [_block_state(b) for b in self.blocks],
            "dense_names": list(features.DENSE_NAMES),
            "dense_mean": self.dense_mean.tolist(),
            "dense_scale": self.dense_scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "classes": list(self.classes),
            "n_examples": self.base_n_examples,
            "encoder": self.encoder,
        }
        if self.alarm is not None:
            state["alarm"] = self.alarm.state()
        if self.layer is not None:
            state["layer"] = self.layer.state()
        return zlib.compress(json.dumps(state, separators=(",", ":")).encode(), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Classifier:
        try:
            state = json.loads(zlib.decompress(blob))
        except (zlib.error, ValueError) as exc:
            raise ValueError("not a TwoWay classifier model") from exc
        if not isinstance(state, dict):
            raise ValueError("not a TwoWay classifier model")
        if state.get("format") not in (FORMAT, LAYERED) or state.get("dense_names") != list(
            features.DENSE_NAMES
        ):
            raise ValueError("classifier model was saved by an incompatible version")
        try:
            layer = None
            if state["format"] == LAYERED:
                found = state["layer"]
                layer = _Layer(
                    _block_from(found["block"]),
                    np.asarray(found["coef"], dtype=np.float64),
                    np.asarray(found["intercept"], dtype=np.float64),
                    int(found["n_examples"]),
                )
            alarm = None
            if state.get("alarm") is not None:
                alarm = _Alarm(
                    np.asarray(state["alarm"]["coef"], dtype=np.float64), float(state["alarm"]["intercept"])
                )
            return cls(
                [_block_from(b) for b in state["blocks"]],
                np.asarray(state["dense_mean"], dtype=np.float64),
                np.asarray(state["dense_scale"], dtype=np.float64),
                np.asarray(state["coef"], dtype=np.float64),
                np.asarray(state["intercept"], dtype=np.float64),
                state["classes"],
                int(state["n_examples"]),
                state["encoder"],  # ValueError when that encoder is not installed here
                layer,
                alarm,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"classifier model is incomplete: {exc!r}") from exc


def _softmax(logits: Any, intercept: Float) -> Float:
    shifted = np.asarray(logits) + intercept
    shifted -= shifted.max(axis=1, keepdims=True)
    odds = np.exp(shifted)
    return np.asarray(odds / odds.sum(axis=1, keepdims=True))


@lru_cache(maxsize=1)
def _threads() -> Any:
    return ThreadpoolController()


def _one_thread() -> Any:
    """BLAS threads fighting over a busy host made one fit 25 times slower; these matrices are small."""
    return _threads().limit(limits=1)


def _cues(texts: Sequence[str]) -> Float:
    return np.asarray(features.dense_many(texts), dtype=np.float64).reshape(
        len(texts), len(features.DENSE_NAMES)
    )


def _design(
    grams: list[sparse.csr_matrix],
    mean: Float,
    scale: Float,
    cues: Float,
    vectors: Float,
) -> sparse.csr_matrix:
    scaled = (cues - mean) / scale * DENSE_WEIGHT
    vectors = vectors * VECTOR_WEIGHT
    parts = [*grams, sparse.csr_matrix(scaled), sparse.csr_matrix(vectors)]
    return sparse.csr_matrix(sparse.hstack(parts, format="csr"))


def _decide(
    text: str, parent: str | None, row: Float, classes: tuple[Category, ...], foreign: float, alarm: float
) -> Triage:
    scores: dict[str, float] = {c: round(float(p), 4) for c, p in zip(classes, row, strict=True)}
    order = [classes[i] for i in np.argsort(-row, kind="stable")]
    category = order[0]
    if category == "compliment" and not _safe_compliment(text, scores["compliment"]):
        # Praise told with mockery, hostility or the agency failing is sarcasm, and sarcastic
        # thanks is criticism; otherwise (it asks something, it thanks someone else) the runner-up.
        category = "criticism" if features.has_negative_cue(text) else order[1]
    confidence = scores[category]
    if category != "compliment" and features.only_praise_emoji(text):
        # The model has words to go on and an emoji alone gives it little; hearts, applause and
        # a salute are support, and the thanks they get cannot hurt anyone.
        category, confidence = "compliment", max(scores["compliment"], COMPLIMENT_MIN)
    elif features.only_ambiguous_emoji(text):
        # 🙏 or 💯 alone may be a prayer for a victim or agreement with another user: the card
        # says unsure and the drafts stay neutral.
        confidence = min(confidence, AMBIGUOUS_CONFIDENCE)
    is_foreign = foreign >= 0.5 or features.all_foreign(text)
    unread = features.unread_language(text, is_foreign)
    is_foreign = is_foreign or unread
    if is_foreign:
        # Labelled by what they say, like any post; but the examples hold few, so the card says
        # unsure and the drafts stay neutral (never thanks).
        confidence = min(confidence, FOREIGN_CONFIDENCE)
    # A post that may be an emergency but is not flagged (that stays rare, so staff keep trusting
    # the flag) still gets MAYBE_REASON: every draft will lead with the 911 line, which costs little
    # on a post that turns out to be nothing.
    urgent, reason = verdict(text, parent, alarm)
    if reason is None and unread:
        # The urgency cues read English and Spanish only: "tulong, may baril sa labas" could be a
        # gun outside, so the 911 line leads (the card is not flagged).
        reason = FOREIGN_REASON
    return Triage(
        category=category,
        confidence=round(confidence, 4),
        urgent=urgent,
        urgent_reason=reason,
        scores=scores,
    )


def unsure(category: str, confidence: float, scores: Mapping[str, float]) -> bool:
    """Whether the card should say the model is unsure of `category`, and drafts stay neutral.

    True when the chosen category's probability is below UNSURE_BELOW, or when the runner-up is
    within UNSURE_MARGIN of it. Both were chosen by leaving one batch of examples out at a time
    (`bench/grouped_cv.py`): below them the category is wrong about as often as it is right.
    Posts in another language are always unsure (their confidence is capped below the bar)."""
    ranked = sorted(scores.values(), reverse=True)
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    top = scores.get(category, confidence)
    return confidence < UNSURE_BELOW or (top >= runner_up and top - runner_up < UNSURE_MARGIN)


def _safe_compliment(text: str, probability: float) -> bool:
    """A thank-you is only suggested when nothing in the post asks, mocks, attacks or thanks someone else."""
    return (
        probability >= COMPLIMENT_MIN
        and not features.is_asking(text)
        and not features.has_negative_cue(text)
        and not features.praises_someone_else(text)
    )


def fit(
    examples: Sequence[tuple[str, str]],
    encoder: str | None = None,
    alarm_examples: Sequence[tuple[str, bool]] = (),
) -> Classifier:
    """Train on (text, category) pairs, and the urgency layer on (text, urgent) pairs when given
    (both kinds are needed); the same pairs always give the same model."""
    encoder = encoder or embeddings.default_name()
    texts = _bodies([t for t, _ in examples])
    labels = [label for _, label in examples]
    unknown = sorted(set(labels) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(unknown)}")
    if set(labels) != set(CATEGORIES):
        raise ValueError(f"a model must know every category, not just {', '.join(sorted(set(labels)))}")
    # The n-gram vocabulary also knows the words of the urgency posts, which the urgency layer reads.
    # It is read from the examples as written: a hurried copy repeats its example's n-grams, and
    # counting it would let an n-gram of one example through (4.7 MB and 27 MB more memory).
    alarm_bodies = [(reply_body(t), urgent) for t, urgent in alarm_examples]
    vocabulary_texts = list(dict.fromkeys([*texts, *(t for t, _ in alarm_bodies)]))
    texts, labels = _with_hurried(texts, labels)
    blocks = [_Block.fit(params, vocabulary_texts, min_df) for params, min_df in BLOCKS]
    cues = _cues(texts)
    mean = cues.mean(axis=0)
    scale = cues.std(axis=0)
    scale[scale == 0] = 1.0
    vectors = embeddings.load(encoder)
    from sklearn.linear_model import LogisticRegression  # only training needs scikit-learn

    model = LogisticRegression(C=C, tol=TOL, max_iter=10000, class_weight="balanced")
    with _one_thread():
        grams = [b.transform(texts) for b in blocks]
        model.fit(_design(grams, mean, scale, cues, vectors.encode(texts)), labels)
    alarm = _fit_alarm(blocks[0], vectors, alarm_bodies) if alarm_bodies else None
    return Classifier(
        blocks,
        mean,
        scale,
        np.asarray(model.coef_, dtype=np.float64),
        np.asarray(model.intercept_, dtype=np.float64),
        [str(c) for c in model.classes_],
        len(examples),
        encoder,
        alarm=alarm,
    )


def _fit_alarm(block: _Block, vectors: embeddings.Encoder, labelled: Sequence[tuple[str, bool]]) -> _Alarm:
    """Logistic regression of urgent against not over the n-gram block and the sentence vector."""
    from sklearn.linear_model import LogisticRegression

    latest = dict(labelled)
    texts, flags = list(latest), [int(flag) for flag in latest.values()]
    if len(set(flags)) < 2:
        raise ValueError("the urgency layer needs urgent and calm posts")
    model = LogisticRegression(C=ALARM_C, tol=TOL, max_iter=10000, class_weight="balanced")
    with _one_thread():
        design = sparse.hstack(
            [
                block.transform(texts),
                sparse.csr_matrix(vectors.encode(texts) * ALARM_VECTOR_WEIGHT),
            ],
            format="csr",
        )
        model.fit(design, np.asarray(flags))
    return _Alarm(np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0]))


@lru_cache(maxsize=1)
def base_examples() -> tuple[tuple[str, str], ...]:
    """The shipped category examples as (text, category) pairs (`handlers.examples`)."""
    return tuple((e.text, e.label) for e in category_examples())


@lru_cache(maxsize=1)
def base_alarm_examples() -> tuple[tuple[str, bool], ...]:
    """The urgency layer's posts: the emergencies and look-alikes, then every category example."""
    urgency = [(text, urgent) for text, urgent, _ in urgency_examples()]
    return tuple(urgency + [(e.text, e.urgent) for e in category_examples()])


def fit_shipped(encoder: str) -> Classifier:
    """The base model the shipped examples give for these sentence vectors."""
    return fit(base_examples(), encoder=encoder, alarm_examples=base_alarm_examples())


@lru_cache(maxsize=1)
def load_default() -> Classifier:
    """The shipped base model. With the static sentence vectors it is the model fitted from the
    shipped examples and stored in `data/base-model.bin` (a test keeps the two equal), so
    classifying needs no training and no scikit-learn; with the `embeddings` extra it is fitted
    from the same examples on first use."""
    encoder = embeddings.default_name()
    if encoder == embeddings.STATIC:
        return Classifier.from_bytes(SHIPPED_MODEL.read_bytes())
    return fit_shipped(encoder)


def train_agency(corrections: Sequence[tuple[str, str]], base: Classifier) -> Classifier:
    """The base model with a layer fitted on the agency's labels alone (the latest per text).

    The layer adds to the base model's log-probabilities (`handlers.residual`), so a category
    staff never labelled is still given, and a handful of labels about one kind of post leaves
    the others as the base model judged them."""
    latest: dict[str, str] = {}
    for text, label in corrections:
        latest[reply_body(text.strip())] = label
    texts, labels = list(latest), list(latest.values())
    base = base.base()
    block = _Block.fit_or_empty(WORD_PARAMS, texts, LAYER_MIN_DF)
    vectors = base._vectors.encode(texts)
    prior = base._probabilities(texts, _cues(texts), vectors)
    with _one_thread():
        coef, intercept = residual.fit(
            _layer_design(block, texts, vectors),
            _offset(prior),
            labels,
            base.classes,
            residual.strength(len(texts)),
        )
    return base.with_layer(_Layer(block, coef, intercept, len(texts)))
