"""Learning from staff corrections, judged on corrections the new model was not trained on.

The running bot (`bot.intake.training.retrain`) and `twoway eval --corrections` both call `learn`, so
what the evaluation reports is what the agency gets. The corrections (in the bot, together with
the labels of items staff answered without reclassifying) are split into folds in the order they
were made; each fold is predicted by an agency model learnt from the other folds
(`handlers.classifier.train_agency`: the base model plus a layer fitted on those labels), and
by the base model. The agency model is kept only if its pooled macro-F1 on those held-back
examples is at least the base model's: an agency that clicks carelessly keeps the shipped model
rather than a worse one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain import CATEGORIES
from handlers.classifier import Classifier, load_default, train_agency
from handlers.metrics import macro_f1

MIN_CORRECTIONS = 10  # fewer than this cannot show that a model is better
FOLDS = 5


@dataclass(frozen=True)
class Adaptation:
    """What learning from the corrections produced, and whether it should be used."""

    model: Classifier | None  # the base model + a layer learnt from every label; None when too few
    accepted: bool
    n_corrections: int
    heldback_before: float | None  # macro-F1 of the base model on held-back corrections
    heldback_after: float | None  # macro-F1 of the agency models on the same corrections
    reason: str
    n_confirmations: int = 0  # labels staff stood by, learnt and judged with the corrections

    def metrics(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "n_corrections": self.n_corrections,
            "n_confirmations": self.n_confirmations,
            "heldback_before": self.heldback_before,
            "heldback_after": self.heldback_after,
            "reason": self.reason,
        }


def unique(corrections: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """One example per text, with the latest label staff gave it, in the order first seen."""
    latest: dict[str, str] = {}
    for text, label in corrections:
        if label not in CATEGORIES:
            raise ValueError(f"unknown category {label!r}")
        key = text.strip()
        if key:
            latest[key] = label
    return list(latest.items())


def learn(
    corrections: Sequence[tuple[str, str]],
    base: Classifier | None = None,
    folds: int = FOLDS,
    confirmations: Sequence[tuple[str, str]] = (),
) -> Adaptation:
    """Learn a layer from the agency's labels over the base model; keep it only if not worse.

    `confirmations` are labels staff stood by without a click (items they answered as labelled).
    They are learnt and judged like corrections: without them every held-back example would be
    one the base model got wrong, and any new model would look at least as good.
    """
    n = len(unique(corrections))
    if n < MIN_CORRECTIONS:
        return Adaptation(
            None, False, n, None, None, f"needs at least {MIN_CORRECTIONS} corrections, has {n}"
        )
    examples = unique([*confirmations, *corrections])  # a correction outranks a confirmation
    labels = {label for _, label in examples}
    if len(labels) < 2:
        # Judged on one category alone, a model that files everything under it looks perfect.
        (only,) = labels
        return Adaptation(
            None,
            False,
            n,
            None,
            None,
            f"every label is {only!r}: a model cannot be judged on one category alone",
            len(examples) - n,
        )
    base = base or load_default()
    k = max(2, min(folds, len(examples) // 2))
    truth: list[str] = []
    before: list[str] = []
    after: list[str] = []
    for fold in range(k):
        held = [e for i, e in enumerate(examples) if i % k == fold]
        kept = [e for i, e in enumerate(examples) if i % k != fold]
        texts = [t for t, _ in held]
        truth += [label for _, label in held]
        before += [t.category for t in base.classify_many(texts)]
        after += [t.category for t in train_agency(kept, base).classify_many(texts)]
    score_before, score_after = round(macro_f1(truth, before), 4), round(macro_f1(truth, after), 4)
    accepted = score_after >= score_before
    verdict = "not worse than" if accepted else "worse than"
    reason = f"held-back macro-F1 {score_after:.3f} is {verdict} the base model's {score_before:.3f}"
    model = train_agency(examples, base) if accepted else None
    return Adaptation(model, accepted, n, score_before, score_after, reason, len(examples) - n)


def holds_up(
    model: Classifier, examples: Sequence[tuple[str, str]], base: Classifier | None = None
) -> tuple[bool, float, float]:
    """Whether an agency model in use still does no worse than the base model on later labels.

    `examples` are corrections and confirmations made since it was trained: its own mistakes
    and its own successes, so neither model is favoured. Returns (holds, base F1, model F1).
    """
    base = base or load_default()
    pairs = unique(examples)
    texts, truth = [t for t, _ in pairs], [label for _, label in pairs]
    before = round(macro_f1(truth, [t.category for t in base.classify_many(texts)]), 4)
    after = round(macro_f1(truth, [t.category for t in model.classify_many(texts)]), 4)
    return after >= before, before, after
