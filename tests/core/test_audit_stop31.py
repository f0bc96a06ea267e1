"""Stop 31's audit: a read-only database stops `twoway run` at start (not at every write after
a healthy start), the agency time zone takes IANA's names only, and SLACK_BOT_TOKEN takes a bot
token only. Each exit-2 case is one line on stderr, as for any other bad configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.config import ConfigError, load_settings
from bot.core.context import Context
from bot.slack.commands import CommandReply, run_command
from bot.supervision.sla import parse_timezone
from storage import staff
from storage.db import check_writable, make_engine, refuses_writes
from storage.models import Setting
from storage.scratch import scratch_schema
from tests.conftest import REPO
from tests.support.fakes.slack_api import FakeSlack
from tests.support.process import free_port, run_twoway
from tests.support.rows import CHANNEL, slack_client

SLACK = {"SLACK_BOT_TOKEN": "xoxb-stop31-bot", "SLACK_SIGNING_SECRET": "stop31-signing-secret-0123"}
DEAD_SLACK = "http://127.0.0.1:9/api/"  # nothing reaches Slack
SQLITE_READONLY = "twoway: DATABASE_URL: cannot use the database (attempt to write a readonly database)"
PG_READONLY = "twoway: DATABASE_URL: cannot use the database (cannot execute {} in a read-only transaction)"


def _twoway(cwd: Path, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    # Short timeout: before the fix `twoway run` served on a read-only database until killed.
    return run_twoway(cwd, *args, timeout=30, **values)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _read_only(db_url: str, backend: str) -> str:
    """The same migrated database, opened so that it refuses every write."""
    url = make_url(db_url)
    if backend == "sqlite":
        return f"sqlite:///file:{url.database}?mode=ro&uri=true"
    options = str(url.query.get("options", ""))
    return url.update_query_dict(
        {"options": f"{options} -cdefault_transaction_read_only=on"}
    ).render_as_string(hide_password=False)


def _expected(backend: str, statement: str = "UPDATE") -> str:
    return SQLITE_READONLY if backend == "sqlite" else PG_READONLY.format(statement)


# -- 1. a read-only database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "slack"), [(["run"], True), (["start"], True), (["poll", "--once"], False)]
)
def test_a_read_only_database_stops_the_command_at_start_with_one_line(
    db_url: str, backend: str, tmp_path: Path, command: list[str], slack: bool
) -> None:
    # No TWOWAY_ADMINS: its first start made them, and nothing else was written at start.
    env = {"DATABASE_URL": _read_only(db_url, backend), "PORT": str(free_port()), "SLACK_API_URL": DEAD_SLACK}
    done = _twoway(tmp_path, *command, **env, **(SLACK if slack else {}))
    assert _one_line(done).endswith(_expected(backend))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a chmod 444 file")
def test_a_read_only_file_stops_run(tmp_path: Path) -> None:
    database = tmp_path / "ro.db"
    assert _twoway(tmp_path, "db", "upgrade", DATABASE_URL=f"sqlite:///{database}").returncode == 0
    database.chmod(0o444)
    env = {"DATABASE_URL": f"sqlite:///{database}", "PORT": str(free_port()), **SLACK}
    assert _one_line(_twoway(tmp_path, "run", **env)) == SQLITE_READONLY


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A PostgreSQL URL on a schema of its own, never migrated; dropped afterwards."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    with scratch_schema(os.environ["TEST_DATABASE_URL"], "twoway_ro") as url:
        yield url


def test_a_read_only_database_not_yet_migrated_is_one_line_too(empty_schema: str, tmp_path: Path) -> None:
    """No alembic_version to probe: the migration's first write is refused, in the same words."""
    done = _twoway(tmp_path, "poll", "--once", DATABASE_URL=_read_only(empty_schema, "postgresql"))
    assert _one_line(done) == PG_READONLY.format("CREATE TABLE")


def test_the_probe_leaves_a_writable_database_as_it_was(engine: Engine) -> None:
    with engine.connect() as connection:
        before = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    check_writable(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == before


def test_the_probe_says_a_read_only_database_refuses_writes(db_url: str, backend: str) -> None:
    read_only = make_engine(_read_only(db_url, backend))
    try:
        with pytest.raises(DBAPIError) as caught:
            check_writable(read_only)
        assert refuses_writes(caught.value)
    finally:
        read_only.dispose()


# -- 2. the agency time zone: IANA's names only ----------------------------------------------------


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules", "FACTORY", "LocalTime", "posix/UTC"])
def test_names_that_are_not_iana_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a time zone like America/Los_Angeles"):
        parse_timezone(name)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("utc", "UTC"),
        ("america/los_angeles", "America/Los_Angeles"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("EST", "EST"),
    ],
)
def test_iana_names_are_still_taken_in_any_case(name: str, key: str) -> None:
    assert parse_timezone(name).key == key


@pytest.fixture
def sctx(ctx: Context) -> Iterator[Context]:
    with FakeSlack() as fake:
        ctx.slack = slack_client(fake)
        with ctx.transaction() as session:
            staff.set_role(session, "U0ADMIN", "admin", by="test", now=ctx.clock.now())
        yield ctx


def _command(ctx: Context, line: str) -> CommandReply:
    return run_command(
        ctx, REGISTRY, {"text": line, "user_id": "U0ADMIN", "channel_id": CHANNEL, "response_url": ""}
    )


def _settings(ctx: Context) -> dict[str, Any]:
    with ctx.transaction() as session:
        return {s.key: s.value for s in session.scalars(select(Setting))}


@pytest.mark.parametrize(
    "line",
    [
        "digest timezone localtime",
        "digest timezone Factory",
        "digest timezone posixrules",
        "digest daily 07:00 localtime",
        "digest weekly fri 09:00 Factory",
        "sla quiet 22:00-07:00 localtime",
    ],
)
def test_slack_commands_refuse_a_zone_that_is_not_iana(sctx: Context, line: str) -> None:
    before = _settings(sctx)
    assert "is not a time zone like America/Los_Angeles" in _command(sctx, line).text
    assert _settings(sctx) == before


# -- 3. SLACK_BOT_TOKEN takes a bot token --------------------------------------------------------


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO / "tests")  # no .env here
    return load_settings()


@pytest.mark.parametrize(
    "token", ["xapp-1-A0-SECRET-value", "xoxp-SECRET-user", "SECRET-no-prefix", "xoxe-1-SECRET"]
)
def test_a_bot_token_of_another_kind_is_one_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, SLACK_BOT_TOKEN=token)
    line = str(caught.value)
    assert line.startswith("SLACK_BOT_TOKEN is malformed: expected the bot token (xoxb-")
    assert "SECRET" not in line


@pytest.mark.parametrize("token", ["xoxb-1", "xoxe.xoxb-1-rotating", "xoxb-stop31-bot"])
def test_bot_tokens_are_taken(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    assert _load(monkeypatch, SLACK_BOT_TOKEN=token).slack_bot_token.get_secret_value() == token


@pytest.mark.parametrize("command", [["run"], ["poll", "--once"]])
def test_run_and_poll_refuse_an_app_token_as_the_bot_token(tmp_path: Path, command: list[str]) -> None:
    env = {**SLACK, "SLACK_BOT_TOKEN": "xapp-1-A0-SECRET-value", "PORT": str(free_port())}
    done = _twoway(tmp_path, *command, DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}", **env)
    line = _one_line(done)
    assert line.startswith("twoway: SLACK_BOT_TOKEN is malformed")
    assert "SECRET" not in done.stderr + done.stdout
