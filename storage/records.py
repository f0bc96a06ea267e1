"""The public record of mentions, read a page at a time with everything that happened to each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Account, AuditEvent, Mention, Reply, SlaNotice


@dataclass(frozen=True)
class Item:
    mention: Mention
    account: str  # the account's handle or name, "" when the account is gone
    replies: list[Reply]
    events: list[AuditEvent]
    notices: list[SlaNotice]


def pages(sessions: sessionmaker[Session], start: datetime, end: datetime, size: int) -> Iterator[list[Item]]:
    """Mentions posted in [start, end), oldest first, `size` at a time, each page in its own
    short session (keyset paging: a long export never holds one transaction open)."""
    last: tuple[datetime, int] | None = None
    while True:
        with sessions() as session:
            query = (
                select(Mention, Account.handle, Account.name)
                .join(Account, Account.id == Mention.account_id, isouter=True)
                .where(Mention.created_at >= start, Mention.created_at < end)
                .order_by(Mention.created_at, Mention.id)
                .limit(size)
            )
            if last is not None:
                query = query.where(
                    or_(
                        Mention.created_at > last[0],
                        and_(Mention.created_at == last[0], Mention.id > last[1]),
                    )
                )
            page = session.execute(query).all()
            if not page:
                return
            ids = [row[0].id for row in page]
            replies: dict[int, list[Reply]] = defaultdict(list)
            for reply in session.scalars(select(Reply).where(Reply.mention_id.in_(ids)).order_by(Reply.id)):
                replies[reply.mention_id].append(reply)
            events: dict[int, list[AuditEvent]] = defaultdict(list)
            for event in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.mention_id.in_(ids))
                .order_by(AuditEvent.at, AuditEvent.id)
            ):
                events[event.mention_id or 0].append(event)
            notices: dict[int, list[SlaNotice]] = defaultdict(list)
            for notice in session.scalars(
                select(SlaNotice).where(SlaNotice.mention_id.in_(ids)).order_by(SlaNotice.at, SlaNotice.id)
            ):
                notices[notice.mention_id].append(notice)
            yield [
                Item(
                    mention,
                    handle or name or "",
                    replies[mention.id],
                    events[mention.id],
                    notices[mention.id],
                )
                for mention, handle, name in page
            ]
            last = (page[-1][0].created_at, page[-1][0].id)
