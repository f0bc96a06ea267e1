"""`twoway start` (what `make run` does): TwoWay for real when a Slack token is configured, else the
sandbox. The first line printed says which mode it is in and how to switch."""

from __future__ import annotations

import argparse

from bot.app import run, sandbox
from bot.core.config import load_settings


def main(args: argparse.Namespace) -> int:
    if not load_settings().slack_configured:
        return sandbox.main(args)
    sandbox.say(
        "TwoWay live mode: your Slack app, with SLACK_BOT_TOKEN from the environment or .env. "
        "To try the sandbox instead, remove the Slack, X and Facebook credentials from the environment "
        "and .env and run `make run` again."
    )
    return run.main(args)
