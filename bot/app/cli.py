"""The `twoway` command. Each subcommand lives in its own module, imported only when used.

Exit status: 0 success, 1 the work failed, 2 bad configuration or bad arguments (one clear line
on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from sqlalchemy.exc import DBAPIError, OperationalError

from bot import __version__
from bot.core.config import hide_password, load_settings
from bot.core.errors import UserError
from bot.core.logs import quiet_migrations
from connectors import registry
from storage.db import UnknownRevision

# Each command imports its module only when it runs: `twoway run` loads Slack, the scheduler,
# the model and the chart library (about 2.5 s and 140 MB), which `twoway classify` and `eval`
# must not pay for. These are the only function-level imports of project modules in `bot/`.


def _run(args: argparse.Namespace) -> int:
    from bot.app import run

    return run.main(args)


def _sandbox(args: argparse.Namespace) -> int:
    from bot.app import sandbox

    return sandbox.main(args)


def _start(args: argparse.Namespace) -> int:
    from bot.app import start

    return start.main(args)


def _poll(args: argparse.Namespace) -> int:
    from bot.app import poll

    return poll.main(args)


def _db(args: argparse.Namespace) -> int:
    from bot.app import db

    return db.main(args)


def _eval(args: argparse.Namespace) -> int:
    from bot.app import evaluate

    return evaluate.main(args)


def _classify(args: argparse.Namespace) -> int:
    from bot.app import evaluate

    return evaluate.classify_main(args)


def _train(args: argparse.Namespace) -> int:
    from bot.app import train

    return train.main(args)


def _export(args: argparse.Namespace) -> int:
    from bot.app import export

    return export.main(args)


def _keys(args: argparse.Namespace) -> int:
    from bot.app import keys

    return keys.main(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "poll": _poll,
    "db": _db,
    "eval": _eval,
    "classify": _classify,
    "train": _train,
    "export": _export,
    "keys": _keys,
    "sandbox": _sandbox,
    "start": _start,
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("give 0 to 3600 seconds")
    return value


class Parser(argparse.ArgumentParser):
    """Argument errors in one line on stderr, exit 2, as for bad configuration (not usage + error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"twoway: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    titles = [spec.title for spec in registry.PLATFORMS.values()]  # every platform, as the README says
    platforms = ", ".join(titles[:-1]) + " and " + titles[-1]
    parser = Parser(prog="twoway", description=f"Answer your community on {platforms} from Slack.")
    parser.add_argument("--version", action="version", version=f"twoway {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="start the Slack app and the poller in one process")

    for name, text in (
        ("sandbox", "try TwoWay in a browser with simulated X, Facebook and Slack (no accounts)"),
        ("start", "what `make run` does: `run` when a Slack token is configured, else `sandbox`"),
    ):
        mode = sub.add_parser(name, help=text)
        mode.add_argument(
            "--every",
            type=_seconds,
            default=8.0,
            metavar="SECONDS",
            help="sandbox: about how often a new simulated post arrives (0: only the first ones)",
        )

    poll = sub.add_parser("poll", help="poll the connected accounts")
    poll.add_argument("--once", action="store_true", help="poll every enabled account once, then exit")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply all migrations")
    db_sub.add_parser("current", help="print the database's migration revision")

    ev = sub.add_parser("eval", help="measure the classifier on a labelled CSV (text,label[,urgent])")
    ev.add_argument("path", help="CSV file with columns text,label and optionally urgent")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument(
        "--corrections", metavar="OTHER.csv", help="learn from these rows as staff corrections first"
    )

    cl = sub.add_parser("classify", help="classify one text and print the drafts")
    cl.add_argument("text")
    # Checked by classify itself: the registry loads every platform's client library.
    cl.add_argument("--platform", default="x", help="x, facebook, ...: the platform's reply rules")

    sub.add_parser("train", help="retrain the agency model from staff corrections")

    ex = sub.add_parser("export", help="export the record of mentions for a date range")
    ex.add_argument("--since", required=True, metavar="YYYY-MM-DD")
    ex.add_argument("--until", required=True, metavar="YYYY-MM-DD")
    ex.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    ex.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    ex.add_argument(
        "--raw",
        action="store_true",
        help="CSV cells exactly as written, formula-like text included (unsafe to open in a spreadsheet)",
    )

    keys = sub.add_parser("keys", help="the secret keys that encrypt stored credentials")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    keys_sub.add_parser("rotate", help="re-encrypt every stored credential with the first key")
    keys_sub.add_parser("check", help="check that the keys open every stored credential")
    return parser


# The options of `twoway classify`, and whether each takes a value; keep in step with build_parser.
CLASSIFY_OPTIONS = {"-h": False, "--help": False, "--platform": True}


def _classify_option(arg: str) -> str | None:
    """The classify option `arg` names (exactly, as --name=value, or as an unambiguous prefix of a
    long option, as argparse allows), or None when it is not one."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return None
    name = arg.split("=", 1)[0] if arg.startswith("--") else arg
    if name in CLASSIFY_OPTIONS:
        return name
    matches = [o for o in CLASSIFY_OPTIONS if o.startswith("--") and o.startswith(name)]
    return matches[0] if name.startswith("--") and len(matches) == 1 else None


def classify_argv(argv: Sequence[str]) -> list[str]:
    """argv with the text of `twoway classify` moved after a "--", so that a text starting with
    "-" ("-_-", "--", "-1 star") is the text and not an unknown option. Options of classify
    stay where argparse looks for them (before or after the text); `classify -- TEXT` keeps
    its meaning, and a "--" with nothing after it, and no text before it, is the text."""
    argv = list(argv)
    at = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if at is None or argv[at] != "classify":
        return argv
    rest = argv[at + 1 :]
    options: list[str] = []
    texts: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        name = _classify_option(arg)
        if arg == "--" and (i + 1 < len(rest) or texts):
            texts += rest[i + 1 :]
            break
        if name is None:
            texts.append(arg)
        else:
            options.append(arg)
            if CLASSIFY_OPTIONS[name] and "=" not in arg and i + 1 < len(rest):
                i += 1
                options.append(rest[i])
        i += 1
    return [*argv[: at + 1], *options, *(["--", *texts] if texts else [])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(classify_argv(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.error(f"a command is needed: one of {', '.join(COMMANDS)}")
    if args.command == "poll" and not args.once:
        parser.error("poll needs --once (the continuous poller runs inside `twoway run`)")
    if args.command == "db" and args.db_command is None:
        parser.error("db needs an action: upgrade or current")
    if args.command == "keys" and args.keys_command is None:
        parser.error("keys needs an action: rotate or check")
    if not _shows_migrations(args):
        quiet_migrations()
    handler = COMMANDS[args.command]
    try:
        return int(handler(args))
    except UserError as exc:  # ConfigError too
        print(f"twoway: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `twoway eval ... | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        print(f"twoway: DATABASE_URL: cannot use the database ({_database_reason(exc)})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _shows_migrations(args: argparse.Namespace) -> bool:
    """Whether alembic's INFO lines belong in this command's output: only where migrating is
    what the command is for, or the start of a long-lived process's log."""
    if args.command == "db":
        return bool(args.db_command == "upgrade")
    return args.command in ("run", "start", "sandbox")


def _is_database_error(exc: BaseException) -> bool:
    """Unreachable server, missing file or folder, not a database: a configuration problem."""

    # A DBAPIError without a statement happened while connecting, before any query ran.
    return isinstance(exc, (OperationalError, UnknownRevision)) or (
        isinstance(exc, DBAPIError) and not exc.statement
    )


def _database_reason(exc: BaseException) -> str:

    original = getattr(exc, "orig", None) or exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    url = _database_url()
    reason = hide_password(first, url)[:300]
    if _password_has_raw_at(url):
        reason += '; an "@" in the password must be written %40'
    return reason


def _password_has_raw_at(url: str) -> bool:
    """Whether the address part holds two "@": SQLAlchemy cuts the password at the first one,
    and the driver then names the rest of it as the host ("failed to resolve host '***@...'")."""
    head = url.partition("?")[0]
    start = head.find("://") + 3
    if start < 3:
        return False
    netloc = head[start:].partition("/")[0]
    return netloc.count("@") > 1


def _database_url() -> str:
    """The configured URL, whose password a driver's error line may quote (as a host name)."""
    try:
        return load_settings().database_url
    except Exception:
        return os.environ.get("DATABASE_URL", "")
