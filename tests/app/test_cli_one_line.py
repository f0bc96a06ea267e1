"""Exit status 2 prints one line saying what is wrong (README), not alembic's INFO lines first."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.core.context import Context
from domain import AccountIdentity
from tests.app.test_keys_cli import LOST, OLD, X_CREDS, _connect
from tests.support.process import run_twoway


def _twoway(cwd: Path, *args: str, **env_values: str) -> subprocess.CompletedProcess[str]:
    return run_twoway(cwd, *args, **env_values)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def stored(ctx: Context) -> None:
    _connect(ctx, OLD, AccountIdentity("x", "1000", "cityPD", "City PD"), X_CREDS)


@pytest.mark.parametrize(
    ("action", "key", "says"),
    [
        ("check", None, "TWOWAY_SECRET_KEY is not set"),
        ("rotate", None, "TWOWAY_SECRET_KEY is not set"),
        ("check", LOST, "no key in TWOWAY_SECRET_KEY opens"),
        ("rotate", LOST, "no key in TWOWAY_SECRET_KEY opens"),
    ],
)
def test_keys_refusals_are_one_line(
    stored: None, db_url: str, tmp_path: Path, action: str, key: str | None, says: str
) -> None:
    env = {"DATABASE_URL": db_url} | ({"TWOWAY_SECRET_KEY": key} if key else {})
    line = _one_line(_twoway(tmp_path, "keys", action, **env))
    assert line.startswith(f"twoway: {says}")


@pytest.mark.parametrize(
    ("out", "says"),
    [(".", "it is a folder; give a file name"), ("missing/dir/x.csv", "there is no folder")],
)
def test_export_to_an_unwritable_out_is_one_line_before_the_database(
    tmp_path: Path, out: str, says: str
) -> None:
    database = tmp_path / "never.db"
    done = _twoway(
        tmp_path,
        *("export", "--since", "2026-01-01", "--until", "2026-01-31", "--out", out),
        DATABASE_URL=f"sqlite:///{database}",
    )
    line = _one_line(done)
    assert line.startswith(f"twoway: cannot write {out}: {says}")
    assert not database.exists()  # refused before the database was opened (or created)


def test_a_raw_at_in_the_database_password_gets_a_hint_and_stays_masked(tmp_path: Path) -> None:
    done = _twoway(tmp_path, "keys", "check", DATABASE_URL="postgresql://postgres:p@ss-SECRET@127.0.0.1:1/x")
    line = _one_line(done)
    assert line.startswith("twoway: DATABASE_URL: cannot use the database (")
    assert 'an "@" in the password must be written %40' in line
    assert "SECRET" not in line
    assert "p@ss" not in line


def test_db_upgrade_still_shows_the_migrations(tmp_path: Path) -> None:
    done = _twoway(tmp_path, "db", "upgrade", DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert done.returncode == 0, done.stderr
    assert "INFO alembic.runtime.migration" in done.stderr
