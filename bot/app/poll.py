"""`twoway poll --once`: poll every account once, triage, post cards, one line per account."""

from __future__ import annotations

import argparse
import logging
import traceback

from bot.app.pipeline import process
from bot.app.startup import prepare, secrets_of
from bot.core.config import load_settings
from bot.core.logs import RedactingFilter
from bot.intake.accounts import register_env_accounts, unidentified_env_accounts
from bot.intake.polling import poll_all_once
from bot.slack.client import make_web_client
from connectors.http import redact

log = logging.getLogger(__name__)

NO_ACCOUNTS = (
    "No accounts are connected: set X_BEARER_TOKEN (or the four X_API_*/X_ACCESS_* keys), "
    "FACEBOOK_PAGE_ID and FACEBOOK_PAGE_TOKEN (and INSTAGRAM_ACCOUNT_ID for its Instagram account), "
    "THREADS_TOKEN, or BLUESKY_HANDLE and BLUESKY_APP_PASSWORD, or connect one in Slack with "
    "/twoway connect."
)


def main(args: argparse.Namespace) -> int:
    """`twoway poll --once`: poll, pass new mentions to triage and Slack, print one line per account."""
    settings = load_settings()
    settings.require_whole_platforms()
    ctx = prepare(settings)
    try:
        register_env_accounts(ctx)
        if ctx.settings.slack_configured:
            ctx.slack = make_web_client(ctx.settings)
        summaries = poll_all_once(ctx)
        unidentified = unidentified_env_accounts(ctx)
        if not summaries and not unidentified:
            print(NO_ACCOUNTS)
            return 0
        scrub = RedactingFilter(secrets_of(ctx.settings)).scrub  # print() passes no log filter
        for summary in summaries:
            print(scrub(summary.line()))
        for platform, reason in unidentified.items():
            print(scrub(f"{platform} (from the environment): not polled, could not be identified ({reason})"))
        try:
            process(ctx)
        except Exception as exc:
            log.error("triage and cards failed:\n%s", redact("".join(traceback.format_exception(exc))))
            print(f"triage and cards failed: {type(exc).__name__}: {redact(str(exc))[:200]}")
            return 1
        return 1 if unidentified else 0
    finally:
        ctx.engine.dispose()
