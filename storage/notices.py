"""SLA notices and digest runs: each is claimed by inserting its row (unique per item and kind,
or per digest and period) before anything is posted, so two sweeps never both post it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Exists, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import CARD_POSTED, OPEN, DigestRun, Mention, SlaNotice
from storage.queue import chased, overdue_clause

REMINDER, ESCALATION = "reminder", "escalation"


def _insert(session: Session, row: SlaNotice | DigestRun) -> bool:
    """Insert under a savepoint: False (and nothing changed) when the unique key is taken."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


# -- SLA notices --------------------------------------------------------------------------------


def _noticed(*kinds: str) -> Exists:
    return exists().where(SlaNotice.mention_id == Mention.id, SlaNotice.kind.in_(kinds))


def due(
    session: Session, slas: dict[str, int | None], now: datetime, quiet: bool, limit: int
) -> list[tuple[str, Mention]]:
    """(kind, mention) of every reminder and escalation due now, escalations first.

    Only items `chased()` says can be overdue. At twice its SLA an item gets the escalation, and
    no reminder after it; in quiet hours only urgent items are chased.
    """
    waiting = [chased()]
    escalations = session.scalars(
        select(Mention)
        .where(*waiting, overdue_clause(slas, now, 2, urgent_only=quiet), ~_noticed(ESCALATION))
        .order_by(Mention.ingested_at, Mention.id)
        .limit(limit)
    ).all()
    reminders = session.scalars(
        select(Mention)
        .where(
            *waiting,
            overdue_clause(slas, now, 1, urgent_only=quiet),
            ~overdue_clause(slas, now, 2),
            ~_noticed(REMINDER, ESCALATION),
        )
        .order_by(Mention.ingested_at, Mention.id)
        .limit(max(0, limit - len(escalations)))
    ).all()
    return [(ESCALATION, m) for m in escalations] + [(REMINDER, m) for m in reminders]


def claim_notice(session: Session, mention_id: int, kind: str, at: datetime, channel: str) -> bool:
    """The notice's row, unless it exists or the item was closed since it was found."""
    if session.scalar(select(Mention.state).where(Mention.id == mention_id)) != OPEN:
        return False
    return _insert(session, SlaNotice(mention_id=mention_id, kind=kind, at=at, channel=channel))


def has_notice(session: Session, mention_id: int, kind: str) -> bool:
    """Whether this notice was claimed (posted, being posted, or settled) for the item."""
    found = session.scalar(
        select(SlaNotice.id).where(SlaNotice.mention_id == mention_id, SlaNotice.kind == kind).limit(1)
    )
    return found is not None


def notice_posted(session: Session, mention_id: int, kind: str, ts: str) -> None:
    """Record the notice's message ts ("" settles a claim that was never posted)."""
    notice = session.scalar(
        select(SlaNotice).where(SlaNotice.mention_id == mention_id, SlaNotice.kind == kind)
    )
    if notice is not None:
        notice.ts = ts


def unsettled_notices(session: Session, before: datetime, limit: int) -> list[tuple[str, datetime, Mention]]:
    """(kind, claimed at, mention) of notices claimed before `before` and never recorded as posted,
    for items still open with their card in Slack: a crash between claim and post, or an
    outcome nobody learnt (`bot.supervision.sla` looks for them before posting again)."""
    rows = session.execute(
        select(SlaNotice.kind, SlaNotice.at, Mention)
        .join(Mention, Mention.id == SlaNotice.mention_id)
        .where(
            SlaNotice.ts.is_(None),
            SlaNotice.at < before,
            Mention.state == OPEN,
            Mention.card_status == CARD_POSTED,
            Mention.card_ts.is_not(None),
        )
        .order_by(SlaNotice.at, SlaNotice.id)
        .limit(limit)
    ).all()
    return [(kind, at, mention) for kind, at, mention in rows]


def reclaim_notice(session: Session, mention_id: int, kind: str, claimed_at: datetime, at: datetime) -> bool:
    """Take over an unsettled claim, only as it was read (one sweep wins)."""
    return _take_over(
        session, SlaNotice, claimed_at, at, SlaNotice.mention_id == mention_id, SlaNotice.kind == kind
    )


def unclaim_notice(session: Session, mention_id: int, kind: str) -> None:
    session.execute(delete(SlaNotice).where(SlaNotice.mention_id == mention_id, SlaNotice.kind == kind))


# -- digests ------------------------------------------------------------------------------------


def claim_digest(session: Session, kind: str, period: str, at: datetime, channel: str) -> bool:
    """The run's row, unless this digest of this period was posted (or is being posted) already."""
    return _insert(session, DigestRun(kind=kind, period_key=period, at=at, channel=channel))


def unsettled_digest(session: Session, kind: str, period: str) -> datetime | None:
    """When this digest was claimed, if it was claimed and never recorded as posted."""
    return session.scalar(
        select(DigestRun.at).where(
            DigestRun.kind == kind, DigestRun.period_key == period, DigestRun.ts.is_(None)
        )
    )


def reclaim_digest(session: Session, kind: str, period: str, claimed_at: datetime, at: datetime) -> bool:
    """Take over an unsettled digest claim, only as it was read (one tick wins)."""
    return _take_over(
        session, DigestRun, claimed_at, at, DigestRun.kind == kind, DigestRun.period_key == period
    )


def _take_over(
    session: Session,
    table: type[SlaNotice] | type[DigestRun],
    claimed_at: datetime,
    at: datetime,
    *which: ColumnElement[bool],
) -> bool:
    """Move an unposted claim's time to `at` if it still holds `claimed_at`: True for the winner."""
    result = session.execute(
        update(table)
        .where(*which, table.ts.is_(None), table.at == claimed_at)
        .values(at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def digest_posted(session: Session, kind: str, period: str, ts: str) -> None:
    run = session.scalar(select(DigestRun).where(DigestRun.kind == kind, DigestRun.period_key == period))
    if run is not None:
        run.ts = ts


def unclaim_digest(session: Session, kind: str, period: str) -> None:
    session.execute(delete(DigestRun).where(DigestRun.kind == kind, DigestRun.period_key == period))
