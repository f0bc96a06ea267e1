"""Throwaway PostgreSQL schemas for tests and benchmarks.

They share one server (CI's, or a staging one) with each other and with whatever else lives on it,
so each run works in a schema of its own and drops it afterwards, whatever happens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import normalise_url


def on_schema(url: str, schema: str) -> str:
    """`url` with every connection's search path set to `schema` (password kept: it is used, not shown)."""
    parsed = make_url(normalise_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """A URL on a new, empty schema named `prefix` plus a random part, never migrated here;
    the schema is dropped on the way out."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(normalise_url(url)), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield on_schema(url, schema)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
