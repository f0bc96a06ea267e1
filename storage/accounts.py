"""Connected accounts: registration, cursor and health. Every status change leaves an audit event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain import AccountIdentity
from storage import audit
from storage.audit import Action
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    Account,
    fits_id,
)

# Statuses whose end is worth a line in the record; a lifted rate limit is routine.
_ALARMING = (ACCOUNT_NEEDS_ATTENTION, ACCOUNT_ERROR)


def get(session: Session, account_id: int) -> Account | None:
    return session.get(Account, account_id) if fits_id(account_id) else None


def by_platform_id(session: Session, platform: str, external_id: str) -> Account | None:
    return session.scalar(
        select(Account).where(Account.platform == platform, Account.external_id == external_id)
    )


def all_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.id)))


def enabled_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.enabled.is_(True)).order_by(Account.id)))


def sealed_accounts(session: Session) -> list[Account]:
    """Accounts whose credentials are stored in the row (connected from Slack), sealed."""
    return list(session.scalars(select(Account).where(Account.credentials.is_not(None)).order_by(Account.id)))


def replace_credentials(session: Session, account_id: int, old: str, new: str, now: datetime) -> bool:
    """Swap the sealed credentials only if they are still `old`: a `/twoway connect` that saved
    new ones meanwhile wins, and nothing it wrote is overwritten."""
    result = session.execute(
        update(Account)
        .where(Account.id == account_id, Account.credentials == old)
        .values(credentials=new)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        audit.record(session, now, Action.CREDENTIALS_RESEALED, account_id=account_id)
    return changed


def save_session(session: Session, account_id: int, sealed: str) -> Account | None:
    """Keep a connector's new session (sealed) on its account; the row, or None if it is gone."""
    account = session.get(Account, account_id)
    if account is not None:
        account.session = sealed
        session.flush()
    return account


def accounts_with_sessions(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.session.is_not(None)).order_by(Account.id)))


def replace_session(session: Session, account_id: int, old: str, new: str) -> bool:
    """Swap the sealed session only if it is still `old` (a poll may have saved a newer one)."""
    result = session.execute(
        update(Account)
        .where(Account.id == account_id, Account.session == old)
        .values(session=new)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def env_accounts(session: Session, platform: str) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.platform == platform, Account.source == "env")))


def _audit_connected(
    session: Session,
    account: Account,
    identity: AccountIdentity,
    source: str,
    actor: str,
    now: datetime,
    **extra: Any,
) -> None:
    audit.record(
        session,
        now,
        Action.ACCOUNT_CONNECTED,
        actor=actor,
        account_id=account.id,
        platform=identity.platform,
        external_id=identity.external_id,
        handle=identity.handle,
        source=source,
        **extra,
    )


def upsert_account(
    session: Session,
    identity: AccountIdentity,
    source: str,
    credentials_token: str | None,
    now: datetime,
    *,
    actor: str = audit.SYSTEM,
) -> Account:
    """Create the account, or refresh its name, source and credentials; a fresh login clears trouble.

    New credentials connected in Slack mean a person has just proven they work, so a
    `needs_attention` or failing status is lifted and polling resumes at once. Env credentials are
    checked again at every start (and `poll --once`): the account is polled at once, and its status
    stays until that poll works.
    """
    account = by_platform_id(session, identity.platform, identity.external_id)
    if account is None:
        account = Account(
            platform=identity.platform,
            external_id=identity.external_id,
            handle=identity.handle,
            name=identity.name,
            source=source,
            credentials=credentials_token,
            enabled=True,
            status=ACCOUNT_OK,
            consecutive_failures=0,
            created_at=now,
        )
        session.add(account)
        session.flush()
        _audit_connected(session, account, identity, source, actor, now)
        return account
    account.handle, account.name, account.source = identity.handle, identity.name, source
    account.credentials = credentials_token
    if source != "env":
        if not account.enabled:
            set_enabled(session, account.id, True, by=actor, now=now)
        _audit_connected(session, account, identity, source, actor, now, reconnected=True)
    if (
        source == "env"
        and account.status == ACCOUNT_RATE_LIMITED
        and account.retry_after
        and account.retry_after > now
    ):
        # Every start (and every `twoway poll --once`) checks env credentials again: that proves the
        # keys, not that the platform's rate limit has passed, so its wait stands.
        return account
    account.retry_after = None
    if source == "env":
        # The same env keys identified the account again: polled at once, but only a poll that
        # works proves a refused permission or a failing endpoint fixed (otherwise every cron run
        # of `poll --once` would log the trouble as over and then back again).
        return account
    if account.status in _ALARMING:
        mark_recovered(session, account, now, actor=actor)
    account.consecutive_failures = 0
    return account


def mark_recovered(session: Session, account: Account, now: datetime, *, actor: str = audit.SYSTEM) -> None:
    previous = account.status
    account.status, account.status_reason = ACCOUNT_OK, None
    if previous in _ALARMING:
        audit.record(
            session, now, Action.ACCOUNT_RECOVERED, actor=actor, account_id=account.id, previous=previous
        )


def mark_success(
    session: Session, account: Account, now: datetime, cursor: str | None, attention: str | None = None
) -> None:
    """A poll stored its whole batch: move the cursor forward (never back) and clear the trouble.

    `attention` is what a person must do before the account stops working (kept until the poll
    that no longer says it); it is recorded when it first appears.
    """
    if attention and attention != account.attention:
        audit.record(session, now, Action.ACCOUNT_WARNED, account_id=account.id, reason=attention)
    account.attention = attention
    account.cursor = newer_cursor(account.cursor, cursor)
    account.last_poll_at = now
    account.last_success_at = now
    account.consecutive_failures = 0
    account.retry_after = None
    mark_recovered(session, account, now)


def mark_failure(
    session: Session,
    account: Account,
    now: datetime,
    *,
    status: str,
    error: str,
    retry_after: datetime | None,
    count: bool = True,
) -> None:
    """A poll failed in a way that fixes itself (rate limit, outage): wait, then try again."""
    account.last_poll_at = now
    account.last_error_at = now
    account.last_error = error
    if count:
        account.consecutive_failures = (account.consecutive_failures or 0) + 1
    account.retry_after = retry_after
    if account.status != ACCOUNT_NEEDS_ATTENTION or status == ACCOUNT_NEEDS_ATTENTION:
        account.status = status
        account.status_reason = error if status != ACCOUNT_OK else None


def mark_needs_attention(
    session: Session, account: Account, now: datetime, reason: str, retry_after: datetime | None = None
) -> None:
    """Credentials were refused: a person has to act. Recorded once per episode, not per poll."""
    first = account.status != ACCOUNT_NEEDS_ATTENTION
    account.last_poll_at = now
    account.last_error_at = now
    account.last_error = reason
    account.consecutive_failures = (account.consecutive_failures or 0) + 1
    account.retry_after = retry_after
    account.status, account.status_reason = ACCOUNT_NEEDS_ATTENTION, reason
    if first:
        audit.record(session, now, Action.ACCOUNT_NEEDS_ATTENTION, account_id=account.id, reason=reason)


def record_gap(session: Session, account: Account, now: datetime, notes: list[str]) -> None:
    account.backlog_gap_at = now
    audit.record(session, now, Action.BACKLOG_GAP, account_id=account.id, notes=notes)


def set_enabled(session: Session, account_id: int, enabled: bool, *, by: str, now: datetime) -> bool:
    """Pause or resume polling; False when the account was already in that state."""
    account = session.get(Account, account_id)
    if account is None or account.enabled == enabled:
        return False
    account.enabled = enabled
    if enabled:
        account.retry_after = None
    audit.record(
        session,
        now,
        Action.ACCOUNT_RESUMED if enabled else Action.ACCOUNT_PAUSED,
        actor=by,
        account_id=account_id,
    )
    return True


def newer_cursor(current: str | None, candidate: str | None) -> str | None:
    """The later of two cursors of one platform (X: numeric ids; Facebook: ISO times)."""
    if candidate is None:
        return current
    if current is None:
        return candidate
    if current.isdigit() and candidate.isdigit():
        return candidate if int(candidate) > int(current) else current
    return max(current, candidate)
