"""Ingest benchmark: poll busy X, Facebook, Instagram, Threads and Bluesky accounts into SQLite and PostgreSQL.

Starts the fake X, Graph (Facebook and Instagram), Threads and Bluesky APIs in a child process
(their work must not share TwoWay's CPU or count in its memory), seeds 10,000 X mentions and
2,000 comments or replies on each other platform, and runs TwoWay's own `poll_account` into each
database: real tweepy, facebook-sdk, requests and atproto over real HTTP on 127.0.0.1. Prints mentions stored per second, HTTP requests made (TwoWay's count, checked against
the fakes' logs) and TwoWay's peak RSS, and checks them against the targets. Exit status 1 when
a target is missed.

    .venv/bin/python bench/ingest.py [--postgres URL] [--x-mentions N] [--comments N]

PostgreSQL: --postgres, else TEST_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/test;
the run uses its own schema and drops it afterwards. X's ~800-mention reach cap is lifted in the
fake so that the whole batch is read and stored (the cap itself is covered by the tests).
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.core.config import Settings  # noqa: E402
from bot.core.context import build_context  # noqa: E402
from bot.intake.accounts import register_env_accounts  # noqa: E402
from bot.intake.polling import PollSummary, poll_account  # noqa: E402
from storage import migrate  # noqa: E402
from tests.support.fakes.bluesky_api import FakeBluesky  # noqa: E402
from tests.support.fakes.instagram_api import FakeInstagram  # noqa: E402
from tests.support.fakes.threads_api import FakeThreads  # noqa: E402
from tests.support.fakes.x_api import FakeX  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    backend: str
    platform: str
    new: int
    seconds: float
    requests: int
    idle_requests: int
    cpu: float  # CPU seconds of this process during the poll: robust to a busy machine

    @property
    def rate(self) -> float:
        return self.new / self.seconds if self.seconds else float("inf")


IDLE_FLOOR = {"threads": 3}  # Threads: posts, own replies and mentions are three edges; 1 elsewhere


def seed_social(comments: int) -> tuple[FakeThreads, FakeBluesky]:
    """Threads replies to posts older than its 2-day hot window, and Bluesky replies and mentions."""
    now = datetime.now(UTC)
    threads = FakeThreads(now=now - timedelta(days=2, hours=12))
    posts = [threads.add_post(f"Update {p}") for p in range(10)]
    for n in range(comments):
        threads.add_reply(
            posts[n % len(posts)],
            f"Reply {n}: thanks for the update 🙏",
            username=f"neighbour{n % 300}",
            created_at=now - timedelta(hours=20) + timedelta(seconds=n),
        )
    bluesky = FakeBluesky(now=now - timedelta(days=1))
    own = [bluesky.add_post(f"Notice {p}") for p in range(10)]
    for n in range(comments):
        at = now - timedelta(hours=20) + timedelta(seconds=n)
        if n % 4:
            bluesky.add_reply(
                own[n % len(own)], f"Reply {n}: good to know", handle=f"n{n % 300}.bsky.social", created_at=at
            )
        else:
            bluesky.add_mention(
                f"@{bluesky.handle} question {n}", handle=f"n{n % 300}.bsky.social", created_at=at
            )
    return threads.start(), bluesky.start()  # type: ignore[return-value]


def seed(x_mentions: int, comments: int) -> tuple[FakeX, FakeInstagram]:
    now = datetime.now(UTC)
    fake_x = FakeX(now=now - timedelta(hours=2), reachable=None)
    for n in range(x_mentions):
        fake_x.add_mention(
            f"Question {n}: is the road by the school closed today? 🚧 شكرا",
            author=f"resident{n % 500}",
            created_at=now - timedelta(hours=20) + timedelta(seconds=n),
        )
    fake_graph = FakeInstagram(now=now - timedelta(hours=2))  # the Graph host: the Page and its Instagram
    media = [fake_graph.add_media(f"Photo {p}", created_at=now - timedelta(days=1)) for p in range(10)]
    for n in range(comments):
        fake_graph.add_ig_comment(
            media[n % len(media)],
            f"Comment {n}: proud of our officers 💙",
            username=f"neighbour{n % 300}",
            created_at=now - timedelta(hours=20) + timedelta(seconds=n),
        )
    posts = [fake_graph.add_post(f"Update {p}", created_at=now - timedelta(days=1)) for p in range(10)]
    for n in range(comments):
        fake_graph.add_comment(
            posts[n % len(posts)],
            f"Comment {n}: thank you for keeping us safe 👮",
            author=f"Neighbour {n % 300}",
            created_at=now - timedelta(hours=20) + timedelta(seconds=n),
        )
    return fake_x.start(), fake_graph.start()  # type: ignore[return-value]


def serve_fakes(x_mentions: int, comments: int, conn: Connection) -> None:
    """The child process: seed, serve, and answer "counts" until told to "stop"."""
    fake_x, fake_graph = seed(x_mentions, comments)
    threads, bluesky = seed_social(comments)
    creds = fake_x.user_credentials
    conn.send(
        {
            "X_API_URL": fake_x.url,
            "X_BEARER_TOKEN": fake_x.bearer_token,
            "X_API_KEY": creds["api_key"],
            "X_API_SECRET": creds["api_secret"],
            "X_ACCESS_TOKEN": creds["access_token"],
            "X_ACCESS_TOKEN_SECRET": creds["access_token_secret"],
            "FACEBOOK_GRAPH_URL": fake_graph.url,
            "FACEBOOK_PAGE_ID": fake_graph.page["id"],
            "FACEBOOK_PAGE_TOKEN": fake_graph.page_token,
            "INSTAGRAM_ACCOUNT_ID": fake_graph.ig["id"],
            "THREADS_API_URL": threads.url,
            "THREADS_USER_ID": threads.profile["id"],
            "THREADS_TOKEN": threads.token,
            "BLUESKY_SERVICE_URL": bluesky.url,
            "BLUESKY_HANDLE": bluesky.handle,
            "BLUESKY_APP_PASSWORD": bluesky.app_password,
            "TWOWAY_SECRET_KEY": "bench-secret-key-0123456789",
        }
    )
    while (message := conn.recv()) != "stop":
        if message == "counts":
            graph = len(fake_graph.requests)  # Facebook and Instagram share the Graph host
            conn.send(
                {
                    "x": len(fake_x.requests),
                    "facebook": graph,
                    "instagram": graph,
                    "threads": len(threads.requests),
                    "bluesky": len(bluesky.requests),
                }
            )
    for fake in (fake_x, fake_graph, threads, bluesky):
        fake.stop()


def request_counts(conn: Connection) -> dict[str, int]:
    conn.send("counts")
    counts: dict[str, int] = conn.recv()
    return counts


def run(backend: str, url: str, env: dict[str, str], conn: Connection) -> list[Result]:
    ctx = build_context(Settings(_env_file=None, DATABASE_URL=url, **env))  # type: ignore[call-arg]
    migrate.upgrade(ctx.engine)
    results = []
    try:
        for account in register_env_accounts(ctx):
            before = request_counts(conn)[account.platform]
            started, cpu = time.perf_counter(), time.process_time()
            first: PollSummary = poll_account(ctx, account.id)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            seen = request_counts(conn)[account.platform] - before
            if first.status != "ok" or seen != first.requests:
                raise SystemExit(f"{backend} {account.platform}: poll failed or miscounted: {first.line()}")
            idle = poll_account(ctx, account.id)
            results.append(
                Result(backend, account.platform, first.new, seconds, first.requests, idle.requests, cpu)
            )
    finally:
        ctx.engine.dispose()
    return results


def postgres_url(base: str) -> tuple[str, str] | None:
    schema = f"twoway_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    parsed = make_url(base).set(drivername="postgresql+psycopg")
    try:
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as exc:
        print(
            f"PostgreSQL at {parsed.render_as_string(hide_password=True)} not usable ({type(exc).__name__}); skipped"
        )
        return None
    url = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def main() -> int:
    # With X's reach cap lifted, a 10,000-mention first poll trips the backlog-gap rule on purpose.
    logging.getLogger("bot.intake.polling").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--x-mentions", type=int, default=800)  # X serves only the newest ~800
    parser.add_argument("--comments", type=int, default=2_000)
    args = parser.parse_args()

    started = time.perf_counter()
    conn, child_end = multiprocessing.Pipe()
    fakes = multiprocessing.Process(
        target=serve_fakes, args=(args.x_mentions, args.comments, child_end), daemon=True
    )
    fakes.start()
    env: dict[str, str] = conn.recv()
    seeded = time.perf_counter() - started
    print(
        f"seeded {args.x_mentions} X mentions and {args.comments} comments or replies per other platform in {seeded:.1f} s"
    )
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results += run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", env, conn)
        if not args.no_postgres:
            target = postgres_url(args.postgres)
            if target is not None:
                url, schema = target
                try:
                    results += run("postgresql", url, env, conn)
                finally:
                    drop_schema(args.postgres, schema)
    finally:
        conn.send("stop")
        fakes.join(timeout=10)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    header = f"{'backend':<11} {'platform':<9} {'stored':>7} {'seconds':>8} {'per s':>7} {'CPU s':>6} {'per CPU s':>9}"
    print(header + f" {'requests':>9} {'idle req':>9}")
    for r in results:
        per_cpu = r.new / r.cpu if r.cpu else float("inf")
        print(
            f"{r.backend:<11} {r.platform:<9} {r.new:>7} {r.seconds:>8.2f} {r.rate:>7.0f} {r.cpu:>6.2f} {per_cpu:>9.0f}"
            f" {r.requests:>9} {r.idle_requests:>9}"
        )
    print(f"peak RSS of the TwoWay process (the fakes run in a child): {peak_mb:.0f} MB")

    failures = []
    x_budget = math.ceil(args.x_mentions / 100) + 1
    for r in results:
        if r.rate < 1000:
            failures.append(f"{r.backend} {r.platform}: {r.rate:.0f} mentions/s < 1000")
        if r.platform == "x" and r.requests > x_budget:
            failures.append(f"{r.backend} x: first poll used {r.requests} requests > {x_budget}")
        floor = IDLE_FLOOR.get(r.platform, 1)  # the physical floor of each platform's API
        if r.idle_requests != floor:
            failures.append(
                f"{r.backend} {r.platform}: idle poll used {r.idle_requests} requests, not {floor}"
            )
        expected = args.x_mentions if r.platform == "x" else args.comments
        if r.new != expected:
            failures.append(f"{r.backend} {r.platform}: stored {r.new}, expected {expected}")
    if peak_mb > 200:
        failures.append(f"peak RSS {peak_mb:.0f} MB > 200 MB")
    print()
    print(
        "targets: >= 1000 mentions/s; X first poll <= ceil(N/100)+1 requests; idle poll == 1 request per account"
        " (3 on Threads); RSS <= 200 MB"
    )
    for failure in failures:
        print(f"MISSED: {failure}")
    print("all targets met" if not failures else f"{len(failures)} target(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
