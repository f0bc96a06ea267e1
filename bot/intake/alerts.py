"""Account trouble made visible: one alert card per problem, and one notice when it heals.

An account that needs a person (revoked token, rate limited or failing for a long time) gets
ONE card in the review channel that mentions the admins; `accounts.alert_channel/alert_ts/
alert_at` remember it, so repeated polls never repeat it. Every post is claimed first with a
guarded UPDATE, so two processes cannot both post. A claim whose post may or may not have
happened (a timeout, a 5xx) is settled later by looking for the card's metadata in the channel
history, never by posting blindly. A backlog gap (X served fewer mentions than arrived) is a
one-off event, announced once per `backlog_gap_at`.

Slack refusing TwoWay's own token is logged as one clear line and ends this sweep only; the
poller and everything else keep running.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.core.context import Context
from bot.core.logs import scrub
from bot.intake.health import account_label
from bot.slack import outbox
from bot.slack.channel import review_channel
from bot.slack.escape import public
from bot.slack.format import when
from storage import alerts, audit, staff
from storage.accounts import all_accounts
from storage.audit import Action
from storage.models import ACCOUNT_ERROR, ACCOUNT_NEEDS_ATTENTION, ACCOUNT_RATE_LIMITED, Account, Role

log = logging.getLogger(__name__)

LONG_TROUBLE = timedelta(minutes=30)  # rate limited or failing this long needs a person
GAP_RECENT = timedelta(hours=24)  # older backlog gaps are history, not news
STALE_CLAIM = timedelta(minutes=5)  # a post claimed this long ago and not recorded is checked
EVENT_TYPE = "twoway_account_alert"
GAP_EVENT_TYPE = "twoway_backlog_gap"
# What a call that may or may not have reached Slack raises (timeouts arrive as OSError).
TRANSPORT_ERRORS = (SlackClientError, OSError)
AUTH_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"})


class SlackAuthError(Exception):
    """Slack refused TwoWay's own token: nothing else in this sweep can succeed."""


@dataclass(frozen=True)
class Seen:
    """What the sweep read about one account, so Slack calls happen outside the transaction."""

    id: int
    label: str
    problem: str | None
    paused: bool
    alert_channel: str | None
    alert_ts: str | None
    alert_at: datetime | None
    gap_at: datetime | None
    gap_alerted_at: datetime | None


def trouble(account: Account, now: datetime) -> str | None:
    """Why the account needs an admin now, as escaped mrkdwn, or None."""
    if not account.enabled:
        return None
    if account.status == ACCOUNT_NEEDS_ATTENTION:
        reason = public(
            scrub(account.status_reason or account.last_error or "the platform refused its credentials"), 300
        )
        return f"{reason}\nFix the credentials with `/twoway connect {account.platform}`."
    if account.attention:  # it works for now, but will stop unless a person acts
        return public(account.attention, 500)
    since = account.last_success_at or account.created_at
    if now - since < LONG_TROUBLE:
        return None
    if account.status == ACCOUNT_RATE_LIMITED:
        retry = f"; next try {when(account.retry_after, now)}" if account.retry_after else ""
        return f"Rate limited by the platform; no successful poll since {when(since, now)}{retry}."
    if account.status == ACCOUNT_ERROR:
        error = public(scrub(account.last_error or account.status_reason or "unknown"), 300)
        return f"No successful poll since {when(since, now)}. Last error: {error}"
    return None


def alert_message(label: str, problem: str, admins: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The card's fallback text (which carries the pings) and its blocks."""
    who = " ".join(f"<@{user}>" for user in admins) or "No admin is registered yet (set TWOWAY_ADMINS)."
    text = f"{label} needs attention. {who}"
    section = f":rotating_light: *{label} needs attention*\n{problem}"
    footer = f"{who} · `/twoway accounts` shows details · I post in this thread when it works again."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": section}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
    ]
    return text, blocks


def sync_account_alerts(ctx: Context) -> None:
    """Post, settle or close account alert cards; safe to run after every poll."""
    if ctx.slack is None:
        return
    now = ctx.clock.now()
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        admins = staff.users_with_role(session, Role.ADMIN)
        seen = [
            Seen(
                a.id,
                account_label(a),
                trouble(a, now),
                not a.enabled,
                a.alert_channel,
                a.alert_ts,
                a.alert_at,
                a.backlog_gap_at,
                a.backlog_alerted_at,
            )
            for a in all_accounts(session)
        ]
    sweep = _Sweep(ctx, ctx.slack, now, channel, admins)
    try:
        for account in seen:
            try:
                sweep.one(account)
            except TRANSPORT_ERRORS as exc:  # Slack unreachable: the next sweep tries again
                sweep.log_once(
                    "transport",
                    type(exc).__name__,
                    logging.WARNING,
                    "Account alerts: Slack did not answer (%s)",
                    type(exc).__name__,
                )
    except SlackAuthError as exc:
        sweep.log_once(
            "auth",
            str(exc),
            logging.ERROR,
            "Slack refused TwoWay's bot token (%s): account alerts wait until SLACK_BOT_TOKEN is fixed;"
            " polling continues.",
            exc,
        )
        return
    ctx.state(_Logged).last.pop("auth", None)


@dataclass
class _Logged:
    """The last failure of each kind logged by the sweep, so a repeating one is logged once."""

    last: dict[str, str] = field(default_factory=dict)


class _AlertClaim:
    """An account's alert claim (`alert_channel` set, `alert_ts` not yet): settled with the ts,
    given back after a refusal, kept when the outcome is unknown (`settle_claim` looks later)."""

    def __init__(self, sweep: _Sweep, account_id: int, claimed_at: datetime) -> None:
        self.sweep, self.account_id, self.claimed_at = sweep, account_id, claimed_at

    def posted(self, sent: outbox.Sent) -> None:
        sweep = self.sweep
        with sweep.ctx.transaction() as session:
            sweep.update_claim(self.account_id, self.claimed_at, session=session, alert_ts=sent.ts)
            audit.record(
                session,
                sweep.now,
                Action.ACCOUNT_ALERTED,
                account_id=self.account_id,
                channel=sent.channel,
                ts=sent.ts,
            )

    def refused(self, sent: outbox.Sent) -> None:
        self.sweep.update_claim(self.account_id, self.claimed_at, alert_channel=None, alert_at=None)

    def unknown(self, sent: outbox.Sent) -> None:
        log.warning("Account alert %s: Slack did not answer (%s); checked later", self.account_id, sent.error)


class _GapClaim:
    """A backlog gap marked announced (`backlog_alerted_at`): given back after a refusal, kept when
    the outcome is unknown, as after a timeout."""

    def __init__(self, sweep: _Sweep, account: Seen, gap_at: datetime) -> None:
        self.sweep, self.account, self.gap_at = sweep, account, gap_at

    def posted(self, sent: outbox.Sent) -> None:
        with self.sweep.ctx.transaction() as session:
            audit.record(
                session,
                self.sweep.now,
                Action.BACKLOG_GAP_ANNOUNCED,
                account_id=self.account.id,
                gap_at=self.gap_at.isoformat(),
                ts=sent.ts,
            )

    def refused(self, sent: outbox.Sent) -> None:
        with self.sweep.ctx.transaction() as session:
            alerts.unclaim_gap(session, self.account.id, self.gap_at, self.account.gap_alerted_at)

    def unknown(self, sent: outbox.Sent) -> None:
        log.warning("Backlog notice %s: Slack did not answer (%s)", self.account.id, sent.error)


def _code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown_error"))


class _Sweep:
    def __init__(
        self, ctx: Context, slack: WebClient, now: datetime, channel: str | None, admins: list[str]
    ) -> None:
        self.ctx, self.slack, self.now, self.channel, self.admins = ctx, slack, now, channel, admins

    def one(self, account: Seen) -> None:
        alert_channel, alert_ts = account.alert_channel, account.alert_ts
        if alert_channel is not None and alert_ts is None:
            self.settle_claim(account, alert_channel)
        elif account.problem is not None and alert_channel is None and self.channel:
            self.raise_alert(account, account.problem, self.channel)
        elif account.problem is None and alert_channel is not None and alert_ts is not None:
            self.close_alert(account, alert_channel, alert_ts)
        gap_at = account.gap_at
        if gap_at and self.now - gap_at <= GAP_RECENT and account.gap_alerted_at != gap_at and self.channel:
            self.announce_gap(account, gap_at, self.channel)

    # -- Slack -----------------------------------------------------------------------------

    def refused(self, code: str, what: str) -> None:
        """Slack's refusal becomes a log line; a refused token stops the sweep."""
        if code in AUTH_ERRORS:
            raise SlackAuthError(code) from None
        self.log_once(what, code, logging.WARNING, "Account %s not posted: Slack said %s", what, code)

    def log_once(self, key: str, value: str, level: int, message: str, *args: Any) -> None:
        """Log a repeating failure once until it changes, not on every sweep."""
        last = self.ctx.state(_Logged).last
        if last.get(key) != value:
            last[key] = value
            log.log(level, message, *args)

    # -- the alert card ----------------------------------------------------------------------

    def raise_alert(self, account: Seen, problem: str, channel: str) -> None:
        with self.ctx.transaction() as session:
            if not alerts.claim_alert(session, account.id, channel, self.now):
                return
        self.post_alert(account, problem, channel, self.admins)

    def post_alert(self, account: Seen, problem: str, channel: str, admins: list[str]) -> None:
        """Post under the claim taken at `self.now`; record the ts, or give the claim back."""
        claimed_at = self.now
        text, blocks = alert_message(account.label, problem, admins)
        payload = {"account_id": account.id, "claimed_at": claimed_at.isoformat()}
        message = outbox.Message(channel, text, blocks, event_type=EVENT_TYPE, payload=payload)
        sent = outbox.deliver(self.ctx, _AlertClaim(self, account.id, claimed_at), message)
        if sent.outcome is outbox.Outcome.REFUSED:
            self.refused(sent.error, "alert")

    def settle_claim(self, account: Seen, channel: str) -> None:
        """A claim without a ts: wait while fresh; once stale, adopt the posted card or retry."""
        claimed_at = account.alert_at
        if claimed_at is not None and self.now - claimed_at < STALE_CLAIM:
            return
        found = self.find_posted(channel, account.id, claimed_at)
        if found is not None:
            self.update_claim(account.id, claimed_at, alert_ts=found)
            return
        # Nothing was posted. Still a problem: take the claim afresh (one caller wins) and post.
        if account.problem is None:
            self.update_claim(account.id, claimed_at, alert_channel=None, alert_at=None)
        elif self.update_claim(account.id, claimed_at, alert_at=self.now):
            self.post_alert(account, account.problem, channel, self.admins)

    def update_claim(
        self, account_id: int, claimed_at: datetime | None, session: Session | None = None, **values: Any
    ) -> bool:
        """Change an unposted claim, only while it is still the one taken at `claimed_at`."""
        if session is not None:
            return alerts.change_claim(session, account_id, claimed_at, **values)
        with self.ctx.transaction() as own:
            return alerts.change_claim(own, account_id, claimed_at, **values)

    def find_posted(self, channel: str, account_id: int, claimed_at: datetime | None) -> str | None:
        """The ts of the card this claim posted, read back from the channel's message metadata.

        Newest first, a few pages deep: the card, if it exists, is minutes old. No `oldest`
        bound, so a clock difference between this server and Slack cannot hide it.
        """
        want = claimed_at.isoformat() if claimed_at else None

        def mine(payload: Mapping[str, Any]) -> bool:
            return bool(payload.get("account_id") == account_id and payload.get("claimed_at") == want)

        try:
            return outbox.find(self.slack, channel, EVENT_TYPE, mine)
        except SlackApiError as exc:  # e.g. missing_scope: cannot look, so post again
            self.refused(_code(exc), "alert check")
        return None

    def close_alert(self, account: Seen, channel: str, ts: str) -> None:
        """The account works again (or was paused): one thread notice, and the card says so."""
        with self.ctx.transaction() as session:
            if not alerts.close_alert(session, account.id, ts):
                return
            audit.record(
                session,
                self.now,
                Action.ACCOUNT_RECOVERED,
                account_id=account.id,
                ts=ts,
                paused=account.paused,
            )
        if account.paused:
            notice = f":double_vertical_bar: {account.label} was paused, so this alert is closed. `/twoway resume` polls it again."
        else:
            notice = f":white_check_mark: {account.label} works again ({when(self.now, self.now)})."
        sent = outbox.paced_post(self.ctx, outbox.Message(channel, notice, thread_ts=ts))
        if sent.outcome is outbox.Outcome.UNKNOWN:
            log.warning("Recovery notice %s: Slack did not answer (%s)", account.id, sent.error)
            return
        if sent.outcome is outbox.Outcome.REFUSED:
            if sent.error in AUTH_ERRORS or sent.rate_limited:
                self.reopen(account.id, channel, ts)  # not posted: let the next sweep try again
            self.refused(sent.error, "recovery notice")
            return
        closed = f"~{account.label} needed attention~\n{notice}"
        try:
            self.slack.chat_update(
                channel=channel,
                ts=ts,
                text=f"{account.label}: resolved.",
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": closed}}],
            )
        except SlackApiError as exc:
            self.refused(_code(exc), "alert update")
        except TRANSPORT_ERRORS as exc:
            log.warning("Alert card %s not updated (%s)", account.id, type(exc).__name__)

    def reopen(self, account_id: int, channel: str, ts: str) -> None:
        with self.ctx.transaction() as session:
            alerts.reopen_alert(session, account_id, channel, ts, self.now)

    # -- backlog gaps -------------------------------------------------------------------------

    def announce_gap(self, account: Seen, gap_at: datetime, channel: str) -> None:
        with self.ctx.transaction() as session:
            if not alerts.claim_gap(session, account.id, gap_at):
                return
        who = " ".join(f"<@{user}>" for user in self.admins)
        text = (
            f":warning: *Some mentions of {account.label} may have been missed* ({when(gap_at, self.now)})."
            " More arrived since the previous poll than the platform lets TwoWay read back."
            f" Check the account's notifications on the platform itself for older ones. {who}"
        )
        message = outbox.Message(
            channel,
            text,
            event_type=GAP_EVENT_TYPE,
            payload={"account_id": account.id, "gap_at": gap_at.isoformat()},
        )
        sent = outbox.deliver(self.ctx, _GapClaim(self, account, gap_at), message)
        if sent.outcome is outbox.Outcome.REFUSED:
            self.refused(sent.error, "backlog notice")
