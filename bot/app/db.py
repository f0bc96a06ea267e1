"""`twoway db upgrade` and `twoway db current`."""

from __future__ import annotations

import argparse
import sys

from bot.app.startup import secrets_of
from bot.core.config import load_settings
from bot.core.logs import setup_logging
from storage import migrate
from storage.db import make_engine, sqlite_file


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    setup_logging(settings.log_level, secrets_of(settings))
    path = sqlite_file(settings.database_url)
    if args.db_command == "current" and path is not None and not path.exists():
        # Asking must not create it: a mistyped path would otherwise leave an empty database.
        print(
            f"twoway: there is no database at {path} (DATABASE_URL); `twoway db upgrade` creates it",
            file=sys.stderr,
        )
        return 2
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
