"""`twoway run`: the Slack app and the scheduler in one process.

Scaled out, run exactly one process with the scheduler (TWOWAY_SCHEDULER=true, the default)
and any number of web processes with TWOWAY_SCHEDULER=false: APScheduler must never share a job
store between processes, and every job is idempotent on its own.
"""

from __future__ import annotations

import argparse
import logging

from bot.config import load_settings
from bot.startup import prepare

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.require_for_slack()
    ctx = prepare(settings)

    from bot.scheduler import start_scheduler
    from bot.slack.app import build_slack, serve_forever

    slack = build_slack(ctx)
    scheduler = start_scheduler(ctx) if settings.scheduler_enabled else None
    try:
        serve_forever(ctx, slack)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        ctx.engine.dispose()
    return 0
