"""`twoway run`: the Slack app and the scheduler in one process.

Scaled out, run exactly one process with the scheduler (TWOWAY_SCHEDULER=true, the default)
and any number of web processes with TWOWAY_SCHEDULER=false: APScheduler must never share a job
store between processes, and every job is idempotent on its own.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from bot.app.scheduler import start_scheduler
from bot.app.startup import prepare
from bot.app.wiring import build_slack, web_routes
from bot.core.config import load_settings
from bot.slack.serve import serve_forever

log = logging.getLogger(__name__)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(args: argparse.Namespace) -> int:
    # Hosting platforms stop a process with SIGTERM: turn it into an orderly exit so the Slack
    # connection is closed, queued clicks finish and the scheduler stops, as on Ctrl-C.
    signal.signal(signal.SIGTERM, _stop)
    settings = load_settings()
    settings.require_for_slack()
    settings.require_whole_platforms()
    ctx = prepare(settings)

    slack = build_slack(ctx)
    scheduler = start_scheduler(ctx) if settings.scheduler_enabled else None
    try:
        serve_forever(ctx, slack, web_routes(ctx))
    finally:
        log.info("stopping")
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        ctx.engine.dispose()
        log.info("stopped")
    return 0
