"""An account's alert columns: the one alert card per problem, and the backlog-gap notice.

`alert_channel` set with `alert_ts` empty is a claim on the card (taken at `alert_at`); with both
set the card is up. Every move is guarded by the columns as the caller last saw them, so two
sweeps never both post. `backlog_alerted_at` names the gap already announced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Update, or_, update
from sqlalchemy.orm import Session

from storage.models import Account


def _won(session: Session, statement: Update) -> bool:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount == 1


def claim_alert(session: Session, account_id: int, channel: str, at: datetime) -> bool:
    """No alert yet -> a claim on one in `channel`, taken at `at`."""
    return _won(
        session,
        update(Account)
        .where(Account.id == account_id, Account.alert_channel.is_(None))
        .values(alert_channel=channel, alert_ts=None, alert_at=at),
    )


def change_claim(session: Session, account_id: int, claimed_at: datetime | None, **values: Any) -> bool:
    """Change an unposted claim, only while it is still the one taken at `claimed_at`."""
    same = Account.alert_at.is_(None) if claimed_at is None else Account.alert_at == claimed_at
    return _won(
        session,
        update(Account).where(Account.id == account_id, Account.alert_ts.is_(None), same).values(**values),
    )


def close_alert(session: Session, account_id: int, ts: str) -> bool:
    """The card at `ts` is closed (the account works again, or was paused)."""
    return _won(
        session,
        update(Account)
        .where(Account.id == account_id, Account.alert_ts == ts)
        .values(alert_channel=None, alert_ts=None, alert_at=None),
    )


def reopen_alert(session: Session, account_id: int, channel: str, ts: str, at: datetime) -> bool:
    """Put a closed card back, when its recovery notice could not be posted."""
    return _won(
        session,
        update(Account)
        .where(Account.id == account_id, Account.alert_channel.is_(None))
        .values(alert_channel=channel, alert_ts=ts, alert_at=at),
    )


def claim_gap(session: Session, account_id: int, gap_at: datetime) -> bool:
    """The backlog gap seen at `gap_at`, not announced yet -> announced."""
    return _won(
        session,
        update(Account)
        .where(
            Account.id == account_id,
            Account.backlog_gap_at == gap_at,
            or_(Account.backlog_alerted_at.is_(None), Account.backlog_alerted_at != gap_at),
        )
        .values(backlog_alerted_at=gap_at),
    )


def unclaim_gap(session: Session, account_id: int, gap_at: datetime, previous: datetime | None) -> None:
    session.execute(
        update(Account)
        .where(Account.id == account_id, Account.backlog_alerted_at == gap_at)
        .values(backlog_alerted_at=previous)
    )
