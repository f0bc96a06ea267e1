"""Per-item poll progress (`connectors.base.Page.progress`): loaded before a poll, saved per page.

Saved in the transaction that stores the page's mentions, so progress never runs ahead of what
is stored: a crash between pages resumes from the last page that was committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import dialect
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
    # One statement per key, insert or replace: two webhook deliveries naming the same post at once
    # (Meta retries, or two comments in one second) must not fail on the unique key.
    statement = dialect.insert(session, PollProgress)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["account_id", "key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        ),
        [
            {"account_id": account_id, "key": key, "value": value, "updated_at": now}
            for key, value in kept.items()
        ],
    )


def forget(session: Session, account_id: int) -> None:
    session.execute(delete(PollProgress).where(PollProgress.account_id == account_id))
