"""`twoway export`: the public record of mentions for a date range, to a file or standard output."""

from __future__ import annotations

import argparse
import io
import os
import sys

from bot.app.startup import prepare
from bot.core.config import load_settings
from bot.core.errors import UserError
from bot.core.words import counted
from bot.supervision.export import day_bounds, parse_day, record_export, write_export
from bot.supervision.sla import agency_timezone


def _check_out(out: str) -> None:
    """Refuse an --out that cannot be written before opening (and migrating) the database, so the
    one line saying why is all the command prints. Opening it for real still reports the rest."""
    folder = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out):
        raise UserError(
            f"cannot write {out}: it is a folder; give a file name, e.g. {os.path.join(out, 'mentions.csv')}"
        )
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {out}: there is no folder {folder}")
    if not os.access(out if os.path.exists(out) else folder, os.W_OK):
        raise UserError(f"cannot write {out}: permission denied")


def main(args: argparse.Namespace) -> int:
    """`twoway export`: write the record for a date range to a file or standard output."""
    since, until = parse_day(args.since, "--since"), parse_day(args.until, "--until")
    if since > until:
        raise UserError(f"--since ({since}) is after --until ({until})")
    fmt = args.format or "csv"
    raw = bool(getattr(args, "raw", False))
    if args.out:
        _check_out(args.out)
    ctx = prepare(load_settings())
    try:
        with ctx.transaction() as session:
            tz = agency_timezone(session)
        start, end = day_bounds(since, until, tz)
        try:
            if args.out:
                with open(args.out, "w", encoding="utf-8", newline="") as out:
                    count = write_export(ctx.sessions, start, end, fmt, out, raw)
            else:
                stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
                count = write_export(ctx.sessions, start, end, fmt, stdout, raw)
                stdout.flush()
                stdout.detach()
        except BrokenPipeError:  # `twoway export ... | head`: the reader has had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except OSError as exc:
            raise UserError(f"cannot write {args.out or 'standard output'}: {exc.strerror or exc}") from None
        with ctx.transaction() as session:
            record_export(session, ctx.clock.now(), "cli", since, until, fmt, count, raw)
        where = args.out or "standard output"
        note = ""
        if fmt == "csv":
            note = (
                " (raw: cells exactly as written; do not open it in a spreadsheet)"
                if raw
                else " (cells that start like a formula begin with an added ')"
            )
        print(
            f"twoway: exported {counted(count, 'mention')} posted {since} to {until} ({tz.key}) to {where}{note}",
            file=sys.stderr,
        )
        return 0
    finally:
        ctx.engine.dispose()
