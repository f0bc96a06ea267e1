"""Health and status text for `/twoway accounts`, `/twoway status` and the trouble alerts.

Kept apart from the Slack listeners so the wording is one function of the account row and
the time, testable without Slack. Platform-supplied text (handles, error messages) goes
through `public()` because it reaches Slack; error text is scrubbed of known secrets too, for
rows stored before errors were scrubbed on the way in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.logs import scrub
from bot.slack.escape import public
from bot.slack.format import when
from connectors import registry
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    Account,
)

STATUS_WORDS: dict[str, str] = {
    ACCOUNT_OK: "healthy",
    ACCOUNT_NEEDS_ATTENTION: "needs attention",
    ACCOUNT_RATE_LIMITED: "rate limited",
    ACCOUNT_ERROR: "failing",
}
ERROR_LIMIT = 300


def account_label(account: Account) -> str:
    """`X @handle`, escaped: the handle comes from the platform."""
    spec = registry.PLATFORMS.get(account.platform)
    if spec is None:
        return f"{account.platform} {public(account.handle or account.name or account.external_id, 80)}"
    return f"{spec.title} {public(spec.label(account.handle, account.name, account.external_id), 80)}"


def next_poll_at(account: Account, poll_seconds: int, now: datetime) -> datetime | None:
    """When the poller will next look at the account; None when it is paused."""
    if not account.enabled:
        return None
    due = now
    if account.last_poll_at is not None:
        due = max(due, account.last_poll_at + timedelta(seconds=poll_seconds))
    if account.retry_after is not None:
        due = max(due, account.retry_after)
    return due


def health_line(account: Account, poll_seconds: int, now: datetime) -> str:
    """One mrkdwn line: what the account is, whether it works, and when it is polled next."""
    state = "paused" if not account.enabled else STATUS_WORDS.get(account.status, account.status)
    parts = [f"*{account_label(account)}* (id {account.id}): {state}"]
    if account.status != ACCOUNT_OK and account.status_reason:
        parts.append(public(scrub(account.status_reason), ERROR_LIMIT))
    if account.attention:
        parts.append(":warning: " + public(account.attention, 500))
    parts.append(f"last poll {when(account.last_poll_at, now)}")
    parts.append(f"last success {when(account.last_success_at, now)}")
    if account.last_error:
        parts.append(
            f"last error {when(account.last_error_at, now)}: {public(scrub(account.last_error), ERROR_LIMIT)}"
        )
    due = next_poll_at(account, poll_seconds, now)
    parts.append("not polled while paused" if due is None else f"next poll {when(due, now)}")
    if account.backlog_gap_at is not None:
        parts.append(f"backlog gap seen {when(account.backlog_gap_at, now)}")
    return " · ".join(parts)


def next_poll_overall(accounts: list[Account], poll_seconds: int, now: datetime) -> datetime | None:
    dues = [d for d in (next_poll_at(a, poll_seconds, now) for a in accounts) if d is not None]
    return min(dues) if dues else None
