"""The agency's model: which classifier triage uses, and retraining it from staff corrections.

Retraining is slow (several model fits), so it reads the corrections in one short transaction,
learns outside any transaction, and stores the result in another. Every attempt is stored and
audited (`model_trained`); only an accepted one becomes active.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core.context import Context
from bot.core.words import counted
from handlers import embeddings
from handlers.adapt import MIN_CORRECTIONS, holds_up, learn, unique
from handlers.classifier import Classifier, load_default
from storage import audit
from storage import classifiers as models
from storage.audit import Action
from storage.corrections import last_correction_id, list_confirmations, list_corrections

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    accepted: bool
    n_corrections: int
    heldback_before: float | None
    heldback_after: float | None
    reason: str
    model_id: int | None  # the stored row; None when there was nothing to learn from

    def line(self) -> str:
        verdict = "accepted" if self.accepted else "kept the current model"
        figures = ""
        if self.heldback_before is not None and self.heldback_after is not None:
            figures = f", held-back macro-F1 {self.heldback_before:.3f} -> {self.heldback_after:.3f}"
        return f"{verdict}: {counted(self.n_corrections, 'correction')}{figures} ({self.reason})"


@dataclass
class _Loaded:
    """The classifier triage uses, and the stored model it came from (None: the shipped one)."""

    model_id: int | None = None
    classifier: Classifier | None = None


def current_classifier(ctx: Context) -> Classifier:
    """The active agency model, or the shipped one; reloaded only when a newer model is active."""
    with ctx.transaction() as session:
        model_id = models.active_model_id(session)
    cached = ctx.state(_Loaded)
    if cached.classifier is not None and cached.model_id == model_id:
        return cached.classifier
    classifier = load_default()
    if model_id is not None:
        with ctx.transaction() as session:
            row = models.active_model(session)
            blob, model_id = (row.blob, row.id) if row is not None else (b"", None)
        try:
            classifier = Classifier.from_bytes(blob) if model_id is not None else classifier
        except ValueError as exc:
            log.warning("agency model %s cannot be loaded (%s); using the shipped model", model_id, exc)
    cached.model_id, cached.classifier = model_id, classifier
    return classifier


def retrain(ctx: Context) -> TrainResult:
    """Learn from every correction; keep the new model only if it is not worse on held-back ones."""
    with ctx.transaction() as session:
        rows = list_corrections(session)
        examples = [(c.text, c.label) for c in rows]
        last_id = max((c.id for c in rows), default=None)
        confirmations = list_confirmations(session)
    adaptation = learn(examples, confirmations=confirmations)
    metrics: dict[str, Any] = {**adaptation.metrics(), "last_correction_id": last_id}
    now = ctx.clock.now()
    with ctx.transaction() as session:
        row = models.save_model(
            session,
            blob=adaptation.model.to_bytes() if adaptation.model is not None and adaptation.accepted else b"",
            metrics=metrics,
            n_examples=adaptation.model.n_examples if adaptation.model is not None else 0,
            active=adaptation.accepted,
            now=now,
        )
        audit.record(session, now, Action.MODEL_TRAINED, model_id=row.id, **metrics)
        model_id = row.id
    log.info("agency model %s: %s", model_id, adaptation.reason)
    reason = adaptation.reason
    if not adaptation.accepted and adaptation.heldback_before is not None:  # judged, and rejected
        retired = _retire_if_worse(ctx)
        if retired:
            reason = f"{reason}; {retired}"
    return TrainResult(
        accepted=adaptation.accepted,
        n_corrections=adaptation.n_corrections,
        heldback_before=adaptation.heldback_before,
        heldback_after=adaptation.heldback_after,
        reason=reason,
        model_id=model_id,
    )


def _retire_if_worse(ctx: Context) -> str | None:
    """After a rejected retrain, check the model in use on what staff said since it was trained.

    A model that was better once is not better forever: if it now does worse than the shipped
    model on the corrections and confirmations made since, triage goes back to the shipped one.
    """
    with ctx.transaction() as session:
        row = models.active_model(session)
        if row is None:
            return None
        seen = int((row.metrics or {}).get("last_correction_id") or 0)
        newer = [(c.text, c.label) for c in list_corrections(session) if c.id > seen]
        confirmed = list_confirmations(session, since=row.created_at)
        blob, active_id = row.blob, row.id
    if len(unique(newer)) < MIN_CORRECTIONS:
        return None
    try:
        active = Classifier.from_bytes(blob)
    except ValueError:
        return None  # current_classifier already falls back to the shipped model for this one
    holds, base_f1, model_f1 = holds_up(active, [*confirmed, *newer])
    if holds:
        return f"the model in use (#{active_id}) still holds up on later labels ({model_f1:.3f} >= {base_f1:.3f})"
    with ctx.transaction() as session:
        if not models.deactivate(session, active_id):
            return None  # another retrain replaced it meanwhile; that model was judged on its own
        audit.record(
            session,
            ctx.clock.now(),
            Action.MODEL_RETIRED,
            model_id=active_id,
            heldback_before=base_f1,
            heldback_after=model_f1,
            n_examples=len(newer) + len(confirmed),
        )
    log.warning(
        "agency model %s retired: %.3f on later labels, the shipped model %.3f", active_id, model_f1, base_f1
    )
    return f"the model in use (#{active_id}) scored {model_f1:.3f} on labels given since it was trained, against the shipped model's {base_f1:.3f}, so triage uses the shipped model again"


def scheduled_retrain(ctx: Context) -> None:
    """The periodic job: retrain when corrections arrived since the last attempt, or when the
    active model is not what this install would train: saved by an older version (or by the
    earlier recipe, which retrained the base on the corrections), built on the base model of an
    earlier release, or trained with other sentence vectors because the `embeddings` extra was
    installed or removed since."""
    with ctx.transaction() as session:
        newest = last_correction_id(session)
        seen = (models.latest_metrics(session) or {}).get("last_correction_id")
        row = models.active_model(session)
        blob = row.blob if row is not None else None
    if newest is None:
        return
    if seen is not None and newest <= int(seen) and (blob is None or _current(blob)):
        return
    retrain(ctx)


def _current(blob: bytes) -> bool:
    """Whether this install would have trained this model: an agency layer over this release's
    shipped model, with today's sentence vectors. A release that ships a better base model is
    therefore learnt on at the next run (and judged again), rather than waiting for a correction."""
    try:
        model = Classifier.from_bytes(blob)
    except ValueError:
        return False
    if model.layer is None or model.encoder != embeddings.default_name():
        return False
    return model.base().to_bytes() == load_default().to_bytes()
