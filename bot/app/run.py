"""`twoway run`: the Slack app, and the scheduler when this copy holds the scheduler lock.

Any number of copies may run against one PostgreSQL database (a rolling deploy starts the new
release before stopping the old one): all serve Slack, and exactly one runs the scheduler,
handed over by a database lock when it stops or dies (bot/app/leader.py). TWOWAY_SCHEDULER=false
keeps a copy out of the running for it. On SQLite a second copy is refused at start.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from bot.app.leader import Leader, claim_database, scheduler_lock
from bot.app.scheduler import start_scheduler
from bot.app.startup import prepare
from bot.app.wiring import build_slack, web_routes
from bot.core.config import load_settings
from bot.intake.credentials import warn_if_unreadable
from bot.slack.serve import reserve_port, serve_forever

log = logging.getLogger(__name__)


def _stop(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM must not cut short the finishing of acked clicks; the host's kill ends it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)


def main(args: argparse.Namespace) -> int:
    # Hosting platforms stop a process with SIGTERM: turn it into an orderly exit so the Slack
    # connection is closed, queued clicks finish and the scheduler stops, as on Ctrl-C.
    signal.signal(signal.SIGTERM, _stop)
    settings = load_settings()
    settings.require_for_slack()
    settings.require_whole_platforms()
    claim = claim_database(settings)  # SQLite: this is the only copy, or exit 2 now
    try:
        listener = reserve_port(settings.port)  # a port in use: exit 2 now, before any work
    except BaseException:
        claim.release()
        raise
    try:
        ctx = prepare(settings)
        warn_if_unreadable(ctx)
        slack = build_slack(ctx)
        leader = None
        if settings.scheduler_enabled:
            leader = Leader(ctx, scheduler_lock(settings), start_scheduler, settings.takeover_seconds)
            leader.start()
        else:
            log.info("TWOWAY_SCHEDULER=false: this copy serves Slack only")
        try:
            serve_forever(ctx, slack, web_routes(ctx), listener)
        finally:
            log.info("stopping")
            if leader is not None:
                leader.stop()
            ctx.engine.dispose()
            log.info("stopped")
    finally:
        listener.close()
        claim.release()
    return 0
