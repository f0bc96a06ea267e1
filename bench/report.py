"""How long `/twoway report 30d` takes over 100,000 mentions (target: under 2 s on SQLite).

    .venv/bin/python bench/report.py [--mentions 100000] [--postgres URL]

Seeds a temporary SQLite file (and, with --postgres or BENCH_DATABASE_URL, a scratch schema on
that server) with mentions spread over the last 30 days: a realistic mix of categories,
platforms, urgent items, answered / dismissed / open states and log-normal response times.
Then it times `storage.metrics.build_report` for 30 days and the whole `/twoway report 30d`
handler (role check, figures, Block Kit), best of five runs after one warm-up. On PostgreSQL
the table is vacuumed and analysed after the bulk load, as autovacuum would.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text

from bot.core.config import Settings
from bot.core.context import Context
from storage import migrate, staff
from storage.db import make_engine, make_sessionmaker
from storage.metrics import build_report
from storage.models import Account, Mention
from storage.scratch import scratch_schema

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CATEGORIES = [("question", 35), ("criticism", 25), ("compliment", 25), ("other", 15)]
STAFF = [f"U0STAFF{n:02d}" for n in range(12)]


class Clock:
    def now(self) -> datetime:
        return NOW


def seed(engine: Engine, count: int) -> None:
    rng = random.Random(20261120)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        accounts = [
            Account(platform="x", external_id="1", handle="cityPD", created_at=NOW),
            Account(platform="facebook", external_id="2", handle="City Police", created_at=NOW),
        ]
        session.add_all(accounts)
        session.flush()
        account_ids = {"x": accounts[0].id, "facebook": accounts[1].id}
        staff.set_role(session, "U0BENCH", "supervisor", by="bench", now=NOW)
    names = [c for c, _ in CATEGORIES]
    weights = [w for _, w in CATEGORIES]
    rows: list[dict[str, Any]] = []
    for n in range(count):
        platform = "x" if rng.random() < 0.6 else "facebook"
        created = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
        ingested = created + timedelta(seconds=rng.uniform(5, 180))
        roll = rng.random()
        state = "replied" if roll < 0.3 else "dismissed" if roll < 0.5 else "open"
        row: dict[str, Any] = {
            "account_id": account_ids[platform],
            "platform": platform,
            "external_id": str(10**15 + n),
            "author_id": str(rng.randrange(10**6)),
            "author_handle": f"resident{rng.randrange(50000)}",
            "author_name": "",
            "author_url": "",
            "text": "When does the community meeting start? " * rng.randint(1, 3),
            "url": "",
            "created_at": created,
            "ingested_at": ingested,
            "explicit_mention": True,
            "raw": {},
            "category": rng.choices(names, weights)[0],
            "confidence": round(rng.uniform(0.4, 1.0), 3),
            "urgent": rng.random() < 0.02,
            "triaged_at": ingested,
            "state": state,
            "card_status": "posted",
            "reply_status": "sent" if state == "replied" else "none",
            "card_attempts": 1,
        }
        if state == "replied":
            minutes = math.exp(rng.gauss(math.log(40), 1.1))
            row["first_response_at"] = min(created + timedelta(minutes=minutes), NOW)
            row["responded_by"] = rng.choice(STAFF)
        if rng.random() < 0.3:
            row["assignee"] = rng.choice(STAFF)
        rows.append(row)
        if len(rows) == 5000:
            _flush(sessions, rows)
    _flush(sessions, rows)


def _flush(sessions: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with sessions.begin() as session:
            session.execute(insert(Mention), rows)
        rows.clear()


def best_of(fn: Any, runs: int = 5) -> tuple[float, float, float]:
    """(best wall seconds, median wall seconds, CPU seconds of this process in the best run)."""
    fn()  # warm caches and the query planner
    timings = []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
    timings.sort()
    return timings[0][0], timings[len(timings) // 2][0], timings[0][1]


def measure(label: str, url: str, count: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    seed(engine, count)
    seeded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE mentions"))  # what autovacuum does after a bulk load
    sessions = make_sessionmaker(engine)

    def report() -> None:
        with sessions.begin() as session:
            result = build_report(session, NOW - timedelta(days=30), NOW, NOW)
        assert result.total == count, result.total

    settings = Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
    ctx = Context(settings=settings, engine=engine, sessions=sessions, clock=Clock())

    def command() -> None:
        from bot.app.wiring import COMMANDS
        from bot.slack.commands import run_command

        reply = run_command(
            ctx, COMMANDS, {"text": "report 30d", "user_id": "U0BENCH", "channel_id": "C0BENCH"}
        )
        assert reply.text.startswith(f"TwoWay report for the last 30 days: {count} mentions"), reply.text

    print(f"{label}: seeded {count} mentions in {seeded:.1f} s")
    for name, fn in (("build_report 30d", report), ("/twoway report 30d", command)):
        best, median, cpu = best_of(fn)
        print(f"{label}: {name:<20} best {best:.3f} s, median {median:.3f} s, CPU {cpu:.3f} s (5 runs)")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.mentions)
    if args.postgres:
        with scratch_schema(args.postgres, "twoway_bench") as url:
            measure("postgresql", url, args.mentions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
