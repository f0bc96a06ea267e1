"""`/twoway assign | queue | sla | digest | report | export`: supervisors and records from Slack.

Roles: `assign` and `report` need a supervisor; `queue` is open to officers for `queue mine` and
`queue storm ID` (a storm's posts, as its summary card's button shows them; the rest of the queue
needs a supervisor); `sla` and `digest` show their settings to supervisors and change them only
for admins; `export` is for admins. Bad arguments raise UserError and change nothing.

`assign` stores the assignment before the ack and answers with the result; the assignee's DM and
the card's redraw run after the ack (`CommandReply.after`), and a DM Slack would not deliver is
told to the supervisor through the command's response_url.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from datetime import date, datetime, timedelta
from typing import Any

from slack_bolt import Respond

from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.words import counted
from bot.slack.commands import CommandReply, CommandRequest, Commands
from bot.slack.escape import public
from bot.slack.messages import card_url, open_dm, send_file_to_user
from bot.slack.outbox import poster
from bot.slack.roles import require
from bot.supervision.assignment import follow_up, store
from bot.supervision.digest import (
    WEEKDAYS,
    WEEKLY_DEFAULT,
    report_blocks,
    schedule,
    upload_chart,
)
from bot.supervision.export import FORMATS, day_bounds, parse_day, record_export, write_export
from bot.supervision.sla import (
    agency_timezone,
    format_duration,
    parse_clock,
    parse_duration,
    parse_quiet,
    parse_timezone,
    quoted,
)
from connectors import registry
from storage import keys, settings, staff, storms
from storage.metrics import build_report
from storage.models import Role
from storage.queue import QUEUE_FILTERS, SLA_KEYS, QueueItem, sla_settings, threshold, unanswered

log = logging.getLogger(__name__)

COMMANDS = Commands()

_ITEM = re.compile(r"^#?([0-9]{1,18})$")  # ASCII digits only, as the queue and buttons take
# A bare id must hold a digit, as every id Slack makes does: `UNICORN` is a word, not a person.
_NUMBERISH = re.compile(r"^[-+]?\d+$")  # any script's digits: what someone meant as a number
_DATE_LIKE = re.compile(r"^\d{1,4}-\d{1,2}-\d{1,2}$")  # a date, checked when it is used
_DAYS = re.compile(r"^([0-9]{1,3})d$")
MAX_REPORT_DAYS = 366
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _refusal(ctx: Context, user: str, role: Role, doing: str) -> CommandReply | None:
    """The role message alone, as for every other role refusal: a usage line after it would
    suggest the arguments were wrong."""
    try:
        with ctx.transaction() as session:
            require(session, user, role, doing)
    except UserError as exc:
        return CommandReply(str(exc))
    return None


def parse_item(text: str) -> int:
    match = _ITEM.match(text.strip())
    if match is None:
        raise UserError(f"`{public(text, 40)}` is not an item number like 123 or #123.")
    return int(match.group(1))


def parse_user(text: str) -> str | None:
    """`<@U123|name>`, `<@U123>` or `U123` -> "U123"; `none` -> None (unassign)."""
    if text.strip().lower() in ("none", "nobody", "-"):
        return None
    user = ids.typed_user(text)
    if user is None:
        raise UserError(
            f"`{public(text, 40)}` is not a Slack user. Type @ and pick the person from the list, or `none`."
        )
    return user


# -- assign ---------------------------------------------------------------------------------------


@COMMANDS.command(
    "assign", Role.SUPERVISOR, "/twoway assign ITEM @user|none", "hand an item to someone (or unassign)"
)
def assign_command(ctx: Context, request: CommandRequest) -> CommandReply:

    if len(request.args) != 2:
        raise UserError("Give the item number and a person, e.g. `/twoway assign 123 @dana`.")
    mention_id, assignee = parse_item(request.args[0]), parse_user(request.args[1])
    stored = store(ctx, mention_id, assignee, request.user_id)  # committed before the ack
    if not stored.result.changed:
        return CommandReply(stored.result.message)

    def notify() -> None:
        """After the ack: the DM and the redraw; a DM Slack would not deliver is told to the supervisor."""
        result = follow_up(ctx, stored)
        if result.dm_error is None:
            return
        text = (
            f"Slack could not send <@{result.assignee}> a direct message about #{result.mention_id}"
            f" ({public(result.dm_error, 60)}), so please tell them yourself. The assignment stands."
        )
        _respond(request, text)

    return CommandReply(stored.result.message, after=notify)


def _respond(request: CommandRequest, text: str) -> None:
    """An ephemeral follow-up to the command, through its response_url; a failure is logged."""
    if not request.response_url:
        log.warning("no response_url to tell %s: %s", request.user_id, text)
        return
    try:
        answer = Respond(response_url=request.response_url)(text=text, response_type="ephemeral")
        if answer.status_code != 200:
            log.warning("could not tell %s (HTTP %s): %s", request.user_id, answer.status_code, text)
    except Exception:
        log.warning("could not tell %s: %s", request.user_id, text, exc_info=True)


# -- queue ----------------------------------------------------------------------------------------


def _age(now: datetime, then: datetime) -> str:
    return format_duration(max((now - then).total_seconds(), 0))


def _queue_item(
    ctx: Context,
    item: QueueItem,
    now: datetime,
    slas: dict[str, int | None],
    summaries: dict[int, tuple[str, str]],
    assignable: bool = True,
) -> dict[str, Any]:

    parts = [f"*#{item.id}*", item.category or "untriaged"]
    if item.urgent:
        parts.append(":rotating_light: urgent")
    parts.append(f"waiting {_age(now, item.created_at)}")
    sla = threshold(slas, item.category, item.urgent)
    if sla is not None and (now - item.ingested_at).total_seconds() >= sla and item.chased:
        parts.append(":warning: overdue")
    parts.append(f"<@{item.assignee}>" if item.assignee else "_unassigned_")
    if item.on_summary and item.storm_id is not None:
        link = card_url(ctx, *summaries.get(item.storm_id, (None, None)))
        storm = f"storm #{item.storm_id} summary card"
        parts.append(f":cyclone: on the <{link}|{storm}>" if link else f":cyclone: on the {storm}")
    else:
        link = card_url(ctx, item.card_channel, item.card_ts)
        parts.append(f"<{link}|open card>" if link else "_no card yet_")
    who = public(item.author_handle or item.author_name, 60)
    platform = registry.title(item.platform)
    text = " · ".join(parts) + f"\n{who} on {platform}: {public(item.text, 150)}"
    row: dict[str, Any] = {
        "type": "section",
        "block_id": f"m:{item.id}",
        "text": {"type": "mrkdwn", "text": text},
    }
    if not assignable:  # an officer's list: assigning needs a supervisor
        return row
    select: dict[str, Any] = {
        "type": "users_select",
        "action_id": "assign",
        "placeholder": {"type": "plain_text", "text": "Assign…"},
    }
    if item.assignee:
        select["initial_user"] = item.assignee
    return {**row, "accessory": select}


@COMMANDS.command(
    "queue",
    Role.OFFICER,
    "/twoway queue [mine|unassigned|all|storm ID] [PAGE]",
    "unanswered items, oldest first (officers: `mine`, and `storm ID`: one storm's posts)",
)
def queue_command(ctx: Context, request: CommandRequest) -> CommandReply:
    args = [a.lower() for a in request.args]
    storm_id: int | None = None
    if args and args[0] == "storm":
        if len(args) not in (2, 3) or not all(ids.is_number(a.lstrip("#")) for a in args[1:]):
            raise UserError("Give the storm's number, e.g. `/twoway queue storm 12` (and a page number).")
        storm_id = int(args[1].lstrip("#"))
        args = ["all", *args[2:]]
    page = 1
    if args and ids.is_number(args[-1]):
        page = int(args.pop())
        if page < 1:
            raise UserError("Pages start at 1, e.g. `/twoway queue all 2`.")
    elif args and _NUMBERISH.match(args[-1]):  # `２`, `-1`, 20 digits: a page, but not one we take
        raise UserError(
            f"`{public(args[-1], 24)}` is not a page number: pages are numbers from 1 (0-9),"
            " e.g. `/twoway queue all 2`."
        )
    if len(args) > 1 or (args and args[0] not in QUEUE_FILTERS):
        raise UserError(
            "Choose `mine`, `unassigned` or `all` (or `storm ID`), optionally followed by a page number."
        )
    with ctx.transaction() as session:
        supervisor = staff.has_role(session, request.user_id, Role.SUPERVISOR)
        which = args[0] if args else ("all" if supervisor else "mine")
        if which != "mine" and storm_id is None and not supervisor:  # a storm's posts: its card's button
            raise UserError(
                "Officers can see `/twoway queue mine` and a storm's posts with `/twoway queue storm ID`;"
                " the whole queue is for supervisors."
            )
        if storm_id is not None and storms.get(session, storm_id) is None:
            raise UserError(f"There is no storm #{storm_id}; the storm's summary card shows its number.")
        result = unanswered(session, which, request.user_id, page, storm_id=storm_id)
        slas = sla_settings(session)
        summaries = storms.summary_cards(session, sorted({i.storm_id for i in result.items if i.storm_id}))
    now = ctx.clock.now()
    label = {"mine": "assigned to you", "unassigned": "unassigned", "all": "in total"}[which]
    if storm_id is not None:
        label = f"in storm #{storm_id}"
    if not result.items:
        return CommandReply(f"Nothing unanswered {label}. :tada:")
    head = f"*{result.total}* unanswered {label}, oldest first · page {result.page} of {result.pages}"
    if result.on_summaries:
        head += (
            f"\n:cyclone: {result.on_summaries} of them are gathered on storm summary cards "
            "(answer or dismiss them from there, or here one by one)"
        )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    blocks += [_queue_item(ctx, item, now, slas, summaries, supervisor) for item in result.items]
    if result.page < result.pages:
        scope = f"storm {storm_id}" if storm_id is not None else which
        more = f"Next page: `/twoway queue {scope} {result.page + 1}`"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return CommandReply(f"{result.total} unanswered {label}", blocks=blocks)


def _saved(before: str, zone: str | None) -> str:
    """ "Saved.", and, when a command set a different agency time zone, that it did: the zone
    also moves digests, reports and exports, which the command's own summary does not show."""
    if zone is None or zone == before:
        return "Saved.\n"
    return (
        f"Saved. The agency time zone is now {zone} (was {before}): digests, SLA quiet hours,"
        " reports and exports use it.\n"
    )


# -- sla ------------------------------------------------------------------------------------------


def _sla_summary(ctx: Context) -> str:
    with ctx.transaction() as session:
        slas = sla_settings(session)
        quiet = settings.get(session, keys.SLA_QUIET)
        tz = agency_timezone(session)
    lines = [f"• {key}: {format_duration(slas[key])}" for key in SLA_KEYS]
    quiet_text = f"{quiet['start']}–{quiet['end']} ({tz.key}), urgent items excepted" if quiet else "off"
    return (
        "*SLAs* (time to answer, counted from when an item reached TwoWay)\n"
        + "\n".join(lines)
        + (f"\nQuiet hours: {quiet_text}")
    )


@COMMANDS.command(
    "sla",
    Role.SUPERVISOR,
    "/twoway sla [urgent|question|criticism|compliment|other DURATION|none] | sla quiet HH:MM-HH:MM [TZ]|off",
    "show or set response-time targets and quiet hours",
)
def sla_command(ctx: Context, request: CommandRequest) -> CommandReply:
    args = list(request.args)
    if not args:
        return CommandReply(_sla_summary(ctx))
    refused = _refusal(ctx, request.user_id, Role.ADMIN, "change SLAs")
    if refused is not None:
        return refused
    key = args[0].lower()
    now = ctx.clock.now()
    if key == "quiet":
        turning_off = len(args) >= 2 and args[1].lower() == "off"
        if len(args) not in (2, 3) or (turning_off and len(args) != 2):
            # A zone goes only with a range: `off UTC` would change the agency's zone unseen.
            raise UserError("Give a range like `22:00-07:00` (and optionally a time zone), or `off`.")
        try:
            quiet = None if turning_off else parse_quiet(args[1])
            tz = parse_timezone(args[2]) if len(args) == 3 else None
        except ValueError as exc:
            raise UserError(f"{public(_sentence(str(exc)))}. Nothing was changed.") from None
        with ctx.transaction() as session:
            before = agency_timezone(session).key
            if quiet is None:
                settings.delete(session, keys.SLA_QUIET, request.user_id, now)
            else:
                settings.put(session, keys.SLA_QUIET, quiet, request.user_id, now)
            if tz is not None:
                settings.put(session, keys.TIMEZONE, tz.key, request.user_id, now)
        return CommandReply(_saved(before, tz.key if tz else None) + _sla_summary(ctx))
    if key not in SLA_KEYS:
        raise UserError(f"`{public(key, 30)}` is not one of {', '.join(SLA_KEYS)} or `quiet`.")
    if len(args) != 2:
        raise UserError(f"Give one duration, e.g. `/twoway sla {key} 1h` or `none`.")
    try:
        seconds = parse_duration(args[1])
    except ValueError as exc:
        raise UserError(f"{public(_sentence(str(exc)))}. Nothing was changed.") from None
    with ctx.transaction() as session:
        settings.put(session, keys.sla(key), seconds, request.user_id, now)
    return CommandReply("Saved.\n" + _sla_summary(ctx))


# -- digest ---------------------------------------------------------------------------------------


def _digest_summary(ctx: Context) -> str:

    with ctx.transaction() as session:
        daily, weekly = schedule(session)
        tz = agency_timezone(session)
    daily_text = f"every day at {daily['time']}" if daily else "off"
    weekly_text = f"every {weekly['day'].capitalize()} at {weekly['time']}" if weekly else "off"
    return f"*Digests* ({tz.key})\n• daily: {daily_text}\n• weekly: {weekly_text}"


@COMMANDS.command(
    "digest",
    Role.SUPERVISOR,
    "/twoway digest [daily HH:MM [TZ]|off] | [weekly DAY [HH:MM] [TZ]|off] | [off] | [timezone TZ]",
    "show or set when digests are posted",
)
def digest_command(ctx: Context, request: CommandRequest) -> CommandReply:

    args = list(request.args)
    if not args:
        return CommandReply(_digest_summary(ctx))
    refused = _refusal(ctx, request.user_id, Role.ADMIN, "change digests")
    if refused is not None:
        return refused
    kind, rest = args[0].lower(), args[1:]
    changes: dict[str, Any] = {}
    try:
        if kind == "off" and not rest:
            changes = {keys.DIGEST_DAILY: False, keys.DIGEST_WEEKLY: False}
        elif kind == "timezone" and len(rest) == 1:
            changes = {keys.TIMEZONE: parse_timezone(rest[0]).key}
        elif kind == "timezone":
            raise ValueError("give one time zone: `/twoway digest timezone America/Chicago`, or `UTC`")
        elif kind in ("daily", "weekly") and not rest:
            example = "daily 07:30" if kind == "daily" else "weekly fri 09:00"
            raise ValueError(
                f"give the {'time' if kind == 'daily' else 'day'}: `/twoway digest {example}`, or `off`"
            )
        elif kind == "daily" and rest == ["off"]:
            changes = {keys.DIGEST_DAILY: False}
        elif kind == "daily" and len(rest) in (1, 2):
            changes = {keys.DIGEST_DAILY: {"time": parse_clock(rest[0]).strftime("%H:%M")}}
            if len(rest) == 2:
                changes[keys.TIMEZONE] = parse_timezone(rest[1]).key
        elif kind == "weekly" and rest == ["off"]:
            changes = {keys.DIGEST_WEEKLY: False}
        elif kind == "weekly" and 1 <= len(rest) <= 3:
            word = rest[0].lower()
            day = word[:3]
            if day not in WEEKDAYS or not any(full.startswith(word) for full in WEEKDAY_NAMES):
                raise ValueError(f"{quoted(rest[0])} is not a weekday like mon or friday")
            at = parse_clock(rest[1]).strftime("%H:%M") if len(rest) >= 2 else WEEKLY_DEFAULT["time"]
            changes = {keys.DIGEST_WEEKLY: {"day": day, "time": at}}
            if len(rest) == 3:
                changes[keys.TIMEZONE] = parse_timezone(rest[2]).key
        else:
            raise ValueError("that is not a digest setting")
    except ValueError as exc:
        raise UserError(f"{public(_sentence(str(exc)))}. Nothing was changed.") from None
    with ctx.transaction() as session:
        before = agency_timezone(session).key
        for key, value in changes.items():
            settings.put(session, key, value, request.user_id, ctx.clock.now())
    return CommandReply(_saved(before, changes.get(keys.TIMEZONE)) + _digest_summary(ctx))


# -- report ---------------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    """A message as a sentence: `str.capitalize` would also lowercase the time zone it names."""
    return text[:1].upper() + text[1:]


def parse_days(text: str, default: int) -> int:
    if not text:
        return default
    match = _DAYS.match(text.strip().lower())
    if match is None or not 1 <= int(match.group(1)) <= MAX_REPORT_DAYS:
        raise UserError(f"`{public(text, 20)}` is not a period like 7d or 30d (at most {MAX_REPORT_DAYS}d).")
    return int(match.group(1))


@COMMANDS.command(
    "report",
    Role.SUPERVISOR,
    "/twoway report [Nd]",
    "figures and a chart for the last N days (7 unless given, e.g. `30d`; at most 366)",
)
def report_command(ctx: Context, request: CommandRequest) -> CommandReply:

    if len(request.args) > 1:
        raise UserError("Give one period, e.g. `/twoway report 30d`.")
    days = parse_days(request.args[0] if request.args else "", 7)
    now = ctx.clock.now()
    with ctx.transaction() as session:
        tz = agency_timezone(session)
        offset = int((now.astimezone(tz).utcoffset() or timedelta(0)).total_seconds())
        report = build_report(session, now - timedelta(days=days), now, now, utc_offset_seconds=offset)
    title = "report for the last day" if days == 1 else f"report for the last {days} days"
    text, blocks = report_blocks(report, title.capitalize(), tz)

    def send_chart() -> None:

        if ctx.slack is None:
            return
        try:
            upload_chart(ctx, report, title.capitalize(), open_dm(ctx, request.user_id))
        except Exception:
            log.warning("could not send the report chart to %s", request.user_id, exc_info=True)

    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "The chart is on its way to you by DM."}]}
    )
    return CommandReply(text, blocks=blocks, after=send_chart)


# -- export ---------------------------------------------------------------------------------------


RAW = "raw"
SAFE_NOTE = (
    " Cells that would start like a spreadsheet formula (=, +, -, @) begin with an added `'`;"
    " the JSONL export has every text exactly as written."
)
RAW_WARNING = (
    " *Raw:* cells are exactly as written, and text from the public may run as a formula:"
    ' do not open it in a spreadsheet except with "import as text".'
)


def parse_range(args: list[str], today: date) -> tuple[date, date, str, bool]:
    """`30d`, or `2026-01-01 2026-01-31`, optionally followed by csv or jsonl and by raw."""

    fmt: str | None = None
    raw = False
    while args and (args[-1].lower() in FORMATS or args[-1].lower() == RAW):
        word = args.pop().lower()
        if word == RAW and raw:
            raise UserError("Give `raw` once.")
        if word == RAW:
            raw = True
        elif fmt is not None:
            # Which one was meant cannot be guessed: the first would win without a word.
            raise UserError(f"Give one format, `csv` or `jsonl`, not both `{word}` and `{fmt}`.")
        else:
            fmt = word
    if raw and fmt == "jsonl":
        raise UserError("`raw` is for CSV only: a JSONL export always has every text exactly as written.")
    fmt = fmt or "csv"
    if len(args) >= 2 and args[-1].isalpha():
        raise UserError(
            f"`{public(args[-1], 20)}` is not a format: use {' or '.join(FORMATS)}, and `raw` if need be."
        )
    if len(args) == 1 and _DATE_LIKE.match(args[0]):
        raise UserError(
            f"Give the second date too: `/twoway export {public(args[0], 20)} YYYY-MM-DD`,"
            " or a period like `30d`."
        )
    if len(args) == 1:
        days = parse_days(args[0], 30)
        return today - timedelta(days=days - 1), today, fmt, raw
    if len(args) == 2:
        try:
            since, until = parse_day(args[0], "the first date"), parse_day(args[1], "the second date")
        except Exception as exc:
            raise UserError(public(str(exc))) from None
        if since > until:
            raise UserError(f"{since} is after {until}.")
        return since, until, fmt, raw
    raise UserError("Give a period like `30d` or two dates like `2026-01-01 2026-01-31`.")


@COMMANDS.command(
    "export",
    Role.ADMIN,
    "/twoway export 30d|YYYY-MM-DD YYYY-MM-DD [csv|jsonl] [raw]",
    "the public record of mentions, sent to you by DM (CSV safe to open in a spreadsheet unless `raw`)",
)
def export_command(ctx: Context, request: CommandRequest) -> CommandReply:

    with ctx.transaction() as session:
        tz = agency_timezone(session)
    today = ctx.clock.now().astimezone(tz).date()
    since, until, fmt, raw = parse_range(list(request.args), today)
    start, end = day_bounds(since, until, tz)
    filename = f"twoway-export-{since}-to-{until}{'-raw' if raw else ''}.{fmt}"

    def send() -> None:
        if ctx.slack is None:
            return
        path = ""
        try:
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", newline="", suffix="." + fmt, delete=False
            ) as out:
                path = out.name
                count = write_export(ctx.sessions, start, end, fmt, out, raw)
            comment = (
                f"The record of {counted(count, 'mention')} posted {since} to {until} ({tz.key}), as {fmt.upper()}."
                + (RAW_WARNING if raw else SAFE_NOTE if fmt == "csv" else "")
            )
            send_file_to_user(ctx, request.user_id, path, filename, filename, comment)
            with ctx.transaction() as session:
                record_export(session, ctx.clock.now(), request.user_id, since, until, fmt, count, raw)
        except Exception:
            log.exception("the export for %s failed", request.user_id)
            try:
                poster(ctx).chat_postMessage(
                    channel=open_dm(ctx, request.user_id),
                    text=f"Sorry, the export {since} to {until} failed. Please try again or ask your administrator.",
                )
            except Exception:
                log.warning("could not tell %s that the export failed", request.user_id, exc_info=True)
        finally:
            if path:
                os.unlink(path)

    return CommandReply(
        f"Preparing the record of mentions posted {since} to {until} ({tz.key}) as "
        f"{'raw ' if raw else ''}{fmt.upper()}; it will arrive as a direct message.",
        after=send,
    )
