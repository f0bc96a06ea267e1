"""The card columns of a mention: the claim to post it, where it is, and what failed.

A card moves `pending|failed -> posting` (claimed by one sweep) `-> posted|failed`; see
`bot.review.cards`. `card_attempts` is the row's version, so a claim only succeeds as the sweep
last read the row.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Row, case, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTED,
    CARD_POSTING,
    AuditEvent,
    Correction,
    Mention,
    Reply,
)

NEVER = datetime.max.replace(tzinfo=UTC)  # no `now` given: a held card counts as due


def stale_claims(
    session: Session, before: datetime, limit: int, exclude: Collection[int] = ()
) -> list[Row[int, datetime | None, int]]:
    """(id, claimed at, attempts) of cards claimed before `before` and never settled (a crash)."""
    return list(
        session.execute(
            select(Mention.id, Mention.card_claimed_at, Mention.card_attempts)
            .where(
                Mention.card_status == CARD_POSTING,
                Mention.card_claimed_at < before,
                Mention.id.not_in(list(exclude)),
            )
            .order_by(Mention.id)
            .limit(limit)
        )
    )


def changed_between(session: Session, since: datetime, until: datetime, limit: int) -> list[int]:
    """Ids of mentions with a card in Slack and an audit event in [since, until], latest first."""
    latest = func.max(AuditEvent.at)
    return list(
        session.scalars(
            select(AuditEvent.mention_id)
            .join(Mention, Mention.id == AuditEvent.mention_id)
            .where(
                AuditEvent.at >= since,
                AuditEvent.at <= until,
                Mention.card_status == CARD_POSTED,
                Mention.card_ts.is_not(None),
            )
            .group_by(AuditEvent.mention_id)
            .order_by(latest.desc(), AuditEvent.mention_id.desc())
            .limit(limit)
        )
    )


def waiting(
    session: Session, limit: int, exclude: Collection[int] = (), now: datetime | None = None
) -> list[Row[int, datetime | None, str | None, int]]:
    """(id, claimed at, error, attempts) of cards pending or failed: urgent first, then questions,
    then the rest; newest first within each, so a backlog never hides what is happening now."""
    return list(
        session.execute(
            select(Mention.id, Mention.card_claimed_at, Mention.card_error, Mention.card_attempts)
            .where(
                Mention.card_status.in_((CARD_PENDING, CARD_FAILED)),
                Mention.id.not_in(list(exclude)),
                # held while its thread may be turning into a storm
                or_(Mention.card_not_before.is_(None), Mention.card_not_before <= (now or NEVER)),
            )
            .order_by(
                Mention.urgent.desc(),
                case((Mention.category == "question", 0), else_=1),
                Mention.created_at.desc(),
                Mention.id.desc(),
            )
            .limit(limit)
        )
    )


def claim(session: Session, mention_id: int, states: tuple[str, ...], attempts: int, now: datetime) -> bool:
    """`states -> posting`, only if the card is still at version `attempts`; one caller wins."""
    result = session.execute(
        update(Mention)
        .where(Mention.id == mention_id, Mention.card_status.in_(states), Mention.card_attempts == attempts)
        .values(card_status=CARD_POSTING, card_claimed_at=now, card_attempts=Mention.card_attempts + 1)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def posted(session: Session, mention_id: int, channel: str, ts: str) -> None:
    session.execute(
        update(Mention)
        .where(Mention.id == mention_id, Mention.card_status == CARD_POSTING)
        .values(card_status=CARD_POSTED, card_channel=channel, card_ts=ts, card_error=None)
    )


def failed(session: Session, mention_id: int, error: str) -> None:
    session.execute(
        update(Mention)
        .where(Mention.id == mention_id, Mention.card_status == CARD_POSTING)
        .values(card_status=CARD_FAILED, card_error=error)
    )


def latest_reply(session: Session, mention_id: int) -> Reply | None:
    return session.scalar(
        select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.id.desc()).limit(1)
    )


def reclassified_by(session: Session, mention_id: int) -> str | None:
    """Who last set the category by hand, shown on the card."""
    last = last_correction(session, mention_id)
    return last.corrected_by if last is not None else None


def last_correction(session: Session, mention_id: int) -> Correction | None:
    """The latest category staff set for the item (who, what and when)."""
    return session.scalar(
        select(Correction).where(Correction.mention_id == mention_id).order_by(Correction.id.desc()).limit(1)
    )


def at(session: Session, channel: object, ts: object) -> int | None:
    """The mention whose card is this message, if any."""
    return session.scalar(
        select(Mention.id).where(Mention.card_channel == channel, Mention.card_ts == ts).limit(1)
    )
