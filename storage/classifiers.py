"""Trained agency models. Every attempt is kept for the record; the newest active one is used.

The blob is `handlers.classifier.Classifier.to_bytes()`: compressed JSON of fitted numbers,
never a pickle, so loading a stored model cannot run code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import ClassifierModel


def save_model(
    session: Session,
    *,
    blob: bytes,
    metrics: dict[str, Any],
    n_examples: int,
    active: bool,
    now: datetime,
) -> ClassifierModel:
    """Store a model; an active one retires every earlier active model in the same transaction."""
    if active:
        session.execute(update(ClassifierModel).where(ClassifierModel.active.is_(True)).values(active=False))
    row = ClassifierModel(created_at=now, blob=blob, n_examples=n_examples, metrics=metrics, active=active)
    session.add(row)
    session.flush()
    return row


def active_model(session: Session) -> ClassifierModel | None:
    return session.scalars(
        select(ClassifierModel).where(ClassifierModel.active.is_(True)).order_by(ClassifierModel.id.desc())
    ).first()


def active_model_id(session: Session) -> int | None:
    """The id alone, so that checking for a newer model does not load a blob."""
    return session.scalars(
        select(ClassifierModel.id)
        .where(ClassifierModel.active.is_(True))
        .order_by(ClassifierModel.id.desc())
        .limit(1)
    ).first()


def latest_metrics(session: Session) -> dict[str, Any] | None:
    """The figures of the newest attempt, kept or not: they say which corrections it considered."""
    return session.scalars(
        select(ClassifierModel.metrics).order_by(ClassifierModel.id.desc()).limit(1)
    ).first()


def deactivate(session: Session, model_id: int) -> bool:
    """Stop using one model, if it is still the active one (a newer model may have replaced it)."""
    result = session.execute(
        update(ClassifierModel)
        .where(ClassifierModel.id == model_id, ClassifierModel.active.is_(True))
        .values(active=False)
    )
    return bool(getattr(result, "rowcount", 0))
