"""Multinomial logistic regression on top of fixed log-probabilities: what an agency layer fits.

The base model's log-probabilities are an offset the fit adds to, not features it may reweigh:
with no labels the layer is exactly the base model, and every label moves it only as far as the
L2 penalty allows. scikit-learn's LogisticRegression takes no offset, so the loss is written here
and minimised with SciPy's L-BFGS, starting from zero, which makes the fit deterministic.

Measured on the dev file (stratified 5-fold x 2 seeds, every agency model kept): 0.741 against
the base model's 0.702 (0.718 with the sentence vector at half weight); a logistic regression
taking the base log-probabilities as ordinary features, with that half weight, scored 0.712 and,
taught 12 parking-ticket complaints, also relabelled "Great job catching the car thief!" as a
question. This fit left every such post alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

Float = npt.NDArray[np.float64]

LABELS_PER_C = 2.5  # C grows with the labels: 16 give C = 6.4, 226 give C = 90 (1.5, 2, 3, 5, 10 tried)
INTERCEPT_SCALE = 0.01  # the intercepts' C as a share of the weights' C (1 and 0.1 tried)


def strength(n_labels: int) -> float:
    """The inverse L2 strength for this many labels: a few labels may only nudge the base model."""
    return max(n_labels, 1) / LABELS_PER_C


def fit(
    design: sparse.csr_matrix,
    offset: Float,
    labels: Sequence[str],
    classes: Sequence[str],
    c: float,
) -> tuple[Float, Float]:
    """(coef, intercept) minimising class-balanced cross-entropy of softmax(offset + X·Wᵀ + b)
    plus ‖W‖² / 2C and ‖b‖² / (2C·INTERCEPT_SCALE). Classes without labels are allowed (their
    weights stay small). The intercepts move every post at once, so they are held much closer to
    zero than the weights: ten labels about one kind of post, all of one category, must not tip
    unrelated posts into that category."""
    from scipy import optimize  # only training needs it: importing it adds about 25 MB

    c_b = c * INTERCEPT_SCALE
    n, d = design.shape
    k = len(classes)
    index = np.asarray([list(classes).index(label) for label in labels])
    truth = np.zeros((n, k))
    truth[np.arange(n), index] = 1.0
    counts = truth.sum(axis=0)
    weights = n / (np.count_nonzero(counts) * counts[index])  # scikit-learn's "balanced"

    def loss(theta: Float) -> tuple[float, Float]:
        coef, intercept = theta[: k * d].reshape(k, d), theta[k * d :]
        logits = offset + np.asarray(design @ coef.T) + intercept
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -float((weights * (log_p * truth).sum(axis=1)).sum())
        value += float((coef * coef).sum()) / (2 * c) + float((intercept * intercept).sum()) / (2 * c_b)
        residual = (np.exp(log_p) - truth) * weights[:, np.newaxis]
        grad_coef = np.asarray(design.T @ residual).T + coef / c
        grad_intercept = residual.sum(axis=0) + intercept / c_b
        return value, np.concatenate([grad_coef.ravel(), grad_intercept])

    found: Any = optimize.minimize(
        loss, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 3000}
    )
    theta = np.asarray(found.x, dtype=np.float64)
    return theta[: k * d].reshape(k, d), theta[k * d :]
