"""Replies, likes and answers: the guarded moves that make each public act happen once.

Every function takes the caller's Session; the caller owns the transaction. A move guarded by
the row's current state returns whether this caller won it (rowcount 1): of any number of
concurrent clicks, exactly one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Update, func, select, update
from sqlalchemy.orm import Session

from storage.audit import Action
from storage.models import (
    ACTIVE_REPLY_STATES,
    OPEN,
    REPLIED,
    REPLY_FAILED,
    REPLY_MANUAL,
    REPLY_NONE,
    REPLY_SENDING,
    REPLY_SENT,
    REPLY_UNKNOWN,
    AuditEvent,
    HideStatus,
    LikeStatus,
    Mention,
    Reply,
    fits_id,
)

OPEN_TO_REPLY = (REPLY_NONE, REPLY_FAILED)  # reply states from which a new reply may start


def _won(session: Session, statement: Update) -> bool:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount == 1


def get(session: Session, reply_id: int) -> Reply | None:
    """The reply a button's value names, or None (also for a number no row can have: asking
    PostgreSQL for it is an error, not an empty answer)."""
    return session.get(Reply, reply_id) if fits_id(reply_id) else None


def active_reply(session: Session, mention_id: int) -> Reply | None:
    """The newest reply that blocks any other: sending, sent, unknown or manual."""
    return session.scalar(
        select(Reply)
        .where(Reply.mention_id == mention_id, Reply.status.in_(ACTIVE_REPLY_STATES))
        .order_by(Reply.id.desc())
        .limit(1)
    )


def latest_reply_id(session: Session, mention_id: int) -> int | None:
    return session.scalar(select(func.max(Reply.id)).where(Reply.mention_id == mention_id))


def sent_at(session: Session, reply_id: int) -> datetime | None:
    if not fits_id(reply_id):
        return None
    return session.scalar(select(Reply.requested_at).where(Reply.id == reply_id))


def answered(status: str, by: str, at: datetime) -> dict[str, Any]:
    """The mention's columns once its reply reaches `status`: a sent or manual reply answers it.

    `at` is when the answer went out, which for a reply confirmed later is when it was sent.
    """
    values: dict[str, Any] = {"reply_status": status}
    if status in (REPLY_SENT, REPLY_MANUAL):
        values.update(
            state=REPLIED, responded_by=by, first_response_at=func.coalesce(Mention.first_response_at, at)
        )
    return values


def claim_unanswered(session: Session, mention_id: int, **values: Any) -> bool:
    """Move an open mention that has no reply under way on with `values`; one caller wins."""
    return _won(
        session,
        update(Mention)
        .where(Mention.id == mention_id, Mention.state == OPEN, Mention.reply_status.in_(OPEN_TO_REPLY))
        .values(**values),
    )


def add_reply(
    session: Session,
    mention_id: int,
    text: str,
    source: str,
    status: str,
    by: str,
    at: datetime,
    completed_at: datetime | None = None,
) -> Reply:
    """A new reply row; the partial unique index allows one active reply per mention."""
    reply = Reply(
        mention_id=mention_id,
        text=text,
        source=source,
        status=status,
        requested_by=by,
        requested_at=at,
        completed_at=completed_at,
    )
    session.add(reply)
    session.flush()
    return reply


def settle_reply(session: Session, reply_id: int, settles: tuple[str, ...], **values: Any) -> bool:
    """Record the reply's outcome, only while its status is one of `settles`."""
    return _won(
        session, update(Reply).where(Reply.id == reply_id, Reply.status.in_(settles)).values(**values)
    )


def settle_mention(
    session: Session, mention_id: int, settles: tuple[str, ...], values: dict[str, Any]
) -> None:
    """Carry a reply's outcome to its mention, only while the mention's reply status is one of `settles`."""
    session.execute(
        update(Mention).where(Mention.id == mention_id, Mention.reply_status.in_(settles)).values(**values)
    )


def confirm_unknown(
    session: Session, mention_id: int, reply_id: int, posted: bool, error: str | None
) -> bool:
    """A person's word on an `unknown` reply: posted (sent) or not (failed); one person wins."""
    return _won(
        session,
        update(Reply)
        .where(Reply.id == reply_id, Reply.mention_id == mention_id, Reply.status == REPLY_UNKNOWN)
        .values(status=REPLY_SENT if posted else REPLY_FAILED, error=None if posted else error),
    )


def stale_sending(session: Session, cutoff: datetime) -> list[Reply]:
    return list(
        session.scalars(select(Reply).where(Reply.status == REPLY_SENDING, Reply.requested_at < cutoff))
    )


def mark_unknown(session: Session, reply: Reply, error: str) -> None:
    """A reply left `sending` (by a crash) becomes `unknown`, and so does its mention."""
    reply.status, reply.error = REPLY_UNKNOWN, error
    settle_mention(session, reply.mention_id, (REPLY_SENDING,), {"reply_status": REPLY_UNKNOWN})


def stale_likes(session: Session, cutoff: datetime) -> list[int]:
    """Mentions left `liking` since before `cutoff` (the claim time is the `like_requested` event)."""
    return _stale(session, cutoff, Mention.like_status == LikeStatus.LIKING, Action.LIKE_REQUESTED)


def _stale(session: Session, cutoff: datetime, busy: ColumnElement[bool], requested: Action) -> list[int]:
    """Mentions in the `busy` state whose latest `requested` event is older than `cutoff` (or
    missing): a claim nobody settled."""
    latest = (
        select(AuditEvent.mention_id, func.max(AuditEvent.at).label("at"))
        .where(AuditEvent.action == requested)
        .group_by(AuditEvent.mention_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Mention.id)
            .outerjoin(latest, latest.c.mention_id == Mention.id)
            .where(busy, (latest.c.at < cutoff) | latest.c.at.is_(None))
            .order_by(Mention.id)
        )
    )


def claim_like(session: Session, mention_id: int) -> bool:
    """Not liked and not being liked -> `liking`; one caller wins."""
    return _won(
        session,
        update(Mention)
        .where(
            Mention.id == mention_id,
            Mention.like_status.is_(None) | (Mention.like_status == LikeStatus.FAILED),
        )
        .values(like_status=LikeStatus.LIKING),
    )


def like_failed(session: Session, mention_id: int, only_if_busy: bool = False) -> bool:
    statement = update(Mention).where(Mention.id == mention_id)
    if only_if_busy:
        statement = statement.where(Mention.like_status == LikeStatus.LIKING)
    return _won(session, statement.values(like_status=LikeStatus.FAILED))


def like_done(session: Session, mention_id: int, by: str, at: datetime) -> None:
    session.execute(
        update(Mention)
        .where(Mention.id == mention_id)
        .values(like_status=LikeStatus.LIKED, liked_by=by, liked_at=at)
    )


# -- hiding: not hidden|failed -> hiding -> hidden|failed, one caller wins ---------------------------


def claim_hide(session: Session, mention_id: int) -> bool:
    """Not hidden and not being hidden -> `hiding`; one caller wins."""
    return _won(
        session,
        update(Mention)
        .where(
            Mention.id == mention_id,
            Mention.hide_status.is_(None) | (Mention.hide_status == HideStatus.FAILED),
        )
        .values(hide_status=HideStatus.HIDING),
    )


def hide_done(session: Session, mention_id: int, by: str, at: datetime) -> None:
    session.execute(
        update(Mention)
        .where(Mention.id == mention_id)
        .values(hide_status=HideStatus.HIDDEN, hidden_by=by, hidden_at=at)
    )


def hide_failed(session: Session, mention_id: int, only_if_busy: bool = False) -> bool:
    statement = update(Mention).where(Mention.id == mention_id)
    if only_if_busy:
        statement = statement.where(Mention.hide_status == HideStatus.HIDING)
    return _won(session, statement.values(hide_status=HideStatus.FAILED))


def stale_hides(session: Session, cutoff: datetime) -> list[int]:
    """Mentions left `hiding` since before `cutoff` (the claim time is the `hide_requested` event)."""
    return _stale(session, cutoff, Mention.hide_status == HideStatus.HIDING, Action.HIDE_REQUESTED)


def last_failure(session: Session, mention_id: int, action: Action = Action.REPLY_FAILED) -> dict[str, Any]:
    """The details of the item's latest `action` audit event (`reply_failed`, `like_failed`,
    `hide_failed`; {} when none)."""
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.mention_id == mention_id, AuditEvent.action == action)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return event.details if event is not None and isinstance(event.details, dict) else {}


def earlier_unposted(session: Session, mention_id: int, before: int, text: str, checked: str) -> Reply | None:
    """The latest earlier reply to the item with the same text that staff marked not posted
    (its error is `checked`)."""
    return session.scalar(
        select(Reply)
        .where(Reply.mention_id == mention_id, Reply.id < before, Reply.text == text, Reply.error == checked)
        .order_by(Reply.id.desc())
        .limit(1)
    )
