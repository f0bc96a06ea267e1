"""What is waiting for an answer, and how overdue it is.

SLA clocks start when a mention reached TwoWay (`ingested_at`), not when it was posted: after a
first poll that reads a day of backlog, nobody should be paged for items TwoWay never had a
chance to show. The queue shows how long the public has been waiting (`created_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from storage import keys, settings
from storage.models import (
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTED,
    CARD_POSTING,
    CARD_SUMMARY,
    OPEN,
    REPLY_SENDING,
    REPLY_UNKNOWN,
    Mention,
)

# SLA keys: the four categories plus "urgent", which applies to any urgent item.
SLA_KEYS = ("urgent", "question", "criticism", "compliment", "other")
SLA_DEFAULTS: dict[str, int | None] = {
    "urgent": 5 * 60,
    "question": 3600,
    "criticism": 2 * 3600,
    "compliment": 24 * 3600,
    "other": None,
}
QUEUE_FILTERS = ("mine", "unassigned", "all")
PAGE_SIZE = 15


def sla_settings(session: Session) -> dict[str, int | None]:
    """Seconds per SLA key; None means no SLA. Unset keys take the defaults."""
    stored = settings.get_many(session, keys.SLA_PREFIX)
    result: dict[str, int | None] = {}
    for key in SLA_KEYS:
        name = keys.sla(key)
        value = stored[name] if name in stored else SLA_DEFAULTS[key]
        result[key] = int(value) if value is not None else None
    return result


def threshold(slas: dict[str, int | None], category: str | None, urgent: bool) -> int | None:
    """The SLA that applies to one item: the shorter of its category's and, if urgent, the urgent one."""
    candidates = [slas.get(category or "other")]
    if urgent:
        candidates.append(slas.get("urgent"))
    present = [c for c in candidates if c is not None]
    return min(present) if present else None


def overdue_clause(
    slas: dict[str, int | None], now: datetime, factor: int = 1, urgent_only: bool = False
) -> ColumnElement[bool]:
    """SQL condition: the mention has waited at least `factor` times its SLA since ingestion."""
    parts: list[ColumnElement[bool]] = []
    for category in SLA_KEYS[1:]:
        for urgent in (False, True):
            if urgent_only and not urgent:
                continue
            seconds = threshold(slas, category, urgent)
            if seconds is None:
                continue
            parts.append(
                and_(
                    Mention.category == category,
                    Mention.urgent.is_(urgent),
                    Mention.ingested_at <= now - timedelta(seconds=seconds * factor),
                )
            )
    return or_(*parts) if parts else false()


def chased() -> ColumnElement[bool]:
    """SQL condition: an item SLA notices chase, and so the only kind that can be overdue.

    Open, its card in Slack (staff can act on it; items on a storm's summary card are answered from
    there), its reply not going out or possibly out (the card already asks staff to check the
    platform), and the post still on the platform (a deleted one can never be answered).
    Reminders, the report's "overdue now" and the queue's flag all use this one test.
    """
    return and_(
        Mention.state == OPEN,
        Mention.card_status == CARD_POSTED,
        Mention.card_ts.is_not(None),
        Mention.reply_status.not_in((REPLY_SENDING, REPLY_UNKNOWN)),
        Mention.deleted_at.is_(None),
    )


@dataclass(frozen=True)
class QueueItem:
    id: int
    platform: str
    category: str | None
    urgent: bool
    created_at: datetime
    ingested_at: datetime
    assignee: str | None
    card_channel: str | None
    card_ts: str | None
    author_handle: str
    author_name: str
    text: str
    url: str = ""
    storm_id: int | None = None
    on_summary: bool = False  # shown on its storm's summary card, not a card of its own
    chased: bool = False  # SLA notices chase it (`chased()`), so it may be flagged overdue


@dataclass(frozen=True)
class QueuePage:
    which: str
    items: list[QueueItem]
    total: int
    page: int
    pages: int
    on_summaries: int = 0  # of `total`, the items shown on storm summary cards


def unanswered(
    session: Session,
    which: str,
    user: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    storm_id: int | None = None,
) -> QueuePage:
    """Open mentions, oldest first; `which` is mine (assigned to `user`), unassigned or all;
    `storm_id` keeps one storm's."""
    if which not in QUEUE_FILTERS:
        raise ValueError(f"unknown queue filter {which!r}")
    where: list[ColumnElement[bool]] = [Mention.state == OPEN]
    if which == "mine":
        where.append(Mention.assignee == (user or ""))
    elif which == "unassigned":
        where.append(Mention.assignee.is_(None))
    if storm_id is not None:
        where.append(Mention.storm_id == storm_id)
    total = session.scalar(select(func.count()).select_from(Mention).where(*where)) or 0
    on_summaries = (
        session.scalar(
            select(func.count()).select_from(Mention).where(*where, Mention.card_status == CARD_SUMMARY)
        )
        or 0
    )
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = session.execute(
        select(Mention, chased())
        .where(*where)
        .order_by(Mention.created_at, Mention.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [
        QueueItem(
            id=m.id,
            platform=m.platform,
            category=m.category,
            urgent=m.urgent,
            created_at=m.created_at,
            ingested_at=m.ingested_at,
            assignee=m.assignee,
            card_channel=m.card_channel,
            card_ts=m.card_ts,
            author_handle=m.author_handle,
            author_name=m.author_name,
            text=m.text,
            url=m.url,
            storm_id=m.storm_id,
            on_summary=m.card_status == CARD_SUMMARY,
            chased=bool(is_chased),
        )
        for m, is_chased in rows
    ]
    return QueuePage(which=which, items=items, total=total, page=page, pages=pages, on_summaries=on_summaries)


def unanswered_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Mention).where(Mention.state == OPEN)) or 0


def cards_not_posted(session: Session) -> tuple[int, str | None]:
    """Cards still waiting to reach Slack, and the latest error among those that failed.

    A card Slack keeps refusing (the bot removed from the channel) is retried every sweep; alerts
    go to that same channel, so `/twoway status` is where someone can see it.
    """
    waiting = (
        session.scalar(
            select(func.count())
            .select_from(Mention)
            .where(Mention.card_status.in_((CARD_PENDING, CARD_FAILED, CARD_POSTING)))
        )
        or 0
    )
    error = session.scalar(
        select(Mention.card_error)
        .where(Mention.card_status == CARD_FAILED, Mention.card_error.is_not(None))
        .order_by(Mention.id.desc())
        .limit(1)
    )
    return waiting, error
