"""SLA reminders and escalations, swept every minute.

An open item whose card is in Slack and that has waited (since it reached TwoWay) longer than
its SLA gets ONE reminder in the card's thread naming the assignee, or the supervisors when
nobody is assigned; at twice the SLA it gets ONE escalation to the supervisors, broadcast to the
channel. An item first seen past twice its SLA gets only the escalation. Answered and dismissed
items get nothing. During quiet hours only urgent items are chased; the rest go out when the
quiet hours end.

Once only: a notice is claimed by inserting its `sla_notices` row (unique per item and kind)
and committing BEFORE posting. If Slack refuses the post (an API error: nothing was posted) the
claim is deleted and the next sweep tries again, up to MAX_ATTEMPTS times. If the outcome is
unknown (a timeout, or the process died between claim and post) the claim stays unsettled and
is never re-posted blindly: once it is STALE_CLAIM old the notice is looked for in the card's
thread by its message metadata; found, it is recorded; not found, it is posted. A claim is left
alone for STALE_CLAIM even by a copy that has just taken the scheduler over: the copy that lost
the lock (or a `twoway poll --once` beside it) may still be posting it, and a post in flight is
not yet in the thread. When the thread cannot be read the claim stays: a missed reminder beats a
duplicate.

A sweep claims at most MAX_POSTS_PER_SWEEP due notices (and settles at most as many left
unsettled); the rest wait for the next sweep. A process told to stop claims nothing more: what is
left goes to the next sweep, in the copy that takes over or after the next start.
"""

from __future__ import annotations

import functools
import logging
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.core.context import Context, Stopping
from bot.slack import outbox
from bot.slack.client import client
from storage import audit, keys, notices, settings, staff
from storage.audit import Action
from storage.models import Mention, Role
from storage.notices import ESCALATION, REMINDER
from storage.queue import sla_settings, threshold

log = logging.getLogger(__name__)

MAX_POSTS_PER_SWEEP = 20  # chat.postMessage allows about one per second per channel
MAX_ATTEMPTS = 5  # refusals per notice (per process) before the sweep stops retrying it
EVENT_TYPE = "twoway_sla_notice"  # message metadata: which item and which notice
STALE_CLAIM = timedelta(minutes=5)  # far longer than one post takes, Retry-After waits included
_DURATION = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?$")  # ASCII: `\d` takes "５"
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
MAX_SLA = 30 * 86400


# -- settings in the words admins type ----------------------------------------------------------


def parse_duration(text: str) -> int | None:
    """`5m`, `90m`, `2h30m`, `1d` -> seconds; `none` or `off` -> None. Raises ValueError."""
    text = text.strip().lower()
    if text in ("none", "off"):
        return None
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"{quoted(text)} is not a duration like 5m, 1h, 2h30m or 1d")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    seconds = days * 86400 + hours * 3600 + minutes * 60
    if not 60 <= seconds <= MAX_SLA:
        raise ValueError("An SLA must be between 1 minute and 30 days")
    return seconds


def format_duration(seconds: float | None) -> str:
    """Seconds for people: `45s`, `5m`, `2h 30m`, `1d 4h`; None is `none`."""
    if seconds is None:
        return "none"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    if days:
        parts[2] = ""  # a day-scale wait does not need minutes
    return " ".join(p for p in parts if p) or "0m"


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"{quoted(text)} is not a time like 08:00 or 22:30")
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet(text: str) -> dict[str, str]:
    """`22:00-07:00` -> {"start": "22:00", "end": "07:00"}."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{quoted(text)} is not a range like 22:00-07:00")
    first, second = parse_clock(start), parse_clock(end)
    if first == second:
        raise ValueError("Quiet hours must start and end at different times")
    return {"start": first.strftime("%H:%M"), "end": second.strftime("%H:%M")}


def quoted(text: str, limit: int = 40) -> str:
    """What someone typed, shown in a message as code (not Python's quotes)."""
    text = text.strip().replace("`", "'")
    return f"`{text[:limit]}…`" if len(text) > limit else f"`{text}`"


# Files a system's zone folder holds beside the IANA zones, which ZoneInfo opens too: the
# server's own zone (whatever it is set to), tzdata's placeholder and a compiler's template.
NOT_ZONES = frozenset({"localtime", "factory", "posixrules"})


@functools.cache
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA name -> its spelling, for names typed in another case (`utc`). Built
    once: listing the zones reads every file under the zone folders."""
    names = zoneinfo.available_timezones()
    return {name.lower(): name for name in names if name.lower() not in NOT_ZONES}


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone; a name typed in another case (`utc`, `europe/london`) is taken too, as
    IANA names differ by more than case. Only IANA's names: anything else ZoneInfo opens
    under the zone folders ("localtime", "Factory") means one thing on this server, another
    on the next."""
    found = _zone_names().get(name.strip().lower())
    try:
        if found is None:
            raise ValueError(name)
        return ZoneInfo(found)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{quoted(name)} is not a time zone like America/Los_Angeles or UTC") from None


def agency_timezone(session: Session) -> ZoneInfo:
    name = settings.get(session, keys.TIMEZONE) or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("the stored time zone %r is unknown; using UTC", name)
        return ZoneInfo("UTC")


def in_quiet_hours(quiet: dict[str, str] | None, local: datetime) -> bool:
    if not quiet:
        return False
    start, end, now = parse_clock(quiet["start"]), parse_clock(quiet["end"]), local.time()
    if start < end:
        return start <= now < end
    return now >= start or now < end


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    quiet: bool = False


@dataclass(frozen=True)
class _Due:
    mention_id: int
    kind: str
    channel: str
    ts: str
    text: str


def sweep(ctx: Context) -> SweepResult:
    """Post every reminder and escalation that is due now (at most MAX_POSTS_PER_SWEEP)."""
    result = SweepResult()
    if ctx.slack is None:
        return result
    now = ctx.clock.now()
    with ctx.transaction() as session:
        quiet = settings.get(session, keys.SLA_QUIET)
        result.quiet = in_quiet_hours(quiet, now.astimezone(agency_timezone(session)))
        unsettled = _find_unsettled(ctx, session, now - STALE_CLAIM, now)
        due = _find_due(session, now, result.quiet)
    # What is due first: an escalation claimed here overtakes a reminder left unsettled (below).
    for item in due:
        if _stopping(ctx):
            return result
        if not _claim(ctx, item, now):
            continue
        if _post(ctx, item, now):
            (result.escalated if item.kind == ESCALATION else result.reminded).append(item.mention_id)
        else:
            result.failed.append(item.mention_id)
    for item, claimed_at in unsettled:
        if _stopping(ctx):
            return result
        if _recover(ctx, item, claimed_at, now):
            (result.escalated if item.kind == ESCALATION else result.reminded).append(item.mention_id)
    return result


def _stopping(ctx: Context) -> bool:
    """Checked before each claim: a claim made now would be posted at Slack's pace past the host's
    kill, or left unsettled for five minutes."""
    if ctx.state(Stopping):
        log.info("stopping: SLA notices still due are posted by the next sweep")
        return True
    return False


def _find_due(session: Session, now: datetime, quiet: bool) -> list[_Due]:
    slas = sla_settings(session)
    supervisors = staff.users_with_role(session, Role.SUPERVISOR)
    return [
        _due(kind, m, now, slas, supervisors)
        for kind, m in notices.due(session, slas, now, quiet, MAX_POSTS_PER_SWEEP)
    ]


def _due(kind: str, m: Mention, now: datetime, slas: dict[str, int | None], supervisors: list[str]) -> _Due:
    sla = threshold(slas, m.category, m.urgent)
    text = _text(kind, m, now - m.ingested_at, sla, supervisors)
    return _Due(m.id, kind, str(m.card_channel), str(m.card_ts), text)


def _find_unsettled(
    ctx: Context, session: Session, before: datetime, now: datetime
) -> list[tuple[_Due, datetime]]:
    """Claims nobody settled, except those this process already gave up on (refused too often)."""
    slas = sla_settings(session)
    supervisors = staff.users_with_role(session, Role.SUPERVISOR)
    refused = ctx.state(_Refusals).counts
    return [
        (_due(kind, m, now, slas, supervisors), claimed_at)
        for kind, claimed_at, m in notices.unsettled_notices(session, before, MAX_POSTS_PER_SWEEP)
        if refused.get((m.id, kind), 0) < MAX_ATTEMPTS
    ]


def _recover(ctx: Context, item: _Due, claimed_at: datetime, now: datetime) -> bool:
    """Settle a claim left unsettled: record the notice if the card's thread has it, else post it."""
    with ctx.transaction() as session:
        if not notices.reclaim_notice(session, item.mention_id, item.kind, claimed_at, now):
            return False  # another sweep took it over first

    def mine(payload: Mapping[str, Any]) -> bool:
        return str(payload.get("mention_id")) == str(item.mention_id) and payload.get("kind") == item.kind

    try:
        found = outbox.find_in_thread(client(ctx), item.channel, item.ts, EVENT_TYPE, mine)
    except Exception as exc:  # SlackApiError, or no answer: cannot tell, so do not post again
        log.warning(
            "%s for #%s: cannot look for it in the card's thread (%s); left unposted",
            item.kind,
            item.mention_id,
            outbox.error_name(exc),
        )
        return False
    if found is not None:
        log.info("%s for #%s was posted before (found in the card's thread)", item.kind, item.mention_id)
        _NoticeClaim(ctx, item, now).posted(outbox.Sent(outbox.Outcome.POSTED, item.channel, found))
        return True
    if item.kind == REMINDER:
        with ctx.transaction() as session:
            if notices.has_notice(session, item.mention_id, ESCALATION):
                # Posted now, the reminder would land below the escalation, minutes late.
                log.info("reminder for #%s overtaken by its escalation; not posted late", item.mention_id)
                notices.notice_posted(session, item.mention_id, REMINDER, "")  # settled, never posted
                return False
    return _post(ctx, item, now)


def _who(supervisors: list[str]) -> str:
    if not supervisors:
        return "No supervisor is set up (an admin can run `/twoway role @user supervisor`)"
    return "Supervisors " + " ".join(f"<@{u}>" for u in supervisors)


def _text(kind: str, m: Mention, waited: timedelta, sla: int | None, supervisors: list[str]) -> str:
    label = (m.category or "untriaged") + (", urgent" if m.urgent else "")
    head = f"#{m.id} ({label}) has waited {format_duration(waited.total_seconds())}"
    if kind == REMINDER:
        if m.assignee:
            return f":alarm_clock: {head}, past its {format_duration(sla)} SLA. <@{m.assignee}>, please answer it or hand it on."
        return f":alarm_clock: {head}, past its {format_duration(sla)} SLA, and nobody is assigned. {_who(supervisors)}: please assign it."
    assigned = f"Assigned to <@{m.assignee}>." if m.assignee else "Nobody is assigned."
    return f":rotating_light: {head} without an answer, twice its {format_duration(sla)} SLA. {assigned} {_who(supervisors)}: please step in."


def _claim(ctx: Context, item: _Due, now: datetime) -> bool:
    """Insert the notice's row, unless it exists or the item was closed since it was found."""
    with ctx.transaction() as session:
        return notices.claim_notice(session, item.mention_id, item.kind, now, item.channel)


def _post(ctx: Context, item: _Due, now: datetime) -> bool:
    message = outbox.Message(
        item.channel,
        item.text,
        thread_ts=item.ts,
        broadcast=item.kind == ESCALATION,
        event_type=EVENT_TYPE,
        payload={"mention_id": item.mention_id, "kind": item.kind},
    )
    sent = outbox.deliver(ctx, _NoticeClaim(ctx, item, now), message)
    return sent.outcome is outbox.Outcome.POSTED


@dataclass
class _Refusals:
    """Refusals per notice in this process: a notice Slack keeps refusing stops being retried."""

    counts: dict[tuple[int, str], int] = field(default_factory=dict)


class _NoticeClaim:
    """The notice's `sla_notices` row: its ts once posted; deleted after a refusal so that the next
    sweep tries again (up to MAX_ATTEMPTS); kept when the outcome is unknown, because a missed
    reminder beats a duplicate."""

    def __init__(self, ctx: Context, item: _Due, now: datetime) -> None:
        self.ctx, self.item, self.now = ctx, item, now

    def posted(self, sent: outbox.Sent) -> None:
        item = self.item
        with self.ctx.transaction() as session:
            notices.notice_posted(session, item.mention_id, item.kind, sent.ts)
            action = Action.ESCALATED if item.kind == ESCALATION else Action.REMINDED
            audit.record(
                session,
                self.now,
                action,
                mention_id=item.mention_id,
                channel=item.channel,
                ts=sent.ts or None,
            )

    def refused(self, sent: outbox.Sent) -> None:
        item = self.item
        counts = self.ctx.state(_Refusals).counts
        tries = counts[(item.mention_id, item.kind)] = counts.get((item.mention_id, item.kind), 0) + 1
        if tries >= MAX_ATTEMPTS:  # e.g. the card was deleted: stop trying, keep the claim
            log.error(
                "%s for #%s refused %d times (%s); giving up", item.kind, item.mention_id, tries, sent.error
            )
            return
        log.warning("%s for #%s refused by Slack (%s); will retry", item.kind, item.mention_id, sent.error)
        with self.ctx.transaction() as session:
            notices.unclaim_notice(session, item.mention_id, item.kind)

    def unknown(self, sent: outbox.Sent) -> None:
        log.warning(
            "%s for #%s: outcome unknown (%s), so it may be posted; not retried, to avoid a duplicate",
            self.item.kind,
            self.item.mention_id,
            sent.error,
        )
