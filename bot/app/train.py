"""`twoway train`: retrain the agency model from staff corrections now."""

from __future__ import annotations

import argparse

from bot.app.startup import prepare
from bot.intake.training import retrain


def main(args: argparse.Namespace) -> int:
    """`twoway train`: retrain now and say what happened."""
    ctx = prepare()
    result = retrain(ctx)
    print(result.line())
    return 0
