"""Storing what the connectors fetch: one bulk insert per page, duplicates ignored by the unique key.

Polls overlap on purpose (the cursor post is re-read, comments near the cursor are re-read), and
a crash between pages repeats a page, so `store_page` must be idempotent: `ON CONFLICT DO NOTHING`
on (platform, external_id) keeps the first copy and its state, and only new rows are audited.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

import domain
from storage import audit, dialect
from storage.audit import Action
from storage.models import (
    CARD_PENDING,
    NEW,
    OPEN,
    REPLY_NONE,
    REPLY_SENDING,
    REPLY_UNKNOWN,
    Account,
    AuditEvent,
    Base,
    Mention,
    fits_id,
)

log = logging.getLogger(__name__)

MENTIONS = Base.metadata.tables[Mention.__tablename__]
AUDIT_EVENTS = Base.metadata.tables[AuditEvent.__tablename__]

ID_LIMIT = 255  # the id columns (Bluesky names posts by AT-URIs of about 70)
NAME_LIMIT = 255
URL_LIMIT = 1024


# What a database refuses in text, as `repr` shows it: NUL, and the lone surrogates of a broken
# "\\ud83d" escape in a platform's JSON (half an emoji), which no UTF-8 encoder takes.
_UNSTORABLE = re.compile(r"\\x00|\\ud[89a-f]")


def _storable(value: str) -> str:
    """NUL removed (PostgreSQL refuses it) and a lone surrogate made U+FFFD: one such post must not
    make the poll fail, and so stop every later post of the account from being read."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _text(value: str | None, limit: int | None = None) -> str | None:
    """Storable text (`_storable`); VARCHAR columns refuse overlong values."""
    if value is None:
        return None
    value = _storable(value)
    return value[:limit] if limit else value


def _json(value: Any) -> Any:
    """The payload with every string storable (PostgreSQL's JSONB refuses NUL and lone
    surrogates); cheap when there is none."""
    return _clean(value) if _UNSTORABLE.search(repr(value)) else value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, dict):
        return {_storable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _row(account: Account, mention: domain.Mention, now: datetime) -> dict[str, Any] | None:
    ids = (mention.external_id, mention.conversation_id or "", mention.parent_id or "", mention.author.id)
    if any(len(i) > ID_LIMIT for i in ids):
        log.warning("skipped a %s mention whose id is longer than %d characters", mention.platform, ID_LIMIT)
        return None
    return {
        "account_id": account.id,
        "platform": mention.platform,
        "external_id": mention.external_id,
        "author_id": mention.author.id,
        "author_handle": _text(mention.author.handle, NAME_LIMIT),
        "author_name": _text(mention.author.name, NAME_LIMIT),
        "author_url": _text(mention.author.url, URL_LIMIT),
        "text": _text(mention.text),
        "url": _text(mention.url, URL_LIMIT),
        "created_at": mention.created_at,
        "ingested_at": now,
        "conversation_id": mention.conversation_id,
        "parent_id": mention.parent_id,
        "parent_text": _text(mention.parent_text),
        "explicit_mention": mention.explicit_mention,
        "raw": _json(dict(mention.raw)),
        "state": NEW,
        "urgent": False,
        "reply_status": REPLY_NONE,
        "card_attempts": 0,
    }


def store_page(
    session: Session,
    account: Account,
    mentions: Sequence[domain.Mention],
    now: datetime,
    edited: list[int] | None = None,
) -> int:
    """Insert the mentions not stored yet (state 'new'), audit each one, and say how many were new;
    the ids of stored items whose text changed are added to `edited` (their cards need a redraw).

    A later version of a post already stored (or in this page) is no new post: its text is
    recorded as an edit of the version on record, which keeps its card and its replies."""
    newer, older = _versions(session, account, mentions)
    rows = [
        r
        for r in (
            _row(account, m, now)
            for m in mentions
            if m.external_id not in newer and m.external_id not in older
        )
        if r is not None
    ]
    if not rows and not newer:
        return 0
    # Connectors re-read an overlap (up to a page on Bluesky) every poll. Rows already stored are
    # left out before inserting: on PostgreSQL an insert that meets a conflict still uses up a
    # number of the id sequence, so repeats would make item numbers jump by dozens between cards.
    stored = _stored(session, account.platform, [r["external_id"] for r in rows])
    fresh = [r for r in rows if r["external_id"] not in stored]
    # A Core executemany: SQLAlchemy batches it as multi-row INSERTs ("insertmanyvalues") with a
    # cached compiled statement; RETURNING yields only the rows that were really inserted (ON
    # CONFLICT still guards against a poll storing the same post at the same moment).
    table = MENTIONS
    statement = (
        dialect.insert(session, table)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(table.c.id, table.c.external_id)
    )
    inserted = [(row.id, row.external_id) for row in session.execute(statement, fresh)] if fresh else []
    new_ids = {external_id for _, external_id in inserted}
    seen = {r["external_id"]: r["text"] for r in rows if r["external_id"] not in new_ids}
    seen.update(newer.values())  # the newest version's text wins
    changed = _record_edits(session, account, seen, now, {record: v for v, (record, _) in newer.items()})
    if edited is not None:
        edited.extend(changed)
    if inserted:
        session.execute(
            insert(AUDIT_EVENTS),
            [
                {
                    "at": now,
                    "actor": audit.SYSTEM,
                    "action": "ingested",
                    "mention_id": mention_id,
                    "account_id": account.id,
                    "details": {"platform": account.platform, "external_id": external_id},
                }
                for mention_id, external_id in inserted
            ],
        )
    return len(inserted)


def _stored(session: Session, platform: str, external_ids: Sequence[str]) -> set[str]:
    """Which of these posts of `platform` are stored already."""
    if not external_ids:
        return set()
    found = session.scalars(
        select(MENTIONS.c.external_id).where(
            MENTIONS.c.platform == platform, MENTIONS.c.external_id.in_(sorted(set(external_ids)))
        )
    )
    return set(found)


def _versions(
    session: Session, account: Account, mentions: Sequence[domain.Mention]
) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """Edited posts: ({id of a newer version: (id of the version on record, its text)}, ids of
    versions no newer than the text on record), neither of them a new post.

    The version on record is the first one TwoWay stored; its text is the newest version's seen
    so far (the `version` of its latest `edited` event). A version read again that is not newer
    (X may serve old versions beside new ones, on another page or in a later poll) is no edit."""
    edited = sorted(
        (m for m in mentions if m.external_id in m.versions), key=lambda m: m.versions.index(m.external_id)
    )
    if not edited:
        return {}, set()
    wanted = {i for m in edited for i in m.versions}
    rows = session.execute(
        select(Mention.external_id, Mention.id).where(
            Mention.platform == account.platform, Mention.external_id.in_(list(wanted))
        )
    )
    stored = {external_id: mention_id for external_id, mention_id in rows}
    edits = _latest_edits(session, list(stored.values()))
    shown = {
        e: edits[i]["version"] for e, i in stored.items() if isinstance(edits.get(i, {}).get("version"), str)
    }
    known = set(stored)
    newer: dict[str, tuple[str, str]] = {}
    older: set[str] = set()
    for mention in edited:  # oldest versions first, so the first one seen is the one stored
        chain, own = mention.versions, mention.versions.index(mention.external_id)
        record = next((i for i in chain if i in known), None)
        if record is None:
            known.add(mention.external_id)
            continue
        current = shown.get(record, record)
        if own > (chain.index(current) if current in chain else chain.index(record)):
            newer[mention.external_id] = (record, _text(mention.text) or "")
            shown[record] = mention.external_id
        else:
            older.add(mention.external_id)
    return newer, older


def _latest_edits(session: Session, mention_ids: list[int]) -> dict[int, dict[str, Any]]:
    """{mention id: the details of its latest `edited` event} for those that have one."""
    if not mention_ids:
        return {}
    events = session.execute(
        select(AuditEvent.mention_id, AuditEvent.details)
        .where(AuditEvent.action == Action.EDITED, AuditEvent.mention_id.in_(mention_ids))
        .order_by(AuditEvent.id)
    )
    return {mention_id: details for mention_id, details in events if isinstance(details, dict)}


def _record_edits(
    session: Session, account: Account, seen: dict[str, str], now: datetime, versions: dict[str, str]
) -> list[int]:
    """Audit a changed text when a stored item is read again (the overlap of each poll); the ids
    of the items whose text changed.

    The row's text becomes the newest version, so the card, triage and drafts read what the author
    says now; each edit is an append-only 'edited' event with the text before and after (the first
    one's "before" is the text as first ingested), which is what a public-records request asks for
    (and, for a platform that gives each version its own id, the id of the version read: `versions`).
    """
    if not seen:
        return []
    stored = session.execute(
        select(Mention.id, Mention.external_id, Mention.text).where(
            Mention.platform == account.platform, Mention.external_id.in_(list(seen))
        )
    ).all()
    if not stored:
        return []
    latest = {mention_id: text for mention_id, _, text in stored}
    for mention_id, details in _latest_edits(session, list(latest)).items():
        if isinstance(details.get("text"), str):
            latest[mention_id] = details["text"]
    edited: list[int] = []
    for mention_id, external_id, _ in stored:
        if seen[external_id] != latest[mention_id]:
            version = {"version": versions[external_id]} if external_id in versions else {}
            audit.record(
                session,
                now,
                Action.EDITED,
                mention_id=mention_id,
                account_id=account.id,
                previous_text=latest[mention_id],
                text=seen[external_id],
                **version,
            )
            session.execute(update(Mention).where(Mention.id == mention_id).values(text=seen[external_id]))
            edited.append(mention_id)
    return edited


def get(session: Session, mention_id: int, for_update: bool = False) -> Mention | None:
    if not fits_id(mention_id):
        return None
    return session.get(Mention, mention_id, with_for_update=for_update)


def edited_since_judged(session: Session, since: datetime, limit: int) -> list[int]:
    """Triaged items edited (an `edited` event after `since`) with no `triaged` or `retriaged`
    event after their latest edit, whose reply is not going out: what the re-triage sweep reads,
    oldest edit first.

    Read from the audit trail, so an edit seen just before a crash is still read after it."""
    edits = (
        select(AuditEvent.mention_id, func.max(AuditEvent.id).label("last"))
        .where(AuditEvent.at >= since, AuditEvent.action == Action.EDITED)
        .group_by(AuditEvent.mention_id)
        .subquery()
    )
    later = (
        select(AuditEvent.id)
        .where(
            AuditEvent.mention_id == edits.c.mention_id,
            AuditEvent.action.in_((Action.TRIAGED, Action.RETRIAGED)),
            AuditEvent.id > edits.c.last,
        )
        .exists()
    )
    rows = session.execute(
        select(edits.c.mention_id)
        .join(Mention, Mention.id == edits.c.mention_id)
        # A reply going out (or maybe out) is settled first: judged too early, the edit would be
        # marked read while the item could not be judged, and never read again once it reopens.
        .where(Mention.state != NEW, Mention.reply_status.not_in((REPLY_SENDING, REPLY_UNKNOWN)), ~later)
        .order_by(edits.c.last)
        .limit(limit)
    )
    return [mention_id for (mention_id,) in rows]


def last_edited_at(session: Session, mention_id: int) -> datetime | None:
    """When TwoWay last saw the author edit the post (its `edited` audit events), None if never."""
    return session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.mention_id == mention_id, AuditEvent.action == Action.EDITED
        )
    )


def mark_deleted(session: Session, mention_id: int, at: datetime, why: str) -> bool:
    """Record that the platform says the post is gone: `deleted_at` (once: the first sighting
    stands) and an audit event for the public record. Whether this call recorded it."""
    done = session.execute(
        update(Mention).where(Mention.id == mention_id, Mention.deleted_at.is_(None)).values(deleted_at=at)
    )
    if not cast(Any, done).rowcount:
        return False
    audit.record(session, at, Action.DELETED, mention_id=mention_id, why=why)
    return True


# id, text, parent_text, platform, author_handle, author_name, account_id, thread, created_at, storm_id,
# parent_id
Untriaged = Row[int, str, str | None, str, str, str, int, str, datetime, int | None, str | None]


def untriaged(session: Session, limit: int) -> list[Untriaged]:
    """Mentions still `new`, newest first: what a triage sweep reads.

    Newest first because a backlog is triaged a chunk at a time and each chunk's cards go out
    while the next is judged: what was just posted (an emergency happening now) must not wait
    behind yesterday's comments.
    """
    return list(
        session.execute(
            select(
                Mention.id,
                Mention.text,
                Mention.parent_text,
                Mention.platform,
                Mention.author_handle,
                Mention.author_name,
                Mention.account_id,
                func.coalesce(Mention.conversation_id, Mention.external_id).label("thread"),
                Mention.created_at,
                Mention.storm_id,
                Mention.parent_id,
            )
            .where(Mention.state == NEW)
            .order_by(Mention.created_at.desc(), Mention.id.desc())
            .limit(limit)
        ).all()
    )


def claim_untriaged(session: Session, ids: Sequence[int]) -> set[int]:
    """Of `ids`, the rows still `new` that this transaction may write.

    On PostgreSQL, `FOR UPDATE SKIP LOCKED` leaves rows another sweep is writing to that sweep (no
    waiting, no deadlock); on SQLite the transaction already holds the database's write lock
    (BEGIN IMMEDIATE).
    """
    claim = select(Mention.id).where(Mention.id.in_(list(ids)), Mention.state == NEW)
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.order_by(Mention.id).with_for_update(skip_locked=True)
    return set(session.scalars(claim))


_MENTIONS = cast(Table, Mention.__table__)
_TRIAGED = (
    update(_MENTIONS)
    .where(_MENTIONS.c.id == bindparam("mention_id"), _MENTIONS.c.state == NEW)
    .values(
        category=bindparam("category"),
        confidence=bindparam("confidence"),
        urgent=bindparam("urgent"),
        urgent_reason=bindparam("urgent_reason"),
        scores=bindparam("scores"),
        drafts=bindparam("drafts"),
        triaged_at=bindparam("triaged_at"),
        state=OPEN,
        card_status=bindparam("card_status"),
        storm_id=bindparam("storm_id"),
        storm_theme=bindparam("storm_theme"),
        card_not_before=bindparam("card_not_before"),
    )
)


def write_triage(session: Session, rows: list[dict[str, Any]]) -> None:
    """`new -> open` with the judgement, drafts and where it is shown (`card_status` pending, or
    summary in a storm), in one batch; each row keeps its `new` guard."""
    session.execute(
        _TRIAGED,
        [
            {"card_status": CARD_PENDING, "storm_id": None, "storm_theme": None, "card_not_before": None, **r}
            for r in rows
        ],
    )


def to_domain(row: Mention) -> domain.Mention:
    """The stored row as the frozen type handlers and connectors take."""
    return domain.Mention(
        platform=row.platform,
        external_id=row.external_id,
        account_external_id=_account_external_id(row) or "",
        author=domain.Author(
            id=row.author_id, handle=row.author_handle, name=row.author_name, url=row.author_url
        ),
        text=row.text,
        url=row.url,
        created_at=row.created_at,
        conversation_id=row.conversation_id,
        parent_id=row.parent_id,
        parent_text=row.parent_text,
        explicit_mention=row.explicit_mention,
        raw=row.raw or {},
    )


def _account_external_id(row: Mention) -> str | None:
    session = Session.object_session(row)
    if session is None:
        return None
    account = session.get(Account, row.account_id)
    return account.external_id if account is not None else None
