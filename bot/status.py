"""Health and status text for `/twoway accounts`, `/twoway status` and the trouble alerts.

Kept apart from the Slack listeners so the wording is one function of the account row and
the time, testable without Slack. Platform-supplied text (handles, error messages) goes
through `public()` because it reaches Slack.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.slack.escape import public
from storage import settings as stored_settings
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTING,
    OPEN,
    Account,
    Mention,
)

CHANNEL_KEY = "channel"  # storage.settings key written by `/twoway setup`
PLATFORM_NAMES = {"x": "X", "facebook": "Facebook"}
STATUS_WORDS = {
    ACCOUNT_OK: "healthy",
    ACCOUNT_NEEDS_ATTENTION: "needs attention",
    ACCOUNT_RATE_LIMITED: "rate limited",
    ACCOUNT_ERROR: "failing",
}
ERROR_LIMIT = 300


def review_channel(session: Session, settings: Settings) -> str | None:
    """The channel cards and alerts go to: TWOWAY_CHANNEL wins over `/twoway setup`."""
    if settings.twoway_channel:
        return settings.twoway_channel
    value = stored_settings.get(session, CHANNEL_KEY)
    return str(value) if value else None


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


def all_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.id)))


def account_label(account: Account) -> str:
    """`X @handle`, escaped: the handle comes from the platform."""
    platform = PLATFORM_NAMES.get(account.platform, account.platform)
    handle = account.handle or account.name or account.external_id
    if account.platform == "x" and account.handle:
        handle = "@" + account.handle.lstrip("@")
    return f"{platform} {public(handle, 80)}"


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


def when(moment: datetime | None, now: datetime) -> str:
    """A time as Slack shows it in the reader's own time zone, with a UTC fallback."""
    if moment is None:
        return "never"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    stamp = f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    return f"{stamp} ({relative(moment, now)})"


def relative(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    if abs(seconds) < 60:
        return "now"
    minutes = abs(seconds) // 60
    amount = (
        f"{minutes} min"
        if minutes < 120
        else f"{minutes // 60} h"
        if minutes < 2880
        else f"{minutes // 1440} d"
    )
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def health_line(account: Account, poll_seconds: int, now: datetime) -> str:
    """One mrkdwn line: what the account is, whether it works, and when it is polled next."""
    state = "paused" if not account.enabled else STATUS_WORDS.get(account.status, account.status)
    parts = [f"*{account_label(account)}* (id {account.id}): {state}"]
    if account.status != ACCOUNT_OK and account.status_reason:
        parts.append(public(account.status_reason, ERROR_LIMIT))
    parts.append(f"last poll {when(account.last_poll_at, now)}")
    parts.append(f"last success {when(account.last_success_at, now)}")
    if account.last_error:
        parts.append(
            f"last error {when(account.last_error_at, now)}: {public(account.last_error, ERROR_LIMIT)}"
        )
    due = next_poll_at(account, poll_seconds, now)
    parts.append("not polled while paused" if due is None else f"next poll {when(due, now)}")
    if account.backlog_gap_at is not None:
        parts.append(f"backlog gap seen {when(account.backlog_gap_at, now)}")
    return " · ".join(parts)


def next_poll_overall(accounts: list[Account], poll_seconds: int, now: datetime) -> datetime | None:
    dues = [d for d in (next_poll_at(a, poll_seconds, now) for a in accounts) if d is not None]
    return min(dues) if dues else None
