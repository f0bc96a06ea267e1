"""The public record: one row per mention posted in a date range, with everything done about it.

`twoway export --since 2026-01-01 --until 2026-01-31 [--format csv|jsonl] [--out FILE]` and the
admin's `/twoway export 30d` (the file arrives by DM). Dates are whole days in the agency's time
zone (the `timezone` setting, UTC when unset), both ends included; every time in the file is ISO
8601 UTC. Rows are read in pages of PAGE_SIZE with a short transaction each, so an export of
100,000 mentions neither fills memory nor holds SQLite's write lock for long.

Mentions are written by anyone on the internet, and the CSV is opened in spreadsheets: a cell a
spreadsheet would run as a formula is neutralised by default (OWASP's advice on CSV injection,
the rule in `neutralise` and docs/security.md). `raw` keeps every cell verbatim; JSONL always is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import SupportsWrite
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.core.errors import UserError
from storage import audit
from storage import records as stored_records
from storage.audit import Action
from storage.models import AuditEvent, HideStatus, Mention, Reply, SlaNotice

PAGE_SIZE = 500
FORMATS = ("csv", "jsonl")
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SENT_STATES = ("sent", "manual")
ASSIGNMENT_ACTIONS = ("assigned", "reassigned", "unassigned")
EDIT_ACTIONS = ("edited", "deleted")
SHOWN_ON = {"summary": "storm summary card"}

# Column -> what it holds (docs/supervision.md repeats this for records officers).
COLUMNS: dict[str, str] = {
    "mention_id": "TwoWay's number for the item (#id on the Slack card)",
    "platform": "x, facebook, instagram, threads or bluesky",
    "account": "the agency account or Page it was addressed to",
    "external_id": "the platform's id of the post or comment",
    "url": "link to the post or comment",
    "author_id": "the platform's id of the author",
    "author_handle": "the author's handle as ingested",
    "author_name": "the author's display name as ingested",
    "posted_at": "when it was posted on the platform",
    "ingested_at": "when TwoWay read it",
    "in_reply_to": "the platform id of the post or comment it answered, if any",
    "text_as_ingested": "the text exactly as TwoWay first read it",
    "edits_and_deletions": "later edits or deletions TwoWay saw (time, what changed)",
    "deleted_at": "when TwoWay saw it deleted on the platform",
    "category": "current category: compliment, question, criticism or other",
    "confidence": "the classifier's confidence (1.0 when set by staff)",
    "urgent": "flagged as a possible emergency",
    "urgent_reason": "why it is (urgent true) or may be (urgent false) an emergency; drafts then lead with the 911 line",
    "triaged_at": "when it was classified",
    "reclassifications": "category changes by staff (time, who, from, to)",
    "drafts_offered": "the reply drafts shown on the card (latest set)",
    "state": "open, replied or dismissed (new: not classified yet)",
    "reply_status": "none, sending, sent, failed, unknown or manual",
    "reply_text": "the reply actually published (or marked as sent by hand)",
    "reply_source": "which draft it came from, or edited/manual",
    "approved_by": "the Slack user who approved the reply",
    "approved_at": "when the reply was approved",
    "platform_reply_id": "the platform's id of the published reply",
    "platform_reply_url": "link to the published reply",
    "replied_at": "when the platform accepted the reply",
    "first_response_at": "first public response",
    "responded_by": "who gave the first public response",
    "other_reply_attempts": "reply attempts that failed or were not confirmed",
    "liked_at": "when the agency liked it",
    "liked_by": "who liked it",
    "hidden_at": "when the agency hid it from the public on the platform",
    "hidden_by": "who hid it",
    "assignee": "who it is assigned to now",
    "assignment_history": "every assignment, reassignment and unassignment (time, by, to, from)",
    "sla_notices": "SLA reminders and escalations posted (kind, time)",
    "dismissed_at": "when it was dismissed",
    "dismissed_by": "who dismissed it",
    "dismissed_reason": "the reason given",
    "storm_id": "the storm it arrived in, if any (a burst far above the account's normal)",
    "shown_on": "own card, storm summary card (gathered with the storm's other posts), or empty before triage",
    "audit_trail": "every recorded event about it, oldest first (time, actor, action, details)",
}


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def day_bounds(since: date, until: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in the agency's zone, as UTC."""
    start = datetime.combine(since, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def records(sessions: sessionmaker[Session], start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """One record per mention posted in [start, end), oldest first, read a page at a time."""
    for page in stored_records.pages(sessions, start, end, PAGE_SIZE):
        for item in page:
            yield _record(item.mention, item.account, item.replies, item.events, item.notices)


def _event(event: AuditEvent) -> dict[str, Any]:
    return {"at": iso(event.at), "actor": event.actor, "action": event.action, "details": event.details}


def _record(
    m: Mention, account: str, replies: list[Reply], events: list[AuditEvent], notices: list[SlaNotice]
) -> dict[str, Any]:
    sent = next((r for r in replies if r.status in SENT_STATES), None)
    edits = [_event(e) for e in events if e.action in EDIT_ACTIONS]
    original = m.text
    for e in events:  # an edit event that kept the earlier text tells us what was first read
        if e.action == "edited" and isinstance(e.details.get("previous_text"), str):
            original = e.details["previous_text"]
            break
    drafts = (m.drafts or {}).get("items") or []
    return {
        "mention_id": m.id,
        "platform": m.platform,
        "account": account,
        "external_id": m.external_id,
        "url": m.url,
        "author_id": m.author_id,
        "author_handle": m.author_handle,
        "author_name": m.author_name,
        "posted_at": iso(m.created_at),
        "ingested_at": iso(m.ingested_at),
        "in_reply_to": m.parent_id,
        "text_as_ingested": original,
        "edits_and_deletions": edits,
        "deleted_at": iso(m.deleted_at),
        "category": m.category,
        "confidence": m.confidence,
        "urgent": m.urgent,
        "urgent_reason": m.urgent_reason,
        "triaged_at": iso(m.triaged_at),
        "reclassifications": [
            {"at": iso(e.at), "by": e.actor, "from": e.details.get("from"), "to": e.details.get("to")}
            for e in events
            if e.action == "reclassified"
        ],
        "drafts_offered": [
            {"text": d.get("text"), "source": d.get("source"), "key": d.get("key")}
            for d in drafts
            if isinstance(d, dict)
        ],
        "state": m.state,
        "reply_status": m.reply_status,
        "reply_text": sent.text if sent else None,
        "reply_source": sent.source if sent else None,
        "approved_by": sent.requested_by if sent else None,
        "approved_at": iso(sent.requested_at) if sent else None,
        "platform_reply_id": sent.external_id if sent else None,
        "platform_reply_url": sent.url if sent else None,
        "replied_at": iso(sent.completed_at) if sent else None,
        "first_response_at": iso(m.first_response_at),
        "responded_by": m.responded_by,
        "other_reply_attempts": [
            {
                "text": r.text,
                "status": r.status,
                "requested_by": r.requested_by,
                "requested_at": iso(r.requested_at),
                "error": r.error,
            }
            for r in replies
            if r is not sent
        ],
        "liked_at": iso(m.liked_at),
        "liked_by": m.liked_by,
        "hidden_at": iso(m.hidden_at) if m.hide_status == HideStatus.HIDDEN else None,
        "hidden_by": m.hidden_by if m.hide_status == HideStatus.HIDDEN else None,
        "assignee": m.assignee,
        "assignment_history": [
            {
                "at": iso(e.at),
                "action": e.action,
                "by": e.actor,
                "to": e.details.get("assignee"),
                "from": e.details.get("previous"),
            }
            for e in events
            if e.action in ASSIGNMENT_ACTIONS
        ],
        "sla_notices": [{"kind": n.kind, "at": iso(n.at), "posted": bool(n.ts)} for n in notices],
        "dismissed_at": iso(m.dismissed_at),
        "dismissed_by": m.dismissed_by,
        "dismissed_reason": m.dismissed_reason,
        "storm_id": m.storm_id,
        "shown_on": SHOWN_ON.get(m.card_status or "", "own card" if m.card_status else None),
        "audit_trail": [_event(e) for e in events],
    }


# What a spreadsheet may take for the start of a formula: =, +, - and @ (and their full-width
# forms, which some spreadsheets fold into them), also behind leading tabs, line breaks or spaces.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"
_PREFIXED = FORMULA_STARTS | {QUOTE, "\t", "\r"}


def neutralise(text: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`: a leading apostrophe makes the cell plain text.

    Prefixed: a cell starting with =, +, -, @ (or a full-width form), with a tab or a carriage
    return (OWASP's list), or with any whitespace followed by one of the four. A cell that
    already starts with an apostrophe gets one more, so removing ONE leading apostrophe from
    every cell that has one always gives back the text exactly as written.
    """
    first = text[:1]
    if first in _PREFIXED or (first.isspace() and text.lstrip()[:1] in FORMULA_STARTS):
        return QUOTE + text
    return text


def _cell(value: Any, raw: bool = False) -> Any:
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    elif isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value if raw or not isinstance(value, str) else neutralise(value)


_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def _chunks(rows: Iterable[dict[str, Any]], fmt: str, raw: bool = False) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "jsonl":
        for record in rows:
            line = json.dumps(record, ensure_ascii=False)
            # Valid JSON either way, but readers that split on Unicode line breaks would cut a
            # record in two: escape the three that JSON leaves raw.
            yield line.translate(_LINE_BREAKS) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for n, record in enumerate(rows, 1):
        writer.writerow([_cell(record[c], raw) for c in COLUMNS])
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def build_export(
    sessions: sessionmaker[Session], start: datetime, end: datetime, fmt: str, raw: bool = False
) -> Iterator[str]:
    """The file's text in chunks (CSV with a header, or one JSON object per line)."""
    return _chunks(records(sessions, start, end), fmt, raw)


def write_export(
    sessions: sessionmaker[Session],
    start: datetime,
    end: datetime,
    fmt: str,
    out: SupportsWrite[str],
    raw: bool = False,
) -> int:
    """Write the export to an open text file; returns the number of records."""
    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for record in records(sessions, start, end):
            count += 1
            yield record

    for chunk in _chunks(counted(), fmt, raw):
        out.write(chunk)
    return count


def record_export(
    session: Session,
    now: datetime,
    by: str,
    since: date,
    until: date,
    fmt: str,
    count: int,
    raw: bool = False,
) -> None:
    """Exports are themselves part of the record (a raw CSV says so)."""
    extra: dict[str, Any] = {"raw": True} if raw and fmt == "csv" else {}
    audit.record(
        session,
        now,
        Action.EXPORTED,
        actor=by,
        since=since.isoformat(),
        until=until.isoformat(),
        format=fmt,
        records=count,
        **extra,
    )


# -- the CLI ---------------------------------------------------------------------------------------


def parse_day(text: str, name: str) -> date:
    if not _DATE.match(text):
        raise UserError(f"{name} must be a date like 2026-01-31, got {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{name} is not a real date: {text!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:  # beyond these, converting the day to UTC overflows
        raise UserError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {text!r}")
    return day
