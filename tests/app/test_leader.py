"""One scheduler among copies: the PostgreSQL lock and its hand-over, and SQLite's one copy per file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot.app.leader import AdvisoryLock, Leader, claim_database
from bot.app.wiring import COMMANDS
from bot.core.context import Context
from bot.core.errors import UserError
from bot.slack.commands import run_command
from storage import staff
from storage.db import make_engine, sqlite_file
from storage.models import Role
from tests.conftest import BACKENDS, make_settings


class StubScheduler:
    """Stands in for APScheduler: the test only needs to see it started and stopped."""

    def __init__(self) -> None:
        self.stopped = False

    def shutdown(self, wait: bool = True) -> None:
        self.stopped = True


def _leader(ctx: Context, db_url: str, started: list[StubScheduler]) -> Leader:
    def start(_ctx: Context) -> StubScheduler:
        started.append(StubScheduler())
        return started[-1]

    return Leader(ctx, AdvisoryLock(db_url, 1), start, seconds=3600)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_one_copy_holds_the_scheduler_and_another_takes_over_when_it_loses_it(
    ctx: Context, db_url: str, engine: Engine
) -> None:
    first_runs: list[StubScheduler] = []
    second_runs: list[StubScheduler] = []
    first, second = _leader(ctx, db_url, first_runs), _leader(ctx, db_url, second_runs)
    try:
        first.start()
        second.start()
        assert (first.leading, second.leading) == (True, False)
        second.check()
        assert second_runs == []
        assert f":{os.getpid()}" in _status(ctx)  # /twoway status says which copy runs it

        # The database ends the holder's session (a restart, a network cut): the holder notices
        # at its next check and stops its scheduler; the standby takes over at its own.
        lock = first.lock
        assert isinstance(lock, AdvisoryLock)
        assert lock.connection is not None
        pid = lock.connection.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
        first.check()
        assert first_runs[0].stopped
        assert not first.leading
        second.check()
        assert second.leading
        first.check()
        assert not first.leading, "two schedulers at once"
        assert len(first_runs) == 1

        second.stop()  # an orderly stop lets the other copy in at once
        assert second_runs[0].stopped
        first.check()
        assert first.leading
        assert len(first_runs) == 2
    finally:
        first.stop()
        second.stop()
    assert "no copy of TwoWay runs it right now" in _status(ctx)


def _status(ctx: Context) -> str:
    with ctx.transaction() as session:
        staff.set_role(session, "U0OFFICER", Role.OFFICER, by="test", now=ctx.clock.now())
    reply = run_command(
        ctx, COMMANDS, {"text": "status", "user_id": "U0OFFICER", "channel_id": "C1", "response_url": ""}
    )
    [line] = [line for line in reply.text.splitlines() if line.startswith("Scheduler:")]
    return line


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_copies_of_other_installations_on_the_same_server_do_not_block_each_other(
    ctx: Context, db_url: str, engine: Engine
) -> None:
    ours: list[StubScheduler] = []
    theirs: list[StubScheduler] = []
    # Another schema on the same server stands for another installation.
    schema = f"twoway_other_{uuid.uuid4().hex[:8]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.commit()
    elsewhere = (
        make_url(db_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    mine, other = _leader(ctx, db_url, ours), _leader(ctx, elsewhere, theirs)
    try:
        mine.start()
        other.start()
        assert (mine.leading, other.leading) == (True, True)
    finally:
        mine.stop()
        other.stop()
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}"'))
            connection.commit()


def test_sqlite_takes_one_copy_per_database_file(tmp_path: Path) -> None:
    settings = make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'twoway.db'}")
    held = claim_database(settings)
    try:
        with pytest.raises(UserError, match=r"another copy of TwoWay is already running .* \(pid \d+\)"):
            claim_database(settings)
        other = claim_database(make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}"))
        other.release()  # another file is another installation
    finally:
        held.release()
    claim_database(settings).release()  # free again once the first copy has gone


def test_only_a_sqlite_file_is_claimed() -> None:
    """Configuration refuses in-memory SQLite; the claim still never locks a path for one."""
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None
    assert sqlite_file("sqlite:///twoway.db") == Path("twoway.db").resolve()


def test_sqlite_takes_one_copy_per_file_named_in_uri_form_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sqlite:///file:twoway.db?uri=true` opens twoway.db (relative to the working directory):
    a second copy on it, in either form, is refused like one on the plain form."""
    monkeypatch.chdir(tmp_path)
    uri = make_settings(DATABASE_URL="sqlite:///file:twoway.db?uri=true&cache=private")
    held = claim_database(uri)
    try:
        for form in (
            "sqlite:///file:twoway.db?uri=true",
            f"sqlite:///file://{tmp_path / 'twoway.db'}?uri=true",
            f"sqlite:///file://localhost{tmp_path / 'twoway.db'}?uri=true&mode=rwc",
            "sqlite:///twoway.db",
        ):
            with pytest.raises(UserError, match=r"another copy of TwoWay is already running"):
                claim_database(make_settings(DATABASE_URL=form))
    finally:
        held.release()
    plain = claim_database(make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'twoway.db'}"))
    try:
        with pytest.raises(UserError, match=r"another copy of TwoWay is already running"):
            claim_database(uri)
    finally:
        plain.release()


def test_the_claimed_file_is_the_file_sqlite_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url, name in (
        ("sqlite:///file:uri.db?uri=true", "uri.db"),
        ("sqlite:///file:sp%2520ace.db?uri=true", "sp ace.db"),  # percent-decoded by SQLite too
        ("sqlite:///file:named.db", "file:named.db"),  # without uri=true, a file so named
        ("sqlite:///plain.db?uri=true", "plain.db"),  # a URI filename needs "file:"
    ):
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
        finally:
            engine.dispose()
        assert (tmp_path / name).is_file(), url
        assert sqlite_file(url) == (tmp_path / name).resolve(), url


def test_a_sqlite_uri_whose_file_cannot_be_told_is_refused_not_run_unguarded() -> None:
    assert sqlite_file("sqlite:///file::memory:?uri=true") is None
    assert sqlite_file("sqlite:///file:x.db?uri=true&mode=memory") is None
    with pytest.raises(ValueError, match="names the host 'fileserver'"):
        sqlite_file("sqlite:///file://fileserver/x.db?uri=true")
    settings = make_settings(DATABASE_URL="sqlite:///x.db").model_copy(
        update={"database_url": "sqlite:///file://fileserver/x.db?uri=true"}  # past the validator
    )
    with pytest.raises(UserError, match=r"^DATABASE_URL: its SQLite URI names the host 'fileserver'"):
        claim_database(settings)
