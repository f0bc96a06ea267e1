"""A PostgreSQL advisory lock that lives exactly as long as one database connection.

PostgreSQL releases a session-level advisory lock the moment the session ends, however it ends:
a clean stop, a crash or `kill -9` of the holder closes its socket and the server lets go at
once. Keepalives on both ends bound the case where the holder's machine vanishes without a word.
The lock is named per schema, so two installations sharing one database never block each other.
It needs a real session: behind a pooler in transaction mode (PgBouncer's default) it cannot work.
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from storage.db import normalise_url

NAMESPACE = 0x54570001  # "TW" and 1: the first half of every TwoWay advisory lock key
SCHEDULER = "scheduler"  # held by the one copy that runs the scheduler
MIGRATIONS = "migrations"  # held while one copy migrates; the others wait, then find nothing to do


def lock_engine(url: str, keepalive_seconds: int) -> Engine:
    """An engine with no pool for the one long-lived connection that holds the lock."""
    idle = max(1, keepalive_seconds)
    connect_args: dict[str, Any] = {
        "application_name": f"twoway scheduler {socket.gethostname()}:{os.getpid()}"[:63],
        "connect_timeout": max(2, idle),
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": max(1, idle // 3),
        "keepalives_count": 3,
        "tcp_user_timeout": idle * 3000,  # ms: unanswered writes give up instead of hanging
    }
    return create_engine(normalise_url(url), poolclass=NullPool, connect_args=connect_args)


def _key(connection: Connection, name: str) -> int:
    schema = connection.scalar(text("SELECT current_schema()")) or ""
    digest = hashlib.blake2b(f"{schema}\x00{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def open_session(engine: Engine, keepalive_seconds: int) -> Connection:
    """A connection in autocommit (never idle in a transaction) that the server also keeps alive."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    idle = max(1, keepalive_seconds)
    connection.execute(text(f"SET tcp_keepalives_idle = {idle}"))
    connection.execute(text(f"SET tcp_keepalives_interval = {max(1, idle // 3)}"))
    connection.execute(text("SET tcp_keepalives_count = 3"))
    return connection


def lock_transaction(connection: Connection, name: str) -> None:
    """Wait for the lock `name` and hold it until this connection's transaction ends."""
    connection.execute(
        text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
        {"space": NAMESPACE, "key": _key(connection, name)},
    )


def try_lock(connection: Connection, name: str) -> bool:
    """Take the lock `name` for this session if nobody holds it; never waits."""
    held = connection.scalar(
        text("SELECT pg_try_advisory_lock(CAST(:space AS integer), CAST(:key AS integer))"),
        {"space": NAMESPACE, "key": _key(connection, name)},
    )
    return bool(held)


def holds(connection: Connection, name: str) -> bool:
    """This session still holds `name` (false, or an error, once the connection is gone)."""
    found = connection.scalar(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND granted AND classid = CAST(CAST(:space AS bigint) AS oid)"
            " AND objid = CAST(CAST(:key AS bigint) AS oid) AND objsubid = 2"
        ),
        {"space": NAMESPACE, "key": _key(connection, name) & 0xFFFFFFFF},
    )
    return bool(found)


def unlock(connection: Connection, name: str) -> None:
    connection.execute(
        text("SELECT pg_advisory_unlock(CAST(:space AS integer), CAST(:key AS integer))"),
        {"space": NAMESPACE, "key": _key(connection, name)},
    )


def holder(engine: Engine, name: str) -> str | None:
    """Who holds `name`: its session's application name ("" if hidden from us), or None if nobody."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT coalesce(a.application_name, '') FROM pg_locks l"
                " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = CAST(CAST(:space AS bigint) AS oid)"
                " AND l.objid = CAST(CAST(:key AS bigint) AS oid) AND l.objsubid = 2"
            ),
            {"space": NAMESPACE, "key": _key(connection, name) & 0xFFFFFFFF},
        ).first()
    return None if row is None else str(row[0])
