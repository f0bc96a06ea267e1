"""The figures `twoway eval` prints and the agency model is judged by, without any library magic.

Written out rather than taken from scikit-learn so that the definitions are visible: a class
that is never predicted has precision 0, and one that never occurs is left out of macro-F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain import CATEGORIES


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def per_class(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for label in CATEGORIES:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_true = sum(1 for t in truth if t == label)
        precision, recall = _ratio(tp, n_pred), _ratio(tp, n_true)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": float(n_true)}
    return table


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    table = per_class(truth, predicted)
    present = [label for label in CATEGORIES if table[label]["support"] > 0]
    return sum(table[label]["f1"] for label in present) / len(present) if present else 0.0


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    """truth label -> predicted label -> count."""
    labels: tuple[str, ...] = CATEGORIES
    matrix = {t: dict.fromkeys(labels, 0) for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        matrix[t][p] += 1
    return matrix


def urgency(truth: Sequence[bool | None], flagged: Sequence[bool]) -> dict[str, Any]:
    """Recall and precision over rows that carry an urgent label (None when undefined: no urgent
    row, or nothing flagged among them); the share flagged is over all rows."""
    pairs = [(t, f) for t, f in zip(truth, flagged, strict=True) if t is not None]
    tp = sum(1 for t, f in pairs if t and f)
    positives = sum(1 for t, _ in pairs if t)
    flagged_labelled = sum(1 for _, f in pairs if f)
    return {
        "urgent_recall": tp / positives if positives else None,
        "urgent_precision": tp / flagged_labelled if flagged_labelled else None,
        "urgent_share": _ratio(sum(1 for f in flagged if f), len(flagged)),
    }
