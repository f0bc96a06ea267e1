"""`twoway keys rotate` and `twoway keys check`: moving stored credentials to a new secret key.

Rotation: set TWOWAY_SECRET_KEY to `NEW,OLD` on every copy, run `twoway keys rotate`, then drop
OLD. Counts go to standard output; accounts no key opens are named in one line on stderr, exit 2,
and nothing of theirs is changed.
"""

from __future__ import annotations

import argparse
import sys

from bot.app.startup import prepare
from bot.core.config import EXPECTED, ConfigError, load_settings
from bot.intake.credentials import rotate, unreadable_accounts, unreadable_line


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def main(args: argparse.Namespace) -> int:
    ctx = prepare(load_settings())
    try:
        if args.keys_command == "check":
            return _check(ctx.settings.secret_keys != [], unreadable_accounts(ctx))
        result = rotate(ctx)
        if result.resealed or result.current or not result.unreadable:
            # When no key opened anything, "re-encrypted 0 …; 0 already used it" only adds noise
            # to the one line naming the accounts.
            print(
                f"twoway: re-encrypted {_plural(len(result.resealed), 'stored credential')} with the first key "
                f"of TWOWAY_SECRET_KEY; {len(result.current)} already used it"
            )
        if result.unreadable:
            raise ConfigError(unreadable_line(result.unreadable, True))
        return 0
    finally:
        ctx.engine.dispose()


def _check(keys_set: bool, names: list[str]) -> int:
    if names:
        raise ConfigError(unreadable_line(names, keys_set))
    if not keys_set:  # nothing stored to open, but `/twoway connect` would be refused
        raise ConfigError(f"TWOWAY_SECRET_KEY is not set: expected {EXPECTED['TWOWAY_SECRET_KEY']}")
    print("twoway: TWOWAY_SECRET_KEY opens every stored credential", file=sys.stdout)
    return 0
