"""What every long-lived command does first: settings, logging, schema, bootstrap data."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from bot.core.config import Settings, hide_password, load_settings, url_secrets
from bot.core.context import Context, build_context
from bot.core.errors import UserError
from bot.core.logs import setup_logging
from storage import migrate, staff
from storage.db import check_writable, refuses_writes

log = logging.getLogger(__name__)


def secrets_of(settings: Settings) -> list[str]:
    """Every configured secret, so the log filter can scrub it wherever it appears."""
    values = []
    for name, value in settings:
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
        elif name == "database_url":
            values += url_secrets(str(value))
    return values + settings.secret_keys  # each key of a list, not only the whole list


def prepare(settings: Settings | None = None) -> Context:
    """Load settings, set up logging, check the database takes writes, migrate it and
    bootstrap admins."""
    settings = settings or load_settings()
    setup_logging(settings.log_level, secrets_of(settings))
    ctx = build_context(settings)
    try:
        # Before migrating, so that a read-only database is the one line below, not alembic's
        # lines first; after start-up it would be a traceback at every write.
        check_writable(ctx.engine)
        migrate.upgrade(ctx.engine)
    except DBAPIError as exc:
        if not refuses_writes(exc):
            raise
        ctx.engine.dispose()
        raise UserError(
            f"DATABASE_URL: cannot use the database ({_reason(exc, settings.database_url)})"
        ) from None
    if settings.twoway_admins:
        with ctx.transaction() as session:
            staff.bootstrap_admins(session, settings.twoway_admins, ctx.clock.now())
    return ctx


def _reason(exc: DBAPIError, url: str) -> str:
    """The driver's first line, as `twoway` words its other database errors (password hidden)."""
    first = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    return hide_password(first, url)[:300]
