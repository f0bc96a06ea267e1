"""Per-item poll progress (`connectors.base.Page.progress`): loaded before a poll, saved per page.

Saved in the transaction that stores the page's mentions, so progress never runs ahead of what
is stored: a crash between pages resumes from the last page that was committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import PollProgress


def load(session: Session, account_id: int) -> dict[str, str]:
    rows = session.execute(
        select(PollProgress.key, PollProgress.value).where(PollProgress.account_id == account_id)
    )
    return {key: value for key, value in rows}


def save(session: Session, account_id: int, changes: Mapping[str, str | None], now: datetime) -> None:
    """Apply `changes`: a value replaces the key's, None deletes it."""
    if not changes:
        return
    gone = [key for key, value in changes.items() if value is None]
    if gone:
        session.execute(
            delete(PollProgress).where(PollProgress.account_id == account_id, PollProgress.key.in_(gone))
        )
    kept = {key: value for key, value in changes.items() if value is not None}
    if not kept:
        return
    existing = {
        row.key: row
        for row in session.scalars(
            select(PollProgress).where(
                PollProgress.account_id == account_id, PollProgress.key.in_(list(kept))
            )
        )
    }
    for key, value in kept.items():
        row = existing.get(key)
        if row is None:
            session.add(PollProgress(account_id=account_id, key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now
    session.flush()


def forget(session: Session, account_id: int) -> None:
    session.execute(delete(PollProgress).where(PollProgress.account_id == account_id))
