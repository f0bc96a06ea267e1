"""Alembic migrations, shipped inside the package and run without an ini file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage import locks
from storage.db import UnknownRevision

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to run at every start-up."""
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Copies started together would all create alembic_version; one migrates at a time.
            locks.lock_transaction(connection, locks.MIGRATIONS)
        config.attributes["connection"] = connection
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise UnknownRevision(
                f"its schema is at revision {current}, which this release does not know (its newest is "
                f"{script.get_current_head()}): run the release that migrated it, or restore a backup"
            )
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
