"""What every long-lived command does first: settings, logging, schema, bootstrap data."""

from __future__ import annotations

import logging

from bot.core.config import Settings, load_settings, url_secrets
from bot.core.context import Context, build_context
from bot.core.logs import setup_logging
from storage import migrate, staff

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
    """Load settings, set up logging, migrate the database and bootstrap admins."""
    settings = settings or load_settings()
    setup_logging(settings.log_level, secrets_of(settings))
    ctx = build_context(settings)
    migrate.upgrade(ctx.engine)
    if settings.twoway_admins:
        with ctx.transaction() as session:
            staff.bootstrap_admins(session, settings.twoway_admins, ctx.clock.now())
    return ctx
