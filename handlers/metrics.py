"""The figures `twoway eval` prints and the agency model is judged by, without any library magic.

Written out rather than taken from scikit-learn so that the definitions are visible. A figure
whose denominator is zero is undefined (None), not 0:

- recall is undefined when the class has no rows (support 0);
- precision is undefined when the class was never predicted;
- F1 is 0 when the class has rows but none was found (recall 0, even if precision is undefined
  because the class was never predicted), and undefined when recall is undefined.

So a class with rows but never predicted has precision None, recall 0, F1 0; a class absent
from the truth but predicted has precision 0, recall None, F1 None; absent and never predicted,
all three are None. Macro-F1 averages F1 over the classes that have rows, and a class absent
from the truth is left out of it (its F1 is undefined).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from domain import CATEGORIES


class ClassFigures(TypedDict):
    precision: float | None
    recall: float | None
    f1: float | None
    support: float  # the number of rows with this label (a float for backward compatibility)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def per_class(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, ClassFigures]:
    table: dict[str, ClassFigures] = {}
    for label in CATEGORIES:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_true = sum(1 for t in truth if t == label)
        precision = tp / n_pred if n_pred else None
        recall = tp / n_true if n_true else None
        f1: float | None
        if recall is None:
            f1 = None
        elif precision is None or precision + recall == 0:
            f1 = 0.0  # rows of the class exist and none was found: recall 0, so F1 0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": float(n_true)}
    return table


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    table = per_class(truth, predicted)
    # A class with rows always has an F1 (its recall is defined); `or 0.0` only satisfies the type.
    scores = [table[label]["f1"] or 0.0 for label in CATEGORIES if table[label]["support"] > 0]
    return sum(scores) / len(scores) if scores else 0.0


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
