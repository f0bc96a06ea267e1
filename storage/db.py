"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

The caller owns every transaction: storage functions take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import asbool


class UnknownRevision(Exception):
    """The database was migrated by a release this one does not know (a newer one, rolled back):
    alembic would stop with a traceback; `storage.migrate.upgrade` says what to do instead."""


def normalise_url(url: str) -> str:
    """Let `postgresql://` and `postgres://` URLs (what Heroku-style hosts set) use psycopg 3,
    the driver TwoWay ships. Only the scheme changes: the rest of the URL is kept as written."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.strip().lower() in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + rest
    return url


# What pysqlite takes from a URL's query for itself; the rest goes to a SQLite URI filename.
_PYSQLITE_ARGS = frozenset(
    {"uri", "timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements"}
)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL opens, resolved as pysqlite and SQLite resolve it (relative to the
    working directory); None for another database, or for an in-memory or temporary one.

    `sqlite:///file:twoway.db?uri=true` (a URI filename) is the file `twoway.db`; without
    `uri=true` a name starting `file:` is a file so named. Raises ValueError, worded for the
    DATABASE_URL error line, for a URI that names no local file (another host).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if asbool(parsed.query.get("uri", False)):
        rest = {key: value for key, value in parsed.query.items() if key not in _PYSQLITE_ARGS}
        if rest:  # as pysqlite passes them on to SQLite
            name += "?" + "&".join(f"{key}={rest[key]}" for key in sorted(rest))
        if name.startswith("file:"):
            return _uri_file(name.removeprefix("file:"))
    return None if name in ("", ":memory:") else Path(name).resolve()


def _uri_file(uri: str) -> Path | None:
    """The file of a SQLite URI filename after its `file:` (https://sqlite.org/uri.html)."""
    path, _, query = uri.partition("#")[0].partition("?")
    if path.startswith("//"):
        authority, slash, tail = path[2:].partition("/")
        if authority.lower() not in ("", "localhost"):
            raise ValueError(f"its SQLite URI names the host {authority!r}: name a local file")
        path = slash + tail
    path = unquote(path)
    options: dict[str, str] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        options[unquote(key)] = unquote(value)
    if path in ("", ":memory:") or options.get("mode") == "memory" or options.get("vfs") == "memdb":
        return None
    return Path(path).resolve()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for several threads writing at once (scheduler, Slack listeners)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Taking the write lock at BEGIN makes concurrent read-then-write transactions wait for
    # each other instead of failing with "database is locked" when they upgrade their lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def reachable(engine: Engine) -> bool:
    """The database answers a trivial query (the health check)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


# PostgreSQL's "read-only transaction" (default_transaction_read_only, a standby) and "permission
# denied" (a user granted SELECT only); SQLite's SQLITE_READONLY, whose extended codes share its low byte.
_READ_ONLY_STATES = frozenset({"25006", "42501"})
_SQLITE_READONLY = 8


def check_writable(engine: Engine) -> None:
    """Raise the driver's error when the database refuses writes (a read-only file, user or
    server): reads, the health check's included, would still work and every write fail.

    The probe rewrites alembic_version's row in a transaction it rolls back. A database not yet
    migrated has no such table: its migration is the first write, and fails the same way.
    """
    with engine.connect() as connection, connection.begin() as probe:
        if inspect(connection).has_table("alembic_version"):
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        probe.rollback()


def refuses_writes(exc: DBAPIError) -> bool:
    """Whether `exc` says the database takes no writes from this connection."""
    original = exc.orig
    if getattr(original, "sqlstate", None) in _READ_ONLY_STATES:
        return True
    code = getattr(original, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == _SQLITE_READONLY
