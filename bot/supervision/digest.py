"""Daily and weekly digests in the review channel, and the text of `/twoway report`.

`tick` runs every minute. The daily digest is due from its time (default 08:00) until the end
of that local day and covers the 24 hours before its time; the weekly one is due on its weekday
(default Monday) and covers the 7 days before. A digest missed for a whole day (TwoWay was down)
is skipped rather than posted late. Once only: the `digest_runs` row for (kind, period) is
inserted and committed before posting; if Slack refuses the message the row is deleted so the
next tick retries (at most MAX_ATTEMPTS times per process). An unknown outcome (timeout, a 5xx,
the process died mid-post) keeps it, and it is never posted blindly: once the claim is
STALE_CLAIM old the channel is searched for the digest's metadata; found, it is recorded; not
found, it is posted. Not sooner, even in a copy that has just taken the scheduler over: the copy
that lost the lock may still be posting it, and a post in flight is not in the channel yet. If
the channel cannot be read, the claim stays.

The chart goes in the digest's thread, and the claim is settled only once the chart is up (or
failed): a digest found in the channel by a recovery gets its chart then, unless the thread
already holds it (the process died after the upload). A thread that cannot be read costs the
chart, never a second one. A stopping process posts no further digest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.core.context import Context, Stopping
from bot.core.words import counted, noun
from bot.slack import outbox
from bot.slack.channel import review_channel
from bot.slack.client import client
from bot.supervision.charts import report_chart
from bot.supervision.sla import agency_timezone, format_duration, parse_clock
from connectors import registry
from storage import audit, keys, notices, settings
from storage.audit import Action
from storage.metrics import Report, build_report

log = logging.getLogger(__name__)

DAILY_DEFAULT: dict[str, str] = {"time": "08:00"}
WEEKLY_DEFAULT: dict[str, str] = {"day": "mon", "time": "08:00"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ATTEMPTS = 5
EVENT_TYPE = "twoway_digest"  # message metadata: which digest and which period
STALE_CLAIM = timedelta(minutes=5)  # far longer than one post takes, Retry-After waits included
CHART_FILENAME = "twoway-report.png"


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly
    key: str  # the local date of the scheduled moment
    since: datetime
    until: datetime


def schedule(session: Session) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The daily and weekly settings; None when that digest is off."""
    daily = settings.get(session, keys.DIGEST_DAILY, DAILY_DEFAULT)
    weekly = settings.get(session, keys.DIGEST_WEEKLY, WEEKLY_DEFAULT)
    return (dict(daily) if daily else None, dict(weekly) if weekly else None)


def due_periods(
    now: datetime, tz: ZoneInfo, daily: dict[str, str] | None, weekly: dict[str, str] | None
) -> list[Period]:
    """The digests whose time has come today (local), with the period each covers."""
    local = now.astimezone(tz)
    periods = []
    for kind, config, span in (("daily", daily, timedelta(days=1)), ("weekly", weekly, timedelta(days=7))):
        if not config:
            continue
        if kind == "weekly" and WEEKDAYS[local.weekday()] != config.get("day", "mon"):
            continue
        at: time = parse_clock(config.get("time", "08:00"))
        scheduled = datetime.combine(local.date(), at, tzinfo=tz)
        # Compared as instants: two times in one zone compare by wall clock, and a time skipped
        # by the spring-forward jump (02:30) would look due at 03:00, half an hour early.
        if now < scheduled.astimezone(now.tzinfo):
            continue
        # Wall-clock arithmetic: across a DST change the period is 23 or 25 hours long.
        start = scheduled - span
        periods.append(
            Period(
                kind, local.date().isoformat(), start.astimezone(now.tzinfo), scheduled.astimezone(now.tzinfo)
            )
        )
    return periods


def tick(ctx: Context) -> list[str]:
    """Post whichever digests are due and not posted yet; returns the kinds posted."""
    if ctx.slack is None:
        return []
    now = ctx.clock.now()
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        tz = agency_timezone(session)
        daily, weekly = schedule(session)
    if channel is None:
        return []
    posted = []
    for period in due_periods(now, tz, daily, weekly):
        if ctx.state(Stopping):
            log.info("stopping: a digest still due is posted after the next start")
            break
        if _post_digest(ctx, period, channel, tz, now):
            posted.append(period.kind)
    return posted


def _post_digest(ctx: Context, period: Period, channel: str, tz: ZoneInfo, now: datetime) -> bool:
    refusals = ctx.state(_Refusals).counts
    if refusals.get((period.kind, period.key), 0) >= MAX_ATTEMPTS:
        return False
    with ctx.transaction() as session:
        if not notices.claim_digest(session, period.kind, period.key, now, channel):
            claimed_at = notices.unsettled_digest(session, period.kind, period.key)
            if claimed_at is None or claimed_at >= now - STALE_CLAIM:
                return False  # posted, or being posted by a live sweep
            if not notices.reclaim_digest(session, period.kind, period.key, claimed_at, now):
                return False
            recovering = True
        else:
            recovering = False
    title = f"{period.kind.capitalize()} digest"
    claim = _RunClaim(ctx, period, channel, now)
    if recovering:
        readable, found = _look_for(ctx, period, channel)
        if found is not None:
            log.info("the %s digest for %s was posted before (found in the channel)", period.kind, period.key)
            if _chart_missing(ctx, period, channel, found, title):
                upload_chart(ctx, _report(ctx, period, tz, now), title, channel, thread_ts=found)
            claim.settle(outbox.Sent(outbox.Outcome.POSTED, channel, found))
            return True
        if not readable:
            return False  # cannot tell whether it is there: not posted blindly; a later tick looks again
    report = _report(ctx, period, tz, now)
    text, blocks = report_blocks(report, title, tz)
    message = outbox.Message(
        channel, text, blocks, event_type=EVENT_TYPE, payload={"kind": period.kind, "period": period.key}
    )
    sent = outbox.deliver(ctx, claim, message)
    if sent.outcome is not outbox.Outcome.POSTED:
        return False
    upload_chart(ctx, report, title, channel, thread_ts=sent.ts)
    claim.settle(sent)
    return True


def _report(ctx: Context, period: Period, tz: ZoneInfo, now: datetime) -> Report:
    offset = int((period.until.astimezone(tz).utcoffset() or timedelta(0)).total_seconds())
    with ctx.transaction() as session:
        return build_report(session, period.since, period.until, now, utc_offset_seconds=offset)


def _chart_missing(ctx: Context, period: Period, channel: str, digest_ts: str, title: str) -> bool:
    """Whether the digest's thread lacks its chart; False when the thread cannot be read (a
    missing chart beats a second one)."""
    chart_title = f"TwoWay {title.lower()}"
    try:
        for message in outbox.thread_messages(client(ctx), channel, digest_ts):
            for file in message.get("files") or []:
                if file.get("name") == CHART_FILENAME or file.get("title") == chart_title:
                    log.info("the %s digest for %s has its chart already", period.kind, period.key)
                    return False
    except Exception as exc:  # SlackApiError, or no answer
        log.warning(
            "the %s digest for %s: cannot read its thread (%s); chart not uploaded",
            period.kind,
            period.key,
            outbox.error_name(exc),
        )
        return False
    return True


def _look_for(ctx: Context, period: Period, channel: str) -> tuple[bool, str | None]:
    """(whether the channel could be read, the ts of this digest in it)."""

    def mine(payload: Mapping[str, Any]) -> bool:
        return payload.get("kind") == period.kind and payload.get("period") == period.key

    try:
        return True, outbox.find(client(ctx), channel, EVENT_TYPE, mine)
    except Exception as exc:  # SlackApiError, or no answer: cannot tell
        log.warning(
            "the %s digest for %s: cannot look for it (%s); left unposted",
            period.kind,
            period.key,
            outbox.error_name(exc),
        )
        return False, None


@dataclass
class _Refusals:
    """Refusals per digest in this process: one Slack keeps refusing stops being retried."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)


class _RunClaim:
    """The digest's `digest_runs` row: its ts once posted and charted; deleted after a refusal so
    that the next tick retries; kept when the outcome is unknown (never posted twice)."""

    def __init__(self, ctx: Context, period: Period, channel: str, now: datetime) -> None:
        self.ctx, self.period, self.channel, self.now = ctx, period, channel, now

    def posted(self, sent: outbox.Sent) -> None:
        """Not recorded yet: `settle` does, after the chart, so that a process dying between the
        two leaves the claim to a recovery that uploads the chart."""

    def settle(self, sent: outbox.Sent) -> None:
        with self.ctx.transaction() as session:
            notices.digest_posted(session, self.period.kind, self.period.key, sent.ts)
            audit.record(
                session,
                self.now,
                Action.DIGEST_POSTED,
                kind=self.period.kind,
                period=self.period.key,
                channel=self.channel,
                ts=sent.ts,
            )

    def refused(self, sent: outbox.Sent) -> None:
        key = (self.period.kind, self.period.key)
        counts = self.ctx.state(_Refusals).counts
        counts[key] = counts.get(key, 0) + 1
        log.warning("the %s digest was refused by Slack (%s); will retry", self.period.kind, sent.error)
        with self.ctx.transaction() as session:
            notices.unclaim_digest(session, self.period.kind, self.period.key)

    def unknown(self, sent: outbox.Sent) -> None:
        log.warning(
            "the %s digest for %s: outcome unknown (%s), so it may be posted; not posted again",
            self.period.kind,
            self.period.key,
            sent.error,
        )


def upload_chart(
    ctx: Context, report: Report, title: str, channel: str, thread_ts: str | None = None
) -> bool:
    """Upload the report's chart; a failure is logged and costs only the picture."""
    assert ctx.slack is not None
    try:
        png = report_chart(report, title)
        ctx.slack.files_upload_v2(
            channel=channel,
            file=png,
            filename=CHART_FILENAME,
            title=f"TwoWay {title.lower()}",
            initial_comment=f"{title}: mentions and median time to respond",
            thread_ts=thread_ts,
        )
        return True
    except Exception:
        log.warning("could not upload the %s chart", title, exc_info=True)
        return False


# -- the words ----------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


def _counts(values: dict[str, int], names: dict[str, str] | None = None) -> str:
    if not values:
        return "none"
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    return " · ".join(f"{(names or {}).get(k, k)} {n}" for k, n in ordered)


def report_blocks(report: Report, title: str, tz: ZoneInfo) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and Block Kit blocks of a digest or `/twoway report`."""
    start, end = report.since.astimezone(tz), report.until.astimezone(tz)
    # The start's year too when the window crosses one: "Fri 05 Dec – Sun 06 Dec 2026" reads as a day.
    since = start.strftime("%a %d %b %Y %H:%M" if start.year != end.year else "%a %d %b %H:%M")
    until = end.strftime("%a %d %b %Y %H:%M")
    rate = _percent(report.answered, report.total)
    summary = (
        f"*{report.total}* {noun(report.total, 'mention')} · *{report.answered}* answered ({rate}) · "
        f"*{report.dismissed}* dismissed · *{report.still_open}* still open · "
        f"*{report.overdue_now}* overdue now"
    )
    text = f"TwoWay {title.lower()}: {counted(report.total, 'mention')}, {rate} answered, {report.overdue_now} overdue now"
    timing_lines = []
    for category, timing in sorted(report.timing.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        name = "all categories" if category == "all" else category
        timing_lines.append(
            f"• {name}: {format_duration(timing.median)} / {format_duration(timing.p90)} "
            f"({timing.answered} answered)"
        )
    responders = " · ".join(f"<@{user}> {n}" for user, n in report.top_responders) or "nobody yet"
    overdue = _counts(report.overdue_by_category) if report.overdue_now else "nothing overdue"
    storm_lines = []
    if report.storm_mentions:
        storms = "1 storm" if report.storms == 1 else f"{report.storms} storms"
        storm_lines.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f":cyclone: *{storms}*: {report.storm_mentions:,} of these mentions · "
                        f"{report.storm_mentions - report.gathered:,} with cards of their own · "
                        f"{report.gathered:,} gathered on summary cards ({report.gathered_dismissed:,} dismissed "
                        f"from there, {report.gathered_open:,} still open, not counted as overdue)"
                    ),
                },
            }
        )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"TwoWay {title.lower()}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*By category*\n{_counts(report.by_category)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*By platform*\n{_counts(report.by_platform, {n: registry.title(n) for n in report.by_platform})}",
                },
                {"type": "mrkdwn", "text": f"*Overdue now*\n{overdue}"},
                {"type": "mrkdwn", "text": f"*Answered most*\n{responders}"},
            ],
        },
        *storm_lines,
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Time to first response* (median / 90th percentile)\n"
                + ("\n".join(timing_lines) or "No responses in this period."),
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Mentions posted {since} – {until} ({tz.key})."}],
        },
    ]
    return text, blocks
