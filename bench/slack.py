"""Slack clicks under load: ack latency and exactly-once replies, against the fakes.

Starts the app on 127.0.0.1 with the fake Slack and fake X in this process (SQLite in a temp
directory unless DATABASE_URL is given), posts cards, then fires signed Send clicks from a
second process (as Slack is one): 50 at once on 50 cards, and 50 at once on one card. Prints
the ack latency (until the app answered Slack's HTTP request, measured by the clicking side)
and how many replies reached the platform.

    .venv/bin/python bench/slack.py [--clicks 50]
    DATABASE_URL=postgresql+psycopg://user@host/db .venv/bin/python bench/slack.py  # own schema, dropped after
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bot.core.clock import SystemClock
from bot.core.context import build_context
from bot.review.cards import post_pending_cards
from storage import migrate
from storage.scratch import scratch_schema
from tests.conftest import make_settings
from tests.support.world import OFFICER, World, world


def fire_clicks(events_base: str, response_base: str, targets: list[tuple[int, str, str]]) -> list[float]:
    """In a separate process, as Slack is: one signed click per target at the same moment."""
    from tests.support.signed import SIGNING_SECRET, SlackSender

    sender = SlackSender(events_base, SIGNING_SECRET, response_base)
    barrier = threading.Barrier(len(targets))

    def click(target: tuple[int, str, str]) -> float:
        mention_id, channel, ts = target
        barrier.wait()
        start = time.perf_counter()
        result = sender.click(
            "send_reply:1",
            user_id=OFFICER,
            channel=channel,
            message_ts=ts,
            block_id=f"m:{mention_id}:d1",
            value=f"{mention_id}:1",
        )
        elapsed = time.perf_counter() - start
        if result.status != 200:
            raise RuntimeError(f"click answered {result.status}")
        return elapsed

    with ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(click, targets))


def fire(w: World, clicker: ProcessPoolExecutor, targets: list[tuple[int, str, str]]) -> list[float]:
    latencies = clicker.submit(fire_clicks, w.h.server.url, w.fake.response_url_base, targets).result()
    w.h.wait(120)
    return latencies


@contextmanager
def database(given: str | None, tmp: str) -> Iterator[str]:
    """SQLite in `tmp`, or a throwaway schema on the PostgreSQL server `given` names."""
    if not given:
        yield f"sqlite:///{tmp}/bench.db"
        return
    with scratch_schema(given, "twoway_bench") as url:
        yield url


def drafts(n: int) -> list[str]:
    return [f"Thank you for writing to us ({n}/{k})." for k in (1, 2, 3)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, latencies: list[float], posts: int, expected: int) -> bool:
    ms = [v * 1000 for v in latencies]
    ok = posts == expected
    print(
        f"{name:<28} clicks={len(ms):>3}  ack p50={statistics.median(ms):6.1f} ms  "
        f"p99={percentile(ms, 99):6.1f} ms  max={max(ms):6.1f} ms  platform posts={posts} "
        f"(expected {expected}) {'OK' if ok else 'WRONG'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(os.environ.get("DATABASE_URL"), tmp) as url:
        ctx = build_context(make_settings(DATABASE_URL=url), clock=SystemClock())
        migrate.upgrade(ctx.engine)
        print(f"database: {ctx.engine.url.get_backend_name()}, clicks per round: {args.clicks}")
        clicker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        clicker.submit(time.sleep, 0).result()  # start the clicking process before measuring
        with world(ctx) as w:
            # X refuses duplicate text, so every card gets its own drafts.
            many = [
                w.new_mention(f"thank you, officer number {n}", drafts=drafts(n)) for n in range(args.clicks)
            ]
            one = w.new_mention("a single card everybody clicks", drafts=drafts(-1))
            while post_pending_cards(ctx):
                pass
            w.h.command("help", OFFICER)  # warm up: Bolt's first request runs auth.test
            targets = []
            for mention_id in many:
                card = w.card(mention_id)
                targets.append((mention_id, card.channel, card.ts))
            latencies = fire(w, clicker, targets)
            ok = report(f"{args.clicks} cards, 1 click each", latencies, len(w.fake_x.replies), args.clicks)
            before = len(w.fake_x.replies)
            card = w.card(one)
            latencies = fire(w, clicker, [(one, card.channel, card.ts)] * args.clicks)
            ok &= report(f"1 card, {args.clicks} clicks", latencies, len(w.fake_x.replies) - before, 1)
        clicker.shutdown()
        ctx.engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
