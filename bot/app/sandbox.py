"""`twoway sandbox`: the real app, scheduler, triage and storage against simulated accounts.

Simulated X and Facebook accounts and a simulated Slack workspace (see `bot.sandbox`) run on
127.0.0.1 beside TwoWay in one process; the page at http://127.0.0.1:$PORT stands in for the
Slack channel. The database is a SQLite file of its own, made afresh at every start. Real
credentials in the environment or `.env` stop it: a sandbox must never act on real accounts.
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import os
import re
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from pydantic import SecretStr

from bot.app.scheduler import start_scheduler
from bot.app.startup import prepare
from bot.app.wiring import build_slack
from bot.core.config import ConfigError, Settings, load_settings
from bot.core.context import Context
from bot.sandbox.feed import FAQ_ANSWER, FAQ_QUESTION
from bot.sandbox.platforms import AGENCY_NAME
from bot.sandbox.server import Sandbox
from bot.slack.serve import make_wsgi
from connectors import registry
from handlers.storms import DEFAULT_MINIMUM, DEFAULT_MULTIPLE, WINDOW
from storage import faqs, keys, settings, staff
from storage.models import Role

log = logging.getLogger(__name__)

DATABASE = Path("twoway-sandbox.db")
POLL_SECONDS = 10  # the shortest interval TwoWay allows, so new posts show within seconds
TIMEZONE = "America/Chicago"
STORM_DEMO_EVERY = 1.0  # `--every` below this many seconds is a storm on purpose
JOB_GRACE = 3.0  # seconds a running job (a storm's cards) may take to finish once Ctrl-C is pressed
AGENCY = {
    "agency_name": AGENCY_NAME,
    "phone": "(555) 010-2000",
    "website": "https://www.maplefalls.example",
    "records_url": "https://www.maplefalls.example/records",
}
SWITCH = (
    "To connect your real Slack, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET in .env "
    "(docs/slack-setup.md) and run `make run` again."
)
# Names of credentials for any platform, today's and those to come.
_CREDENTIAL = re.compile(r"^(SLACK|X|FACEBOOK|INSTAGRAM|THREADS|BLUESKY)_\w*(TOKEN|SECRET|KEY|PASSWORD)\w*$")


def real_credentials(base: Settings, environ: dict[str, str]) -> list[str]:
    """Every credential set in the environment or `.env` (TWOWAY_SECRET_KEY only seals stored ones)."""
    found = [
        str(field.alias)
        for name, field in Settings.model_fields.items()
        if name != "twoway_secret_key" and isinstance(getattr(base, name), SecretStr)
    ]
    # An account named from the environment (FACEBOOK_PAGE_ID, INSTAGRAM_ACCOUNT_ID, BLUESKY_HANDLE...)
    # would be registered against the simulated platforms, which do not know it.
    for spec in registry.PLATFORMS.values():
        names = [*spec.env_triggers, *(f.env for f in spec.fields if f.env)]
        found += [name for name in names if base.env_value(name) is not None]
    found += [k for k, v in environ.items() if _CREDENTIAL.match(k.upper()) and v.strip()]
    return sorted(set(found))


def sandbox_settings(base: Settings, sandbox: Sandbox) -> Settings:
    update: dict[str, Any] = {
        "database_url": f"sqlite:///{DATABASE}",
        "twoway_poll_seconds": POLL_SECONDS,
        "twoway_admins": [user for user, role in Sandbox.staff().items() if role == "admin"],
        "slack_app_token": None,
        "scheduler_enabled": True,
        # Quiet unless asked: the terminal says where the page is; the page shows what happens.
        "log_level": base.log_level if "log_level" in base.model_fields_set else "WARNING",
        **sandbox.settings(),
    }
    return base.model_copy(update=update)


def seed(ctx: Context, every: float = 8.0) -> None:
    """What an agency would have set up: staff and their roles, its details, an FAQ, a digest, and
    a storm threshold above the feed's own pace. A new account has no history, so any 30 posts in
    10 minutes would be a storm; the feed brings one post every `every` seconds, dozens in 10
    minutes, which is the sandbox's normal, not a burst. A feed of more than a post a second
    (`--every` under 1) is a storm on purpose: the usual threshold stays."""
    now = ctx.clock.now()
    by = "sandbox"
    with ctx.transaction() as session:
        if every >= STORM_DEMO_EVERY:
            per_window = math.ceil(WINDOW.total_seconds() / every)
            minimum = max(DEFAULT_MINIMUM, 2 * per_window)
            settings.put(
                session, keys.STORM_THRESHOLD, {"multiple": DEFAULT_MULTIPLE, "minimum": minimum}, by, now
            )
        for user, role in Sandbox.staff().items():
            staff.set_role(session, user, Role(role), by, now)
        for name, value in AGENCY.items():
            settings.put(session, name, value, by, now)
        faqs.add(session, FAQ_QUESTION, FAQ_ANSWER, by, now)
        # The daily digest a few minutes from now, so it has the sandbox's first posts to count.
        local = now.astimezone(ZoneInfo(TIMEZONE)) + timedelta(minutes=3)
        settings.put(session, keys.TIMEZONE, TIMEZONE, by, now)
        settings.put(session, keys.DIGEST_DAILY, {"time": local.strftime("%H:%M")}, by, now)
        settings.put(session, keys.DIGEST_WEEKLY, False, by, now)


def _fresh_database() -> None:
    for path in (DATABASE, Path(f"{DATABASE}-journal"), Path(f"{DATABASE}-wal"), Path(f"{DATABASE}-shm")):
        path.unlink(missing_ok=True)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def stop_scheduler(scheduler: BaseScheduler, grace: float) -> bool:
    """Stop the jobs and give one under way `grace` seconds to end; False when it is still going.

    A storm's cards take minutes to post at Slack's pace: waiting for them would keep Ctrl-C from
    stopping the sandbox, and closing the simulated Slack under them would answer every card with
    "Connection refused".
    """
    stopping = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    stopping.start()
    stopping.join(grace)
    return not stopping.is_alive()


def _leave(code: int) -> NoReturn:
    """Exit now, leaving the job under way: its worker thread would keep the process alive until
    the job ends. Nothing is lost: the database is made afresh at the next start."""
    log.info("stopping the sandbox without waiting for the job under way")
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def say(line: str) -> None:
    print(line, flush=True)


def main(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)
    base = load_settings()
    found = real_credentials(base, dict(os.environ))
    if found:
        raise ConfigError(
            f"{found[0]} is set: the sandbox never runs with real credentials "
            f"({', '.join(found)} in the environment or .env). Unset them to try the sandbox, "
            "or set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to run TwoWay with them (`make run`)"
        )
    try:
        sandbox = Sandbox.bind(base.port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(
            f"PORT {base.port} is already in use by another program: stop it or set PORT"
        ) from None
    say(
        f"TwoWay sandbox mode (no Slack token is configured): open {sandbox.url} to see TwoWay work with "
        f"simulated X, Facebook and Slack; nothing leaves this machine. {SWITCH}"
    )
    _fresh_database()
    settings_ = sandbox_settings(base, sandbox)
    ctx = prepare(settings_)
    seed(ctx, args.every)
    slack = build_slack(ctx)
    sandbox.serve_app(make_wsgi(ctx, slack))
    sandbox.start(every=args.every)
    scheduler = start_scheduler(ctx)
    say(f"Sandbox ready at {sandbox.url} (database {DATABASE}, made afresh at every start). Ctrl-C stops it.")
    code = 0
    try:
        sandbox.wait()
    except KeyboardInterrupt:
        code = 130  # what the command line answers to Ctrl-C
    finally:
        log.info("stopping the sandbox")
        # The jobs first, while the simulated Slack still answers them; SIGTERM exits with 0.
        if not stop_scheduler(scheduler, JOB_GRACE):
            _leave(code)
        sandbox.stop()
        slack.close()
        ctx.engine.dispose()
        sys.stdout.flush()
    return code
