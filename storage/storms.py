"""Storms: counting bursts, the storm rows, the mentions gathered on a summary card, and the
storm's messages in Slack (start notice, summary card, end notice), each claimed before posting.

Entering a storm is an insert guarded by the partial unique index `uq_storms_one_active`, ending
it an UPDATE guarded by `ended_at IS NULL`; a storm message moves `pending|failed -> posting ->
posted|failed` like a card (`storage.cards`), with `attempts` as the row's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Action
from storage.models import (
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTED,
    CARD_POSTING,
    CARD_SUMMARY,
    DISMISSED,
    OPEN,
    REPLY_FAILED,
    REPLY_NONE,
    AuditEvent,
    Base,
    Mention,
    Storm,
    StormMessage,
    fits_id,
)

ACCOUNT_WIDE = ""  # thread_key of a storm across a whole account
STARTED, SUMMARY, ENDED = "started", "summary", "ended"
KINDS = (STARTED, SUMMARY, ENDED)
AUDIT_EVENTS = Base.metadata.tables[AuditEvent.__tablename__]


def thread_of() -> ColumnElement[str]:
    """A mention's thread: its post or conversation, or itself when it starts one."""
    return func.coalesce(Mention.conversation_id, Mention.external_id)


# -- counting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """Mentions posted since a moment: per (account, thread), and per account."""

    threads: dict[tuple[int, str], int]
    accounts: dict[int, int]
    platforms: dict[int, str]


def activity(session: Session, since: datetime) -> Activity:
    thread = thread_of()
    threads: dict[tuple[int, str], int] = {}
    accounts: dict[int, int] = {}
    platforms: dict[int, str] = {}
    for account_id, platform, key, count in session.execute(
        select(Mention.account_id, Mention.platform, thread, func.count())
        .where(Mention.created_at >= since)
        .group_by(Mention.account_id, Mention.platform, thread)
    ):
        threads[(account_id, str(key))] = int(count)
        accounts[account_id] = accounts.get(account_id, 0) + int(count)
        platforms[account_id] = str(platform)
    return Activity(threads, accounts, platforms)


def counts_between(
    session: Session, account_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Mentions per account posted in [start, end): the baseline of the normal rate."""
    if not account_ids:
        return {}
    rows = session.execute(
        select(Mention.account_id, func.count())
        .where(
            Mention.account_id.in_(list(account_ids)), Mention.created_at >= start, Mention.created_at < end
        )
        .group_by(Mention.account_id)
    )
    return {account_id: int(count) for account_id, count in rows}


def post_text(session: Session, account_id: int, thread_key: str) -> str | None:
    """What the thread's post says, as far as its mentions tell (the excerpt connectors keep)."""
    thread = thread_of()
    answers_root = session.scalar(
        select(Mention.parent_text)
        .where(
            Mention.account_id == account_id,
            thread == thread_key,
            Mention.parent_id == thread_key,
            Mention.parent_text.is_not(None),
        )
        .limit(1)
    )
    if answers_root:
        return answers_root
    return session.scalar(
        select(func.coalesce(Mention.parent_text, Mention.text))
        .where(Mention.account_id == account_id, thread == thread_key)
        .order_by(Mention.created_at, Mention.id)
        .limit(1)
    )


# -- storms --------------------------------------------------------------------------------------


def active(session: Session, for_update: bool = False) -> list[Storm]:
    query = select(Storm).where(Storm.ended_at.is_(None)).order_by(Storm.id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return list(session.scalars(query))


def get(session: Session, storm_id: int) -> Storm | None:
    return session.get(Storm, storm_id) if fits_id(storm_id) else None


def start(
    session: Session,
    *,
    account_id: int,
    platform: str,
    thread_key: str,
    post_text: str | None,
    level: int,
    normal: float,
    count: int,
    now: datetime,
) -> Storm | None:
    """The new storm with its three messages waiting, or None when one is active there already."""
    storm = Storm(
        account_id=account_id,
        platform=platform,
        thread_key=thread_key,
        post_text=post_text,
        started_at=now,
        level=level,
        normal=normal,
        peak=count,
        version=0,
        themes={},
    )
    try:
        with session.begin_nested():
            session.add(storm)
            session.flush()
    except IntegrityError:
        return None
    for kind in (STARTED, SUMMARY):
        session.add(StormMessage(storm_id=storm.id, kind=kind, status=CARD_PENDING, attempts=0))
    audit.record(
        session,
        now,
        Action.STORM_STARTED,
        account_id=account_id,
        storm_id=storm.id,
        thread=thread_key or None,
        mentions_in_window=count,
        level=level,
        normal_per_window=round(normal, 2),
    )
    return storm


def end(session: Session, storm_id: int, now: datetime, count: int) -> bool:
    """Active -> ended, once; queues the end notice."""
    result = session.execute(
        update(Storm)
        .where(Storm.id == storm_id, Storm.ended_at.is_(None))
        .values(ended_at=now, version=Storm.version + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    storm = session.get(Storm, storm_id)
    assert storm is not None
    session.add(StormMessage(storm_id=storm_id, kind=ENDED, status=CARD_PENDING, attempts=0))
    total = session.scalar(select(func.count()).select_from(Mention).where(Mention.storm_id == storm_id)) or 0
    audit.record(
        session,
        now,
        Action.STORM_ENDED,
        account_id=storm.account_id,
        storm_id=storm_id,
        thread=storm.thread_key or None,
        mentions=int(total),
        mentions_in_last_window=count,
        peak=storm.peak,
    )
    return True


def note_peak(session: Session, storm_id: int, count: int) -> None:
    session.execute(update(Storm).where(Storm.id == storm_id, Storm.peak < count).values(peak=count))


def touch(session: Session, storm_id: int) -> None:
    """Something its summary card shows changed: the card is redrawn at its next turn."""
    session.execute(update(Storm).where(Storm.id == storm_id).values(version=Storm.version + 1))


def touch_active(session: Session) -> None:
    """Templates or agency details changed: every active storm's drafts are redrawn."""
    session.execute(update(Storm).where(Storm.ended_at.is_(None)).values(version=Storm.version + 1))


def version(session: Session, storm_id: int) -> int:
    return int(session.scalar(select(Storm.version).where(Storm.id == storm_id)) or 0)


def lock(session: Session, storm_id: int) -> Storm | None:
    """The storm row, locked until the transaction ends (its themes are read and written back)."""
    return session.get(Storm, storm_id, with_for_update=True) if fits_id(storm_id) else None


# -- mentions in a storm -------------------------------------------------------------------------


def _scope(storm: Storm) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Mention.account_id == storm.account_id]
    if storm.thread_key != ACCOUNT_WIDE:
        where.append(thread_of() == storm.thread_key)
    return where


def join_recent(
    session: Session, storm: Storm, since: datetime
) -> list[Row[int, str, str | None, bool, str | None]]:
    """Put the scope's recent mentions that are in no storm into this one; (id, text, category,
    urgent, card status) of each. Mentions not triaged yet are decided when triage reaches them."""
    rows = list(
        session.execute(
            select(Mention.id, Mention.text, Mention.category, Mention.urgent, Mention.card_status).where(
                *_scope(storm), Mention.created_at >= since, Mention.storm_id.is_(None)
            )
        ).all()
    )
    if rows:
        session.execute(update(Mention).where(Mention.id.in_([r[0] for r in rows])).values(storm_id=storm.id))
    return rows


def gather(session: Session, storm_id: int, themes: dict[int, int | None], now: datetime) -> list[int]:
    """Move cards not posted yet onto the summary card (`pending -> summary`); the ids moved.

    The guard on `pending` leaves a card the poster has claimed meanwhile to the poster.
    """
    moved = []
    for mention_id, theme in themes.items():
        result = session.execute(
            update(Mention)
            .where(Mention.id == mention_id, Mention.card_status == CARD_PENDING)
            .values(card_status=CARD_SUMMARY, storm_theme=theme)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            moved.append(mention_id)
            audit.record(session, now, Action.GATHERED, mention_id=mention_id, storm_id=storm_id)
    return moved


def set_themes(session: Session, themes: dict[int, int | None]) -> None:
    for mention_id, theme in themes.items():
        if theme is not None:
            session.execute(update(Mention).where(Mention.id == mention_id).values(storm_theme=theme))


@dataclass(frozen=True)
class Item:
    """One mention of a storm, as its summary card counts and quotes it."""

    id: int
    created_at: datetime
    category: str | None
    urgent: bool
    state: str
    card_status: str | None
    theme: int | None
    reply_status: str


def items(session: Session, storm_id: int) -> list[Item]:
    return [
        Item(*row)
        for row in session.execute(
            select(
                Mention.id,
                Mention.created_at,
                Mention.category,
                Mention.urgent,
                Mention.state,
                Mention.card_status,
                Mention.storm_theme,
                Mention.reply_status,
            )
            .where(Mention.storm_id == storm_id)
            .order_by(Mention.created_at, Mention.id)
        )
    ]


def mentions_by_id(session: Session, ids: Sequence[int]) -> dict[int, Mention]:
    if not ids:
        return {}
    return {m.id: m for m in session.scalars(select(Mention).where(Mention.id.in_(list(ids))))}


def dismiss_gathered(
    session: Session, storm_id: int, reason: str, by: str, now: datetime, upto: datetime
) -> list[int]:
    """Dismiss every open item on the summary card that reached TwoWay and was gathered there by
    `upto` (when the card the supervisor saw was drawn: what it counted), each with the reason and
    its own `dismissed` audit event; items with a reply under way are left alone.

    An item is gathered when it is triaged (`triaged_at`), or when its storm starts, after it was
    triaged; either way by `triaged_at <= upto` if it was on a card drawn at `upto`."""
    guard = and_(
        Mention.storm_id == storm_id,
        Mention.card_status == CARD_SUMMARY,
        Mention.state == OPEN,
        Mention.reply_status.in_((REPLY_NONE, REPLY_FAILED)),
        Mention.ingested_at <= upto,
        Mention.triaged_at <= upto,
    )
    ids = [
        row[0]
        for row in session.execute(
            update(Mention)
            .where(guard)
            .values(state=DISMISSED, dismissed_reason=reason, dismissed_by=by, dismissed_at=now)
            .returning(Mention.id)
        )
    ]
    if ids:
        account_id = session.scalar(select(Storm.account_id).where(Storm.id == storm_id))
        session.execute(
            insert(AUDIT_EVENTS),
            [
                {
                    "at": now,
                    "actor": by,
                    "action": Action.DISMISSED.value,
                    "mention_id": mention_id,
                    "account_id": account_id,
                    "details": {"reason": reason, "storm_id": storm_id, "from_summary": True},
                }
                for mention_id in ids
            ],
        )
        audit.record(
            session,
            now,
            Action.STORM_DISMISSED,
            actor=by,
            account_id=account_id,
            storm_id=storm_id,
            reason=reason,
            count=len(ids),
        )
        touch(session, storm_id)
    return ids


def gathered_after(session: Session, storm_id: int, upto: datetime) -> int:
    """Open items on the summary card that reached TwoWay or were gathered after `upto`."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Mention)
            .where(
                Mention.storm_id == storm_id,
                Mention.card_status == CARD_SUMMARY,
                Mention.state == OPEN,
                or_(Mention.ingested_at > upto, Mention.triaged_at > upto),
            )
        )
        or 0
    )


# -- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    id: int
    storm_id: int
    kind: str
    status: str
    attempts: int
    claimed_at: datetime | None
    error: str | None


def waiting_messages(session: Session, stale_before: datetime) -> list[Waiting]:
    """Storm messages to post: pending or failed, or claimed before `stale_before` and never settled."""
    rows = session.execute(
        select(
            StormMessage.id,
            StormMessage.storm_id,
            StormMessage.kind,
            StormMessage.status,
            StormMessage.attempts,
            StormMessage.claimed_at,
            StormMessage.error,
        )
        .where(
            or_(
                StormMessage.status.in_((CARD_PENDING, CARD_FAILED)),
                and_(StormMessage.status == CARD_POSTING, StormMessage.claimed_at < stale_before),
            )
        )
        .order_by(StormMessage.id)
    )
    return [Waiting(*row) for row in rows]


def claim_message(
    session: Session, message_id: int, states: tuple[str, ...], attempts: int, now: datetime
) -> bool:
    result = session.execute(
        update(StormMessage)
        .where(
            StormMessage.id == message_id, StormMessage.status.in_(states), StormMessage.attempts == attempts
        )
        .values(status=CARD_POSTING, claimed_at=now, attempts=StormMessage.attempts + 1)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def message_posted(
    session: Session, message_id: int, channel: str, ts: str, now: datetime, shows: int | None
) -> None:
    """Settled `posted`; `shows` is the storm version the posted text was drawn from (None: unknown,
    a message found again after a crash, redrawn at the next turn)."""
    session.execute(
        update(StormMessage)
        .where(StormMessage.id == message_id, StormMessage.status == CARD_POSTING)
        .values(
            status=CARD_POSTED,
            channel=channel,
            ts=ts,
            error=None,
            drawn_at=now,
            drawn_version=-1 if shows is None else shows,
        )
    )


def message_failed(session: Session, message_id: int, error: str) -> None:
    session.execute(
        update(StormMessage)
        .where(StormMessage.id == message_id, StormMessage.status == CARD_POSTING)
        .values(status=CARD_FAILED, error=error)
    )


def message(session: Session, storm_id: int, kind: str) -> StormMessage | None:
    return session.scalar(
        select(StormMessage).where(StormMessage.storm_id == storm_id, StormMessage.kind == kind)
    )


@dataclass(frozen=True)
class Redraw:
    message_id: int
    storm_id: int
    channel: str
    ts: str
    drawn_at: datetime | None
    version: int  # the storm's version now: what the redraw will show at least


def summaries_to_redraw(session: Session, quiet_before: datetime) -> list[Redraw]:
    """Posted summary cards whose storm changed since they were drawn, last drawn before `quiet_before`."""
    rows = session.execute(
        select(
            StormMessage.id,
            StormMessage.storm_id,
            StormMessage.channel,
            StormMessage.ts,
            StormMessage.drawn_at,
            Storm.version,
        )
        .join(Storm, Storm.id == StormMessage.storm_id)
        .where(
            StormMessage.kind == SUMMARY,
            StormMessage.status == CARD_POSTED,
            StormMessage.ts.is_not(None),
            Storm.version > StormMessage.drawn_version,
            or_(StormMessage.drawn_at.is_(None), StormMessage.drawn_at <= quiet_before),
        )
        .order_by(StormMessage.id)
    )
    return [Redraw(m, s, str(c), str(t), d, int(v)) for m, s, c, t, d, v in rows]


def claim_redraw(session: Session, item: Redraw, now: datetime) -> bool:
    """The right to redraw now, for one caller (`drawn_at` as read is the guard). The card will
    show at least `item.version`: a change after it is read makes the card due again."""
    guard = (
        StormMessage.drawn_at.is_(None) if item.drawn_at is None else StormMessage.drawn_at == item.drawn_at
    )
    result = session.execute(
        update(StormMessage)
        .where(StormMessage.id == item.message_id, guard)
        .values(drawn_at=now, drawn_version=item.version)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def undo_redraw(session: Session, item: Redraw, claimed: datetime) -> None:
    """The redraw claimed at `claimed` failed: the card is due again."""
    session.execute(
        update(StormMessage)
        .where(StormMessage.id == item.message_id, StormMessage.drawn_at == claimed)
        .values(drawn_at=item.drawn_at, drawn_version=-1)
    )


def summary_at(session: Session, channel: object, ts: object) -> int | None:
    """The storm whose summary card is this message, if any."""
    return session.scalar(
        select(StormMessage.storm_id)
        .where(StormMessage.kind == SUMMARY, StormMessage.channel == channel, StormMessage.ts == ts)
        .limit(1)
    )


def summary_cards(session: Session, storm_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Where each storm's summary card is, for links from the queue."""
    if not storm_ids:
        return {}
    rows = session.execute(
        select(StormMessage.storm_id, StormMessage.channel, StormMessage.ts).where(
            StormMessage.storm_id.in_(list(storm_ids)),
            StormMessage.kind == SUMMARY,
            StormMessage.ts.is_not(None),
        )
    )
    return {storm_id: (str(channel), str(ts)) for storm_id, channel, ts in rows}
