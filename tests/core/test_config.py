"""Configuration: every variable's contract name, defaults, and one clear line for bad values."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app.leader import AdvisoryLock, scheduler_lock
from bot.core.config import ConfigError, hide_password, load_settings
from storage.db import make_engine
from storage.scratch import scratch_schema
from tests.conftest import BACKENDS, REPO


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO / "tests")  # no .env here
    return load_settings()


def test_defaults_match_the_documented_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset variables take the defaults the README and .env.example promise."""
    settings = _load(monkeypatch)
    assert settings.database_url == "sqlite:///twoway.db"  # type: ignore[attr-defined]
    assert settings.slack_api_url == "https://slack.com/api/"  # type: ignore[attr-defined]
    assert settings.port == 3000  # type: ignore[attr-defined]
    assert settings.twoway_poll_seconds == 120  # type: ignore[attr-defined]
    assert settings.x_api_url == "https://api.x.com"  # type: ignore[attr-defined]
    assert settings.facebook_graph_url == "https://graph.facebook.com"  # type: ignore[attr-defined]
    assert settings.facebook_graph_version.startswith("v")  # type: ignore[attr-defined]


def test_admins_are_comma_separated_user_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, TWOWAY_ADMINS=" U012AB3CD, W045EF6GH ,")
    assert settings.twoway_admins == ["U012AB3CD", "W045EF6GH"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "eighty", "PORT is malformed: expected a TCP port number"),
        ("PORT", "70000", "PORT is malformed"),
        ("TWOWAY_POLL_SECONDS", "2", "TWOWAY_POLL_SECONDS is malformed: expected a whole number of seconds"),
        ("TWOWAY_ADMINS", "U1AA,bob", "TWOWAY_ADMINS is malformed"),
        ("TWOWAY_CHANNEL", "#general", "TWOWAY_CHANNEL is malformed: expected a Slack channel id"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL is malformed"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is malformed"),
        (
            "SLACK_API_URL",
            "https://slack.com",
            "SLACK_API_URL is malformed: expected an http(s) URL ending in /api/",
        ),
        ("FACEBOOK_GRAPH_VERSION", "latest", "FACEBOOK_GRAPH_VERSION is malformed"),
        ("FACEBOOK_PAGE_ID", "my-page", "FACEBOOK_PAGE_ID is malformed"),
        # Digits an IME types (full-width) or a superscript: `isdigit` takes them, no platform does.
        ("FACEBOOK_PAGE_ID", "１０４８５７６００００００００１", "FACEBOOK_PAGE_ID is malformed"),
        ("FACEBOOK_PAGE_ID", "²", "FACEBOOK_PAGE_ID is malformed"),
        ("INSTAGRAM_ACCOUNT_ID", "１７８４１４００００", "INSTAGRAM_ACCOUNT_ID is malformed"),
        ("THREADS_USER_ID", "12³", "THREADS_USER_ID is malformed"),
        ("TWOWAY_SECRET_KEY", "short", "TWOWAY_SECRET_KEY is malformed"),
        ("TWOWAY_SECRET_KEY", "a-new-long-secret-key-1,short", "TWOWAY_SECRET_KEY is malformed"),
        ("TWOWAY_SECRET_KEY", " , ", "TWOWAY_SECRET_KEY is malformed"),
        (
            "TWOWAY_SWEEP_SECONDS",
            "0",
            "TWOWAY_SWEEP_SECONDS is malformed: expected a whole number of seconds",
        ),
        ("TWOWAY_TAKEOVER_SECONDS", "soon", "TWOWAY_TAKEOVER_SECONDS is malformed"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, **{name: value})
    assert str(caught.value).startswith(says)
    assert "\n" not in str(caught.value)


def test_secret_values_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, TWOWAY_SECRET_KEY="hunter2")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, TWOWAY_SECRET_KEY="a-new-long-secret-key-1,hunter2")
    assert "hunter2" not in str(caught.value)
    assert "a-new-long" not in str(caught.value)


def test_the_secret_key_takes_several_keys_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, TWOWAY_SECRET_KEY=" new-key-0123456789abc , old-key-0123456789abc ")
    assert settings.secret_keys == ["new-key-0123456789abc", "old-key-0123456789abc"]  # type: ignore[attr-defined]
    one = _load(monkeypatch, TWOWAY_SECRET_KEY="only-key-0123456789abc")
    assert one.secret_keys == ["only-key-0123456789abc"]  # type: ignore[attr-defined]


def test_slack_requirements_name_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, SLACK_BOT_TOKEN="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        settings.require_for_slack()  # type: ignore[attr-defined]


def _twoway(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "TWOWAY_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    """`twoway run` with no .env stops at once with exit 2 and names what is missing."""
    result = _twoway("run", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_env_file_value_exits_2(tmp_path: Path) -> None:
    """A bad value in `.env` (not only the process environment) gets the same clear line."""
    (tmp_path / ".env").write_text("TWOWAY_POLL_SECONDS=soon\n")
    result = _twoway("db", "upgrade", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "twoway: TWOWAY_POLL_SECONDS is malformed: expected a whole number of seconds from 10 to 86400, got 'soon'"
    )


def test_a_page_id_in_superscript_digits_exits_2_before_any_poll(tmp_path: Path) -> None:
    """`FACEBOOK_PAGE_ID=²` is refused at start, not found to be "unidentifiable" at the first poll."""
    (tmp_path / ".env").write_text(
        "FACEBOOK_PAGE_ID=²\nFACEBOOK_PAGE_TOKEN=EAAB-page-token-123\n", encoding="utf-8"
    )
    result = _twoway("poll", "--once", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("twoway: FACEBOOK_PAGE_ID is malformed")
    assert len(result.stderr.strip().splitlines()) == 1


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [
        line for line in result.stderr.splitlines() if not line[:4].isdigit()
    ]  # log lines start with a date
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_asking_for_the_revision_of_a_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    mistyped = tmp_path / "twowya.db"
    line = _one_line(_twoway("db", "current", env={"DATABASE_URL": f"sqlite:///{mistyped}"}, cwd=tmp_path))
    assert f"there is no database at {mistyped}" in line
    assert not mistyped.exists()
    made = _twoway("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{mistyped}"}, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    asked = _twoway("db", "current", env={"DATABASE_URL": f"sqlite:///{mistyped}"}, cwd=tmp_path)
    assert asked.returncode == 0
    assert "database at revision" in asked.stdout


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://agency:hunter2pw@db.internal/twoway", "only sqlite and postgresql"),
        ("postgresql+psycopg2://agency:hunter2pw@db.internal/twoway", "driver is not installed"),
        ("postgresql+psycopg://agency:hunter2pw@db.internal:notaport/twoway", "DATABASE_URL is malformed"),
        # An "@" in a password not written %40: SQLAlchemy cuts it at the first "@".
        ("mysql://agency:hun@ter2pw@db.internal/twoway", "only sqlite and postgresql"),
    ],
)
def test_a_database_url_error_never_shows_the_password(tmp_path: Path, url: str, says: str) -> None:
    line = _one_line(_twoway("db", "current", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert says in line
    assert "ter2pw" not in line
    assert "agency:***@" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://agency:hun@ter2pw@127.0.0.1:1/twoway",  # the driver prints "ter2pw@127..." as the host
        "postgresql+psycopg://agency@127.0.0.1:1/twoway?password=hunter2pw",
    ],
)
def test_a_password_the_driver_quotes_is_hidden_in_the_error_line(tmp_path: Path, url: str) -> None:
    line = _one_line(_twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL: cannot use the database")
    assert "ter2pw" not in line


def test_a_short_part_of_a_password_after_an_unescaped_at_is_hidden_too(tmp_path: Path) -> None:
    """The driver quotes "qz7@127.0.0.1" as the host: "qz7" is the end of the password."""
    url = "postgresql+psycopg://agency:hunter@qz7@127.0.0.1:1/twoway"
    line = _one_line(_twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL: cannot use the database")
    assert "qz7" not in line
    assert "hunter" not in line
    assert hide_password(url) == "postgresql+psycopg://agency:***@127.0.0.1:1/twoway"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(tmp_path: Path, url: str) -> None:
    """It would vanish when TwoWay stops, with every mention and reply of the public record."""
    line = _one_line(_twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL is malformed")
    assert "in-memory SQLite" in line


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:twoway.db?uri=true&mode=memory",
        "sqlite:///file:twoway.db?uri=true&vfs=memdb",
        "sqlite:///file:?uri=true",  # SQLite's temporary database, deleted on close
    ],
)
def test_an_in_memory_sqlite_database_in_uri_form_is_refused(tmp_path: Path, url: str) -> None:
    line = _one_line(_twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL is malformed")
    assert "in-memory SQLite" in line


def test_a_sqlite_uri_naming_another_host_is_refused_in_one_line(tmp_path: Path) -> None:
    """Its file cannot be told, so `twoway run` could not hold it as the only copy: refused."""
    url = "sqlite:///file://fileserver/share/twoway.db?uri=true"
    line = _one_line(_twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL is malformed")
    assert "names the host 'fileserver': name a local file" in line


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_as_hosts_set_it_is_used_with_psycopg(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """Heroku-style hosts set postgres://: accepted, and the setting is the URL the engine and the
    scheduler lock use (the rest of the URL as written)."""
    given = f"{scheme}://agency:hun%40ter2pw@db.internal:5432/twoway?sslmode=require"
    settings = _load(monkeypatch, DATABASE_URL=given)
    url = "postgresql+psycopg://agency:hun%40ter2pw@db.internal:5432/twoway?sslmode=require"
    assert settings.database_url == url  # type: ignore[attr-defined]
    engine = make_engine(settings.database_url)  # type: ignore[attr-defined]
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.password == "hun@ter2pw"
    engine.dispose()
    lock = scheduler_lock(settings)  # type: ignore[arg-type]
    assert isinstance(lock, AdvisoryLock)  # not SQLite's SoleCopy
    lock.release()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_twoway_db_upgrade_takes_a_postgres_url(tmp_path: Path) -> None:
    with scratch_schema(os.environ["TEST_DATABASE_URL"], "twoway_scheme") as scratch:
        url = "postgres://" + scratch.partition("://")[2]
        result = _twoway("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        engine = make_engine(scratch)
        try:
            with engine.connect() as connection:
                tables = connection.execute(
                    text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
                    )
                )
                assert tables.scalar_one() > 5
        finally:
            engine.dispose()


def test_a_database_migrated_by_a_newer_release_is_one_line(tmp_path: Path) -> None:
    """After rolling back a release: say what happened, no traceback, and change nothing."""
    db = tmp_path / "x.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert _twoway("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    for command in (("db", "upgrade"), ("train",)):
        line = _one_line(_twoway(*command, env=env, cwd=tmp_path))
        assert line.startswith("twoway: DATABASE_URL: cannot use the database")
        assert "revision 0099, which this release does not know" in line
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]


@pytest.mark.parametrize("command", [("db", "upgrade"), ("poll", "--once"), ("train",)])
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:////nonexistent-folder/twoway.db", "unable to open database file"),
        ("postgresql+psycopg://agency:hunter2pw@127.0.0.1:1/twoway", "Connection refused"),
    ],
)
def test_a_database_that_cannot_be_reached_is_one_line_naming_database_url(
    tmp_path: Path, command: tuple[str, ...], url: str, says: str
) -> None:
    line = _one_line(_twoway(*command, env={"DATABASE_URL": url}, cwd=tmp_path))
    assert line.startswith("twoway: DATABASE_URL: cannot use the database")
    assert says in line
    assert "hunter2pw" not in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"TWOWAY_POLL_SECONDS 60\n", ".env, line 1: not NAME=VALUE"),
        (b'LOG_LEVEL=INFO\nTWOWAY_CHANNEL="C0123\n', ".env, line 2: not NAME=VALUE"),
        (b"TWOWAY_CHANNEL=caf\xe9\n", ".env is not UTF-8 text"),
        (b"# Slack\n\nSLACK_BOT_TOKEN\n", ".env, line 3: not NAME=VALUE (SLACK_BOT_TOKEN has no =)"),
        (b"LOG_LEVEL=INFO\n  PORT  \n", ".env, line 2: not NAME=VALUE (PORT has no =)"),
        (b"export PORT\n", ".env, line 1: not NAME=VALUE (PORT has no =)"),
    ],
)
def test_an_env_file_that_cannot_be_read_stops_with_one_line(
    tmp_path: Path, content: bytes, says: str
) -> None:
    (tmp_path / ".env").write_bytes(content)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert says in _one_line(_twoway("db", "current", env={"DATABASE_URL": db}, cwd=tmp_path))


def test_a_secret_pasted_on_a_line_of_its_own_in_env_file_is_never_printed(tmp_path: Path) -> None:
    """The usual paste mistake: the value went onto the next line, away from its NAME=."""
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=s\n8f3kQz_supersecret_value\n"
    )
    db = f"sqlite:///{tmp_path / 'x.db'}"
    line = _one_line(_twoway("db", "current", env={"DATABASE_URL": db}, cwd=tmp_path))
    assert ".env, line 3: not NAME=VALUE" in line
    assert "supersecret" not in line
    assert "8f3kQz" not in line


def test_comments_blank_lines_export_and_empty_values_are_fine_in_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# TwoWay\n\n   \nexport TWOWAY_POLL_SECONDS=60\nLOG_LEVEL=\n")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = _twoway("db", "upgrade", env={"DATABASE_URL": db}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_values_of_only_spaces_count_as_unset(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "   ",
    }
    assert "SLACK_SIGNING_SECRET is not set" in _one_line(_twoway("run", env=env, cwd=tmp_path))


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"X_API_KEY": "k", "X_API_SECRET": "s"}, "X_ACCESS_TOKEN is not set"),
        ({"X_BEARER_TOKEN": "b", "X_ACCESS_TOKEN_SECRET": "t"}, "X_API_KEY is not set"),
        ({"FACEBOOK_PAGE_TOKEN": "EAAB-page-token"}, "FACEBOOK_PAGE_ID is not set"),
        ({"INSTAGRAM_ACCOUNT_ID": "17841400000"}, "FACEBOOK_PAGE_ID is not set"),
        (
            {"FACEBOOK_APP_SECRET": "app-secret-0123"},
            "FACEBOOK_VERIFY_TOKEN is not set: the Facebook webhook takes all of FACEBOOK_APP_SECRET",
        ),
    ],
)
def test_half_a_platform_set_up_is_named_not_ignored(
    tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **given}
    line = _one_line(_twoway("poll", "--once", env=env, cwd=tmp_path))
    assert missing in line
    assert "EAAB-page-token" not in line


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        env = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "signing-secret-123",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "TWOWAY_SCHEDULER": "false",
            "PORT": str(busy.getsockname()[1]),
        }
        result = _twoway("run", env=env, cwd=tmp_path)
        assert "is already in use" in _one_line(result)
        # Refused before doing anything: no database created, nothing logged.
        assert result.stderr.count("\n") == 1, result.stderr
        assert not (tmp_path / "x.db").exists()


def test_classify_without_text_is_a_usage_error(tmp_path: Path) -> None:
    assert "give the text of a post" in _one_line(_twoway("classify", "  ", env={}, cwd=tmp_path))


def test_classify_text_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    latin1 = os.fsdecode(b"caf\xe9 thank you officers")  # as Python hands it over from argv
    assert "the text is not UTF-8" in _one_line(_twoway("classify", latin1, env={}, cwd=tmp_path))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bogus",), "twoway: error: argument COMMAND: invalid choice: 'bogus'"),
        (("poll",), "twoway: error: poll needs --once"),
        (("db",), "twoway: error: db needs an action"),
        (("export", "--since", "2026-01-01"), "twoway: error: the following arguments are required: --until"),
        (
            ("export", "--since", "2026-01-01", "--until", "2026-02-01", "--format", "xml"),
            "twoway: error: argument --format: invalid choice: 'xml'",
        ),
        ((), "twoway: error: a command is needed: one of run, poll, db, eval, classify, train, export"),
    ],
)
def test_an_argument_error_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    """README: exit 2 means bad configuration or arguments, with one line saying which."""
    result = _twoway(*args, env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(says)
    assert line.endswith(" --help")


def test_the_help_names_every_platform() -> None:
    from bot.app.cli import build_parser
    from connectors import registry

    described = " ".join(build_parser().format_help().split())
    assert "on X, Facebook, Instagram, Threads and Bluesky from Slack" in described
    assert all(spec.title in described for spec in registry.PLATFORMS.values())


@pytest.mark.parametrize("args", [("--help",), ("export", "--help"), ("poll", "--help")])
def test_help_is_still_the_full_help_with_exit_0(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _twoway(*args, env={}, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: twoway")
    assert "options:" in result.stdout
