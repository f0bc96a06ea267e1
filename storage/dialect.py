"""The INSERT of the database in use, for ON CONFLICT: SQLite and PostgreSQL spell it alike, but
SQLAlchemy offers it only through each dialect's own `insert`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(session: Session, table: Any) -> Any:
    """`postgresql.insert(table)` or `sqlite.insert(table)`, whichever `session` is bound to."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
