"""Replies the agency sent, with the posts they answered: material for drafting the next ones."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import REPLY_SENT, Mention, Reply


@dataclass(frozen=True)
class SentReply:
    reply_id: int
    text: str
    mention_id: int
    mention_text: str
    category: str
    author_handle: str
    author_name: str


def recent_sent(session: Session, limit: int = 1000) -> list[SentReply]:
    """The newest replies that went out, one per distinct text, newest first."""
    rows = session.execute(
        select(
            Reply.id,
            Reply.text,
            Mention.id,
            Mention.text,
            Mention.category,
            Mention.author_handle,
            Mention.author_name,
        )
        .join(Mention, Mention.id == Reply.mention_id)
        .where(Reply.status == REPLY_SENT, Mention.category.is_not(None))
        .order_by(Reply.completed_at.desc(), Reply.id.desc())
        .limit(limit * 2)
    )
    seen: set[str] = set()
    found: list[SentReply] = []
    for reply_id, text, mention_id, mention_text, category, handle, name in rows:
        if text in seen or category is None:
            continue
        seen.add(text)
        found.append(SentReply(reply_id, text, mention_id, mention_text, category, handle, name))
        if len(found) == limit:
            break
    return found
