"""The agency's FAQ: questions and the answers it approved, matched against mentions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Action
from storage.models import Faq, fits_id


def list_faqs(session: Session) -> list[Faq]:
    return list(session.scalars(select(Faq).order_by(Faq.id)))


def add(session: Session, question: str, answer: str, by: str, now: datetime) -> Faq:
    faq = Faq(question=question, answer=answer, created_by=by, created_at=now)
    session.add(faq)
    session.flush()
    audit.record(session, now, Action.FAQ_ADDED, actor=by, faq_id=faq.id, question=question, answer=answer)
    return faq


def remove(session: Session, faq_id: int, by: str, now: datetime) -> Faq | None:
    """Delete an FAQ; None when there is none with that id."""
    faq = session.get(Faq, faq_id) if fits_id(faq_id) else None
    if faq is None:
        return None
    audit.record(
        session, now, Action.FAQ_REMOVED, actor=by, faq_id=faq.id, question=faq.question, answer=faq.answer
    )
    session.delete(faq)
    session.flush()
    return faq
