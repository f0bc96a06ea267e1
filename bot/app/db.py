"""`twoway db upgrade` and `twoway db current`."""

from __future__ import annotations

import argparse

from bot.app.startup import secrets_of
from bot.core.config import load_settings
from bot.core.logs import setup_logging
from storage import migrate
from storage.db import make_engine


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    setup_logging(settings.log_level, secrets_of(settings))
    engine = make_engine(settings.database_url)
    try:
        if args.db_command == "upgrade":
            migrate.upgrade(engine)
        print(
            f"database at revision {migrate.current_revision(engine)} (head {migrate.head_revision(engine)})"
        )
    finally:
        engine.dispose()
    return 0
