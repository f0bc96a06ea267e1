"""Shared fixtures: a settable clock, and a migrated database on SQLite and PostgreSQL.

Every test that takes `db_url`, `engine` or `ctx` runs once per backend: SQLite always, and
PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). Each test run gets its own
PostgreSQL schema, so concurrent runs on one server never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.core.config import Settings
from bot.core.context import Context
from bot.slack.pace import Pacer
from storage import migrate
from storage.db import make_engine, make_sessionmaker
from storage.models import Base

REPO = Path(__file__).resolve().parent.parent
DEV_CSV = REPO.parent / "shared" / "data" / "mentions-dev.csv"
# Fitting the base recipe on every example takes a minute or two on a loaded machine (a test
# that does so may take longer than the default 120 s).
FIT_TIMEOUT = 600
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
ENV_PREFIXES = ("SLACK_", "X_", "FACEBOOK_", "INSTAGRAM_", "THREADS_", "BLUESKY_", "TWOWAY_")
ENV_NAMES = {"DATABASE_URL", "PORT", "LOG_LEVEL"}


@pytest.fixture(autouse=True, scope="session")
def _clean_environment() -> Iterator[None]:
    """Keep the developer's own TwoWay variables out of the tests."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES) or k in ENV_NAMES}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def dev_csv() -> Path:
    """The labelled dev file, kept beside the repository (never inside it); CI has it.

    A clone without it (anyone outside the team) skips the tests that read it, saying why.
    """
    if not DEV_CSV.is_file():
        pytest.skip(
            f"{DEV_CSV} is absent: the labelled dev file lives outside the repository (evaluation only)"
        )
    return DEV_CSV


@dataclass
class FakeClock:
    """A clock that moves only when the test says so."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 15, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class _Databases:
    """One migrated database per backend for the whole run, emptied before each test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.urls: dict[str, str] = {}
        self.engines: dict[str, Engine] = {}
        self.schema = f"twoway_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / 'twoway-test.db'}"
            else:
                base = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
                admin = create_engine(base, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
                admin.dispose()
                url = base.update_query_dict({"options": f"-csearch_path={self.schema}"}).render_as_string(
                    hide_password=False
                )
            engine = make_engine(url)
            migrate.upgrade(engine)
            self.urls[backend], self.engines[backend] = url, engine
        return self.urls[backend]

    def empty(self, backend: str) -> None:
        engine = self.engines[backend]
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with engine.begin() as connection:
            if backend == "postgresql":
                joined = ", ".join(f'"{name}"' for name in tables)
                connection.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    connection.execute(text(f'DELETE FROM "{name}"'))

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        if "postgresql" in self.urls:
            base = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    databases = _Databases(tmp_path_factory.mktemp("db"))
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(_databases: _Databases, backend: str) -> str:
    """The URL of a migrated, empty database (SQLite, and PostgreSQL when configured)."""
    url = _databases.url(backend)
    _databases.empty(backend)
    return url


@pytest.fixture
def engine(_databases: _Databases, db_url: str, backend: str) -> Engine:
    return _databases.engines[backend]


def make_settings(**values: Any) -> Settings:
    """Settings for a test: only what the test gives, never the developer's `.env`."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(DATABASE_URL=db_url, TWOWAY_SECRET_KEY="test-secret-key-0123456789")


@pytest.fixture
def ctx(settings: Settings, engine: Engine, clock: FakeClock) -> Context:
    context = Context(settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock)
    # Slack's pace (a message a second per channel) is real time. Tests about something else post
    # unpaced (429s are still obeyed); tests about pacing attach a real `Pacer` (`paced(ctx)`).
    context.attach(Pacer(interval=0))
    return context


def paced(ctx: Context, **options: Any) -> Pacer:
    """Post at Slack's real pace in this test (or at the pace `options` give)."""
    pacer = Pacer(**options)
    ctx.attach(pacer)
    return pacer
