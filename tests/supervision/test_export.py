"""The public-records export: complete rows, faithful text, whole days, and a CLI that says no clearly."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

import bot.supervision.export
from bot.core.context import Context
from bot.supervision.export import COLUMNS, build_export, day_bounds
from storage import audit, settings
from storage.models import Reply, SlaNotice
from tests.conftest import FakeClock
from tests.support.rows import add_account, add_mention

TEXT = 'Thanks, "Officer" Lee!\nYou found my dog 🐕‍🦺, bless you, 日本語 too.\r\nSecond line, with a comma'
UTC_ZONE = ZoneInfo("UTC")


def _full_history(session: Session, clock: FakeClock) -> tuple[int, int]:
    """One answered mention with every kind of event, and one dismissed one."""
    now = clock.now()
    account = add_account(session, now)
    answered = add_mention(
        session,
        account,
        now - timedelta(hours=5),
        text=TEXT,
        category="compliment",
        state="replied",
        ingested_after=timedelta(minutes=2),
        response_after=timedelta(hours=1),
        responded_by="U0OFFICER",
        assignee="U0OFFICER",
        reply_status="sent",
        drafts={"items": [{"text": "Thank you!", "source": "template", "key": "compliment.thanks"}]},
        liked_at=now - timedelta(hours=4),
        liked_by="U0OFFICER",
    )
    at = answered.created_at
    session.add_all(
        [
            Reply(
                mention_id=answered.id,
                text="Thank you!",
                source="edited",
                status="failed",
                requested_by="U0OTHER",
                requested_at=at + timedelta(minutes=40),
                completed_at=at + timedelta(minutes=41),
                error="rate limited",
            ),
            Reply(
                mention_id=answered.id,
                text="Thank you — we are so glad he is home! 🐾",
                source="draft:1",
                status="sent",
                requested_by="U0OFFICER",
                requested_at=at + timedelta(minutes=59),
                completed_at=at + timedelta(hours=1),
                external_id="1900000000000000001",
                url="https://x.com/cityPD/status/1900000000000000001",
            ),
            SlaNotice(
                mention_id=answered.id, kind="reminder", at=at + timedelta(minutes=30), channel="C1", ts="1.2"
            ),
        ]
    )
    audit.record(session, at + timedelta(minutes=2), "ingested", mention_id=answered.id)
    audit.record(
        session,
        at + timedelta(minutes=3),
        "reclassified",
        "U0SUPER",
        answered.id,
        **{"from": "other", "to": "compliment"},
    )
    audit.record(
        session,
        at + timedelta(minutes=4),
        "assigned",
        "U0SUPER",
        answered.id,
        assignee="U0OTHER",
        previous=None,
    )
    audit.record(
        session,
        at + timedelta(minutes=5),
        "reassigned",
        "U0SUPER",
        answered.id,
        assignee="U0OFFICER",
        previous="U0OTHER",
    )
    audit.record(
        session,
        at + timedelta(hours=2),
        "edited",
        mention_id=answered.id,
        previous_text=TEXT,
        text="edited later",
    )
    answered.text = "edited later"
    dismissed = add_mention(
        session,
        account,
        now - timedelta(hours=3),
        text="spam spam",
        category="other",
        state="dismissed",
        dismissed_at=now - timedelta(hours=2),
        dismissed_by="U0OFFICER",
        dismissed_reason="spam",
    )
    add_mention(session, account, now - timedelta(days=40), text="too old")
    return answered.id, dismissed.id


def _export(ctx: Context, fmt: str, since: date, until: date, tz: ZoneInfo = UTC_ZONE) -> str:
    start, end = day_bounds(since, until, tz)
    return "".join(build_export(ctx.sessions, start, end, fmt))


def test_csv_holds_the_complete_record(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        answered, dismissed = _full_history(session, clock)
    text = _export(ctx, "csv", date(2026, 11, 1), date(2026, 11, 20))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == list(COLUMNS)
    rows = {int(r["mention_id"]): r for r in reader}
    assert set(rows) == {answered, dismissed}
    row = rows[answered]
    assert row["text_as_ingested"] == TEXT
    assert row["posted_at"] == "2026-11-20T10:00:00Z"
    assert row["ingested_at"] == "2026-11-20T10:02:00Z"
    assert row["reply_text"] == "Thank you — we are so glad he is home! 🐾"
    assert (row["approved_by"], row["platform_reply_id"]) == ("U0OFFICER", "1900000000000000001")
    assert row["replied_at"] == "2026-11-20T11:00:00Z"
    assert (row["reply_status"], row["state"], row["category"], row["urgent"]) == (
        "sent",
        "replied",
        "compliment",
        "false",
    )
    assert row["liked_by"] == "U0OFFICER"
    history = json.loads(row["assignment_history"])
    assert [(h["action"], h["to"], h["from"]) for h in history] == [
        ("assigned", "U0OTHER", None),
        ("reassigned", "U0OFFICER", "U0OTHER"),
    ]
    assert json.loads(row["reclassifications"])[0]["from"] == "other"
    assert json.loads(row["drafts_offered"]) == [
        {"key": "compliment.thanks", "source": "template", "text": "Thank you!"}
    ]
    [attempt] = json.loads(row["other_reply_attempts"])
    assert (attempt["status"], attempt["error"]) == ("failed", "rate limited")
    [edit] = json.loads(row["edits_and_deletions"])
    assert edit["details"]["text"] == "edited later"
    assert [n["kind"] for n in json.loads(row["sla_notices"])] == ["reminder"]
    assert len(json.loads(row["audit_trail"])) == 5
    gone = rows[dismissed]
    assert (gone["dismissed_reason"], gone["dismissed_by"]) == ("spam", "U0OFFICER")
    assert gone["reply_text"] == ""


def test_jsonl_is_one_object_per_mention(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        answered, dismissed = _full_history(session, clock)
    lines = _export(ctx, "jsonl", date(2026, 11, 20), date(2026, 11, 20)).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["mention_id"] for r in records] == [answered, dismissed]
    assert records[0]["text_as_ingested"] == TEXT
    assert records[0]["urgent"] is False
    assert records[0]["assignment_history"][1]["to"] == "U0OFFICER"
    assert set(records[0]) == set(COLUMNS)


def test_jsonl_keeps_unicode_line_separators_inside_their_record(ctx: Context, clock: FakeClock) -> None:
    text = "first line\u2028second\u2029third\x85fourth"
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        add_mention(session, account, datetime(2026, 11, 20, 10, 0, tzinfo=UTC), text=text)
    exported = _export(ctx, "jsonl", date(2026, 11, 20), date(2026, 11, 20))
    [line] = exported.splitlines()  # what str.splitlines-style readers see
    assert json.loads(line)["text_as_ingested"] == text


def test_days_are_whole_days_in_the_agency_zone(ctx: Context, clock: FakeClock) -> None:
    """10:00 UTC on 20 Nov is 21:00 on 20 Nov in Sydney, but 02:00 UTC on 21 Nov is 13:00 on the 21st."""
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        early = add_mention(session, account, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)).id
        late = add_mention(session, account, datetime(2026, 11, 21, 2, 0, tzinfo=UTC)).id
    sydney = ZoneInfo("Australia/Sydney")
    ids = [
        r["mention_id"]
        for r in map(
            json.loads, _export(ctx, "jsonl", date(2026, 11, 20), date(2026, 11, 20), sydney).splitlines()
        )
    ]
    assert ids == [early]
    ids = [
        r["mention_id"]
        for r in map(json.loads, _export(ctx, "jsonl", date(2026, 11, 20), date(2026, 11, 21)).splitlines())
    ]
    assert ids == [early, late]


def test_pages_lose_and_repeat_nothing(
    ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mentions posted at the same second straddle page boundaries."""
    monkeypatch.setattr(bot.supervision.export, "PAGE_SIZE", 3)
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        ids = [add_mention(session, account, clock.now() - timedelta(minutes=i // 4)).id for i in range(11)]
    text = _export(ctx, "csv", date(2026, 11, 20), date(2026, 11, 20))
    exported = [int(r["mention_id"]) for r in csv.DictReader(io.StringIO(text, newline=""))]
    assert sorted(exported) == sorted(ids)
    assert len(exported) == len(set(exported))


# -- the CLI --------------------------------------------------------------------------------------


def _cli(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWOWAY_", "SLACK_", "DATABASE_URL"))}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "bot", "export", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_cli_writes_a_file_and_records_the_export(
    ctx: Context, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    with ctx.transaction() as session:
        answered, dismissed = _full_history(session, clock)
        settings.put(session, "timezone", "America/Los_Angeles", by="U0ADMIN", now=clock.now())
    out = tmp_path / "record.csv"
    done = _cli(db_url, tmp_path, "--since", "2026-11-20", "--until", "2026-11-20", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 2 mentions" in done.stderr
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["mention_id"]) for r in rows] == [answered, dismissed]
    assert rows[0]["text_as_ingested"] == TEXT
    from sqlalchemy import select

    from storage.models import AuditEvent

    with ctx.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "exported"))
    assert event is not None
    assert event.details == {"since": "2026-11-20", "until": "2026-11-20", "format": "csv", "records": 2}


def test_cli_writes_jsonl_to_standard_output(
    ctx: Context, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    with ctx.transaction() as session:
        _full_history(session, clock)
    done = _cli(db_url, tmp_path, "--since", "2026-11-19", "--until", "2026-11-21", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text_as_ingested"] for r in records] == [TEXT, "spam spam"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "2026-13-01", "--until", "2026-12-31"], "--since is not a real date"),
        (["--since", "01/02/2026", "--until", "2026-12-31"], "--since must be a date like 2026-01-31"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "is after --until"),
        (
            ["--since", "2026-01-01", "--until", "2026-01-31", "--out", "/nonexistent/dir/x.csv"],
            "cannot write",
        ),
    ],
)
def test_cli_errors_exit_2_with_one_line(db_url: str, tmp_path: Path, args: list[str], says: str) -> None:
    done = _cli(db_url, tmp_path, *args)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("twoway:")]
    assert len(lines) == 1
    assert says in lines[0]
    assert "Traceback" not in done.stderr


def test_every_column_is_described_for_records_officers() -> None:
    from tests.conftest import REPO

    doc = (REPO / "docs" / "supervision.md").read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"| {column} |" in doc, column
