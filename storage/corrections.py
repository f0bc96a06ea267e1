"""Staff reclassifications, kept as labelled examples for the agency's own model.

The texts are the agency's data (public posts its staff judged), so a model trained on them
may be stored and used by that agency.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from domain import CATEGORIES
from storage.models import REPLIED, Correction, Mention

MAX_CONFIRMATIONS = 500  # the newest; enough to judge a model, few enough to train quickly


def add_correction(
    session: Session,
    *,
    mention_id: int | None,
    text: str,
    label: str,
    previous_label: str | None,
    urgent: bool | None,
    by: str,
    now: datetime,
) -> Correction:
    if label not in CATEGORIES:
        raise ValueError(f"unknown category {label!r}; choose one of {', '.join(CATEGORIES)}")
    correction = Correction(
        mention_id=mention_id,
        text=text,
        label=label,
        previous_label=previous_label,
        urgent=urgent,
        corrected_by=by,
        created_at=now,
    )
    session.add(correction)
    session.flush()
    return correction


def list_corrections(session: Session) -> list[Correction]:
    """Every correction, oldest first (the order learning splits them in)."""
    return list(session.scalars(select(Correction).order_by(Correction.id)))


def count_corrections(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Correction)) or 0)


def last_correction_id(session: Session) -> int | None:
    return session.scalar(select(func.max(Correction.id)))


def list_confirmations(
    session: Session, limit: int = MAX_CONFIRMATIONS, since: datetime | None = None
) -> list[tuple[str, str]]:
    """Labels staff stood by: items answered publicly under their category, never reclassified.

    Every correction is a post the model got wrong, so judging a new model on corrections alone
    flatters it (the old model scores nothing on them); these keep the judgement honest.
    """
    corrected = exists().where(Correction.mention_id == Mention.id)
    answered_since = [] if since is None else [Mention.first_response_at >= since]
    rows = session.execute(
        select(Mention.text, Mention.category)
        .where(Mention.state == REPLIED, Mention.category.in_(CATEGORIES), ~corrected, *answered_since)
        .order_by(Mention.first_response_at.desc(), Mention.id.desc())
        .limit(limit)
    ).all()
    return [(str(text), str(category)) for text, category in reversed(rows) if text and text.strip()]
