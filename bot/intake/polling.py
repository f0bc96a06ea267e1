"""One poll of one account: fetch page by page, store each page, then move the cursor.

Each page is committed before the next is requested, and the cursor is saved only after the last
page, so a crash or an error mid-batch re-reads (and de-duplicates) instead of skipping. Failures
become account health (status, backoff, `needs_attention`) rather than exceptions: the caller is
a scheduler job or `twoway poll --once`, and one bad account must not stop the others.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.context import Context
from bot.core.logs import scrub
from bot.core.retry import MAX_BACKOFF, backoff
from bot.intake.accounts import connector_for
from connectors import registry
from connectors.base import AuthFailed, ConnectorError, PollOutcome, RateLimited
from connectors.http import redact
from storage import accounts, audit, progress
from storage.audit import Action
from storage.mentions import store_page
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    Account,
)

log = logging.getLogger(__name__)

ATTENTION_RETRY = timedelta(hours=1)  # refused credentials are re-tried this rarely, not hammered
DUE_SLACK = timedelta(seconds=5)  # a retry time this close counts as due (scheduler jitter)


@dataclass
class PollSummary:
    """What one poll of one account did, for the CLI line and the scheduler's follow-up."""

    account: str
    account_id: int | None = None
    new: int = 0
    skipped: int = 0
    requests: int = 0
    status: str = ACCOUNT_OK  # ok | rate_limited | error | needs_attention | waiting | paused | missing
    error: str | None = None
    gap: bool = False
    partial: bool = False  # the connector stopped at its page budget; the next poll continues

    def line(self) -> str:
        text = (
            f"{self.account}: {self.new} new, {self.skipped} skipped, {self.requests} requests, {self.status}"
        )
        if self.error:
            text += f" ({self.error})"
        if self.gap:
            text += "; backlog gap: the platform could not reach back to the last poll, older mentions were missed"
        if self.partial:
            text += "; more to read, the next poll continues where this one stopped"
        return text


def label(account: Account) -> str:
    """`x @agency` or `facebook Agency Police`: the account as an operator recognises it."""
    spec = registry.PLATFORMS.get(account.platform)
    if spec is None:
        return f"{account.platform} {account.handle or account.name or account.external_id}"
    return f"{spec.name} {spec.label(account.handle, account.name, account.external_id)}"


def poll_account(ctx: Context, account_id: int) -> PollSummary:
    """Poll one account once; never raises for platform trouble (it becomes the account's health)."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        account = accounts.get(session, account_id)
        if account is None:
            return PollSummary(f"account {account_id}", account_id, status="missing", error="no such account")
        summary = PollSummary(label(account), account_id)
        if not account.enabled:
            summary.status = "paused"
            return summary
        # A platform's rate-limit reset is kept to the second (an early call is only another 429);
        # our own backoffs may be a scheduler's jitter early.
        slack = timedelta(0) if account.status == ACCOUNT_RATE_LIMITED else DUE_SLACK
        if account.retry_after is not None and account.retry_after - now > slack:
            summary.status = "waiting"
            summary.error = f"next try {account.retry_after:%Y-%m-%d %H:%M:%S} UTC after {account.status}"
            return summary
        cursor = account.cursor
        kept = progress.load(session, account_id)
    outcome = PollOutcome()
    try:
        connector = connector_for(ctx, account)
        for page in connector.fetch(cursor, now, outcome, kept):
            if page.mentions or page.progress:
                with ctx.transaction() as session:  # the page and how far it got, or neither
                    row = accounts.get(session, account_id)
                    assert row is not None
                    summary.new += store_page(session, row, page.mentions, now)
                    progress.save(session, account_id, page.progress, now)
            summary.skipped += page.skipped
    except ConnectorError as exc:
        summary.requests = outcome.requests
        _failed(ctx, account_id, summary, exc, now)
        return summary
    except Exception as exc:
        summary.requests = outcome.requests
        log.error(
            "poll of %s failed unexpectedly:\n%s",
            summary.account,
            redact("".join(traceback.format_exception(exc))),
        )
        _failed(ctx, account_id, summary, exc, now)
        return summary
    summary.requests = outcome.requests
    summary.partial = outcome.partial
    with ctx.transaction() as session:
        row = accounts.get(session, account_id)
        if row is None:
            return summary
        accounts.mark_success(session, row, now, outcome.cursor, outcome.attention)
        if outcome.backlog_gap:
            summary.gap = True
            accounts.record_gap(session, row, now, outcome.notes)
            log.warning("%s: backlog gap: %s", summary.account, "; ".join(outcome.notes))
        elif outcome.notes:  # e.g. a Facebook post whose comments Graph would not serve
            notes = [redact(note)[:300] for note in outcome.notes[:20]]
            audit.record(session, now, Action.POLL_NOTES, account_id=account_id, notes=notes)
            log.warning("%s: %s", summary.account, "; ".join(notes))
    if summary.new or summary.skipped:
        log.info("%s", summary.line())
    return summary


def _failed(ctx: Context, account_id: int, summary: PollSummary, exc: Exception, now: datetime) -> None:
    poll_seconds = ctx.settings.twoway_poll_seconds
    # Platform text may echo what it was sent (a proxy's error page): the account's credentials,
    # known since its connector was built, are scrubbed before the text is stored and shown.
    message = scrub(str(exc)) if isinstance(exc, ConnectorError) else f"internal error ({type(exc).__name__})"
    summary.error = message[:300]
    with ctx.transaction() as session:
        row = accounts.get(session, account_id)
        if row is None:
            return
        if isinstance(exc, AuthFailed):
            summary.status = ACCOUNT_NEEDS_ATTENTION
            accounts.mark_needs_attention(session, row, now, message, retry_after=now + ATTENTION_RETRY)
        else:
            summary.status = ACCOUNT_RATE_LIMITED if isinstance(exc, RateLimited) else ACCOUNT_ERROR
            if isinstance(exc, RateLimited) and exc.reset_at is not None:
                # The platform said when: wait exactly that long, and it is not our failure.
                # A reset beyond the longest backoff is not believed (a clock or header gone wrong).
                retry, count = min(max(exc.reset_at, now), now + MAX_BACKOFF) + timedelta(seconds=1), False
            else:
                failures = (row.consecutive_failures or 0) + 1
                retry, count = now + backoff(failures, poll_seconds), True
            accounts.mark_failure(
                session, row, now, status=summary.status, error=message, retry_after=retry, count=count
            )
    log.warning("poll of %s failed: %s", summary.account, summary.error)


def enabled_account_ids(ctx: Context) -> list[int]:
    with ctx.transaction() as session:
        return [a.id for a in accounts.enabled_accounts(session)]


def poll_all_once(ctx: Context) -> list[PollSummary]:
    """Poll every enabled account once, one after another."""
    return [poll_account(ctx, account_id) for account_id in enabled_account_ids(ctx)]
