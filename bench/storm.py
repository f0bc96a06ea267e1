"""Storm benchmark: 1,000 comments on one Facebook post within a minute, 5 emergencies and 20 real
questions hidden among them, against a fake Slack that enforces Slack's per-channel rate.

The fake Graph API and the fake Slack run in a child process (their work must not count as
TwoWay's CPU or memory). The child posts the comments on the fake Page in real time, spread over
--seconds (60), in a shuffled order. TwoWay runs as `twoway run` does, minus the HTTP listener:
its scheduler polls the Page every TWOWAY_POLL_SECONDS (10, the shortest allowed), the triage job
and the Slack worker run as their own jobs, and the real facebook-sdk and slack_sdk speak HTTP to
the fakes. The Page has a normal week behind it (about 40 comments a day), so the storm rule is
judged against a real baseline. The comments are written like a storm: anger, arguments between
commenters, support, rhetorical questions repeated many times, with the real questions and the
emergencies among them.

Printed: Slack messages posted for the storm, Slack 429 answers, summary-card redraws, time from
ingest to the card of each emergency and each question, mentions in the public-records export,
TwoWay's CPU time and peak RSS. Exit status 1 when a target is missed: every urgent card within
30 s of ingest, every question card within 2 minutes, at most 40 messages in the channel, no
mention missing from the export.

    .venv/bin/python bench/storm.py [--comments 975] [--seconds 60] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select, text  # noqa: E402

from bot.app.scheduler import build_scheduler  # noqa: E402
from bot.core.config import Settings  # noqa: E402
from bot.core.context import build_context  # noqa: E402
from bot.intake.accounts import register_env_accounts  # noqa: E402
from bot.slack.client import make_web_client  # noqa: E402
from bot.slack.pace import Pacer  # noqa: E402
from bot.supervision.export import day_bounds, records  # noqa: E402
from storage import keys, migrate  # noqa: E402
from storage import settings as stored_settings  # noqa: E402
from storage.models import CARD_FAILED, CARD_PENDING, CARD_POSTING, NEW, Mention, StormMessage  # noqa: E402
from storage.scratch import scratch_schema  # noqa: E402
from tests.support.fakes.graph_api import FakeGraph  # noqa: E402
from tests.support.fakes.server import Recorded, Response  # noqa: E402
from tests.support.fakes.slack_api import FakeSlack  # noqa: E402

CHANNEL = "C0STORM001"
POST = "Statement on last night's officer-involved shooting at Riverside Park. The officer has been placed on administrative leave while the investigation continues."
URGENT_TARGET, QUESTION_TARGET, MESSAGES_TARGET = 30.0, 120.0, 40
AGENCY = {
    "agency_name": "Riverside Police Department",
    "phone": "(555) 010-2000",
    "website": "https://riverside.example.gov/updates",
}

CRITICISM = [
    "This is a disgrace. That officer should be fired today.",
    "Fire him now. No more excuses from this department.",
    "Absolutely shameful conduct by your officers.",
    "I've lost all trust in this department.",
    "Defund them. This is what our taxes pay for.",
    "Another cover-up in the making.",
    "This statement says nothing. Pathetic PR.",
    "Typical. Protect your own and blame the victim.",
    "Your officers escalated a situation that did not need to escalate.",
    "The chief needs to resign over this.",
    "Paid leave is not a punishment, it is a vacation.",
    "You had years to fix training and did nothing.",
    "The video shows exactly what happened, stop spinning it.",
    "Embarrassing. My city deserves better than this department.",
    "Stop hiding behind 'ongoing investigation'.",
    "Every time something like this happens you post the same empty words.",
    "This department has a pattern and everyone knows it.",
    "Release the full bodycam footage, all of it, unedited.",
    "Accountability now. Not next year, now.",
    "This is why nobody in my neighborhood calls you anymore.",
]
OTHER = [
    "Mike you clearly didn't watch the video before commenting",
    "@Dana that's not what happened and you know it",
    "Sarah stop spreading lies, the man was armed",
    "lol the comments on this post are wild",
    "My thoughts are with the family.",
    "Praying for everyone involved.",
    "Tagging my cousin who lives over there",
    "I can't believe I'm reading this",
    "Here we go again",
    "Some of you need to log off",
    "Read the whole statement before you comment, people",
    "Kevin you weren't even there",
    "This comment section is a dumpster fire",
    "Following for updates",
    "Channel 7 is reporting something different",
    "Everyone calm down and wait for the facts",
    "Both sides are wrong here honestly",
    "I knew him from school, he was a good kid",
]
SUPPORT = [
    "Thank you officers for keeping us safe, ignore the haters",
    "We back the blue 100%. Thank you for your service.",
    "Proud of our police, they did their job.",
    "Thank you for putting out a statement so quickly.",
    "Stay safe out there, we support you.",
]
RHETORICAL = [
    "Why does nobody ever get held accountable?",
    "How many times does this have to happen before something changes?",
    "Who writes these statements? A lawyer?",
    "What happened to serve and protect?",
    "Are you people even listening?",
    "Do you really think anyone believes this?",
]
QUESTIONS = [
    "When will the body camera video be released?",
    "Is the community meeting on Thursday still happening?",
    "Where can I file a complaint about this?",
    "Is Riverside Park open today or is it still closed off?",
    "Which roads are closed near the park right now?",
    "Will there be an independent investigation, and who is running it?",
    "How can I give a witness statement? I saw part of it.",
    "Is the officer on administrative leave?",
    "What is the phone number for the victim's family liaison?",
    "Are the buses still detoured around 5th Street?",
    "When is the next town hall about this?",
    "Can you tell us the name of the detective in charge?",
    "Is school pickup on Elm affected by the closure?",
    "How do I request the incident report?",
    "Is there a hotline for people who were at the park?",
    "Will the city release the 911 call recording?",
    "Is the library on Park Ave open this afternoon?",
    "Where is the vigil being held tonight?",
    "Do I need to avoid the area around 4th and Main this evening?",
    "How do I get my car back from the cordoned area?",
]
URGENT = [
    "There's a man with a gun outside the library on Park Ave right now, please send someone",
    "Someone just got hit by a car at 5th and Pine, he's not moving, please help",
    "My neighbor just told me he is going to kill himself tonight, please send someone to 14 Oak St",
    "House on fire on Birch Lane and there are kids inside",
    "A woman is being attacked in the parking lot behind the station right now",
]
PREFIXES = ["", "", "", "Honestly, ", "Wow. ", "Unreal. ", "Agreed. ", "This. ", "Seriously. "]
SUFFIXES = ["", "", "", "!!", " smh", " 😡", " #justice", ".", " Period.", " 👏"]


@dataclass(frozen=True)
class Comment:
    at: float  # seconds after the start
    text: str
    author: str
    kind: str  # filler | question | urgent


def storm(fillers: int, seconds: float, seed: int = 20) -> list[Comment]:
    """The comments in the order they are posted: fillers with the planted ones among them."""
    rng = random.Random(seed)
    pools = [(CRITICISM, 0.5), (OTHER, 0.25), (SUPPORT, 0.1), (RHETORICAL, 0.15)]
    texts = []
    for _ in range(fillers):
        pool = rng.choices([p for p, _ in pools], [w for _, w in pools])[0]
        texts.append((rng.choice(PREFIXES) + rng.choice(pool) + rng.choice(SUFFIXES), "filler"))
    texts += [(q, "question") for q in QUESTIONS] + [(u, "urgent") for u in URGENT]
    rng.shuffle(texts)
    step = seconds / len(texts)
    return [
        Comment(round(n * step, 3), body, f"Resident {rng.randrange(1, 5000)}", kind)
        for n, (body, kind) in enumerate(texts)
    ]


# -- the child process: the platforms ------------------------------------------------------------


class LiveGraph(FakeGraph):
    """The fake Graph API, with comments added while requests are served."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.feed_lock = threading.Lock()

    def dispatch(self, recorded: Recorded) -> Response:
        with self.feed_lock:
            return super().dispatch(recorded)


def serve_platforms(comments: list[Comment], conn: Connection) -> None:
    """Serve the fakes; on "go", post the comments in real time; answer "status" and "results"."""
    now = datetime.now(UTC)
    graph = LiveGraph(now=now - timedelta(hours=1))
    post = graph.add_post(POST, created_at=now - timedelta(minutes=30))
    slack = FakeSlack()
    slack.enforce_rate_limits(per_channel_per_second=1.0, burst=3, updates_per_minute=50)
    slack.set_channel(CHANNEL, name="twoway-review")
    graph.start()
    slack.start()
    conn.send(
        {
            "FACEBOOK_GRAPH_URL": graph.url,
            "FACEBOOK_PAGE_ID": graph.page["id"],
            "FACEBOOK_PAGE_TOKEN": graph.page_token,
            "SLACK_API_URL": slack.api_url,
            "post_id": post["id"],
        }
    )
    fed: dict[str, tuple[str, float]] = {}  # comment id -> (kind, wall time posted)

    def feed() -> None:
        start = time.time()
        for comment in comments:
            delay = start + comment.at - time.time()
            if delay > 0:
                time.sleep(delay)
            with graph.feed_lock:
                made = graph.add_comment(
                    post, comment.text, author=comment.author, created_at=datetime.now(UTC)
                )
            fed[made["id"]] = (comment.kind, time.time())

    feeder = threading.Thread(target=feed, daemon=True)
    while (message := conn.recv()) != "stop":
        if message == "go":
            feeder.start()
            conn.send(time.time())
        elif message == "status":
            conn.send(len(fed))
        elif message == "results":
            messages = [
                {
                    "ts": float(m.ts),
                    "thread": m.thread_ts,
                    "type": (m.metadata or {}).get("event_type"),
                    "payload": (m.metadata or {}).get("event_payload") or {},
                    "text": m.text
                    if (m.metadata or {}).get("event_type") == "twoway_summary"
                    else m.text[:120],
                    "blocks": m.blocks if (m.metadata or {}).get("event_type") == "twoway_summary" else None,
                }
                for m in slack.messages(CHANNEL)
            ]
            conn.send(
                {
                    "messages": messages,
                    "rate_limited": list(slack.rate_limited),
                    "updates": len(slack.api_calls("chat.update")),
                    "fed": fed,
                    "graph_requests": len(graph.requests),
                }
            )
    graph.stop()
    slack.stop()


# -- TwoWay ---------------------------------------------------------------------------------------


def normal_week(ctx: Any, account_id: int, per_day: int = 40) -> None:
    """A week of ordinary comments on older posts: what the storm is measured against."""
    now = datetime.now(UTC)
    rng = random.Random(7)
    rows = []
    for n in range(7 * per_day):
        at = now - timedelta(minutes=15) - timedelta(seconds=rng.uniform(0, 7 * 86400))
        rows.append(
            {
                "account_id": account_id,
                "platform": "facebook",
                "external_id": f"history-{n}",
                "author_id": f"h{n % 300}",
                "author_handle": "",
                "author_name": f"Neighbour {n % 300}",
                "author_url": "",
                "text": "Thanks for the update",
                "url": "",
                "created_at": at,
                "ingested_at": at + timedelta(minutes=2),
                "conversation_id": f"old-post-{n % 25}",
                "explicit_mention": True,
                "raw": {},
                "state": "replied",
                "urgent": False,
                "reply_status": "manual",
                "card_attempts": 0,
                "category": "compliment",
                "card_status": "posted",
            }
        )
    with ctx.transaction() as session:
        session.execute(insert(Mention), rows)


def backlog(ctx: Any) -> tuple[int, int, int]:
    """(not triaged, cards waiting, storm messages waiting)."""
    with ctx.transaction() as session:
        new = session.scalar(select(text("count(*)")).select_from(Mention).where(Mention.state == NEW)) or 0
        cards = (
            session.scalar(
                select(text("count(*)"))
                .select_from(Mention)
                .where(Mention.card_status.in_((CARD_PENDING, CARD_FAILED, CARD_POSTING)))
            )
            or 0
        )
        messages = (
            session.scalar(
                select(text("count(*)"))
                .select_from(StormMessage)
                .where(StormMessage.status.in_((CARD_PENDING, CARD_FAILED, CARD_POSTING)))
            )
            or 0
        )
    return int(new), int(cards), int(messages)


@contextmanager
def database(postgres: str | None, tmp: str) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{tmp}/storm.db"
        return
    with scratch_schema(postgres, "twoway_storm") as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--comments", type=int, default=975, help="storm comments besides the 25 planted ones"
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll-seconds", type=int, default=10)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--card", type=Path, help="write the summary card's final Block Kit JSON here")
    parser.add_argument(
        "--no-storms", action="store_true", help="storm detection off: one card per comment, for comparison"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    comments = storm(args.comments, args.seconds)
    parent, child = multiprocessing.Pipe()
    platforms = multiprocessing.get_context("spawn").Process(target=serve_platforms, args=(comments, child))
    platforms.start()
    env = parent.recv()
    post_id = env.pop("post_id")
    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, tmp) as url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            DATABASE_URL=url,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET="bench-signing-secret",
            TWOWAY_CHANNEL=CHANNEL,
            TWOWAY_POLL_SECONDS=args.poll_seconds,
            **env,
        )
        ctx = build_context(settings)
        migrate.upgrade(ctx.engine)
        [account] = register_env_accounts(ctx)
        normal_week(ctx, account.id)
        with ctx.transaction() as session:
            for key, value in AGENCY.items():
                stored_settings.put(session, key, value, "bench", datetime.now(UTC))
            if args.no_storms:
                stored_settings.put(session, keys.STORM_THRESHOLD, False, "bench", datetime.now(UTC))
        ctx.slack = make_web_client(settings)
        pacer = ctx.state(Pacer)
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        scheduler = build_scheduler(ctx)
        scheduler.start()
        parent.send("go")
        started = parent.recv()
        done_at = None
        deadline = time.time() + args.seconds + (1800 if args.no_storms else 600)
        while time.time() < deadline:
            time.sleep(1.0)
            parent.send("status")
            fed = parent.recv()
            with ctx.transaction() as session:
                stored = session.scalar(
                    select(text("count(*)")).select_from(Mention).where(Mention.conversation_id == post_id)
                )
            if fed == len(comments) and stored == len(comments) and backlog(ctx) == (0, 0, 0):
                done_at = done_at or time.time()
                if time.time() - done_at > 12:  # room for the last coalesced redraw
                    break
            else:
                done_at = None
        scheduler.shutdown(wait=True)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        parent.send("results")
        results = parent.recv()
        parent.send("stop")
        platforms.join(30)
        report = judge(ctx, results, started, post_id, comments)
        if args.card:
            summary = next(m for m in results["messages"] if m["type"] == "twoway_summary")
            card = {"text": summary["text"], "blocks": summary["blocks"], "metadata": summary["payload"]}
            args.card.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        cpu = (usage.ru_utime - usage0.ru_utime) + (usage.ru_stime - usage0.ru_stime)
        print(f"database: {ctx.engine.url.get_backend_name()}, poll every {args.poll_seconds} s")
        print(f"TwoWay CPU during the storm: {cpu:.1f} s; peak RSS {usage.ru_maxrss / 1024:.0f} MB")
        print(f"time the pacer waited for Slack's per-channel rate: {pacer.waited:.1f} s")
        ctx.engine.dispose()
    return 0 if report else 1


def judge(ctx: Any, results: dict[str, Any], started: float, post_id: str, comments: list[Comment]) -> bool:
    fed: dict[str, tuple[str, float]] = results["fed"]
    messages = results["messages"]
    with ctx.transaction() as session:
        rows = list(session.scalars(select(Mention).where(Mention.conversation_id == post_id)))
    by_external = {m.external_id: m for m in rows}
    cards = {int(m["payload"]["mention_id"]): m["ts"] for m in messages if m["type"] == "twoway_card"}
    latencies: dict[str, list[float]] = {"urgent": [], "question": []}
    missing: dict[str, int] = {"urgent": 0, "question": 0}
    for external_id, (kind, _) in fed.items():
        if kind == "filler":
            continue
        mention = by_external.get(external_id)
        ts = cards.get(mention.id) if mention is not None else None
        if mention is None or ts is None:
            missing[kind] += 1
            continue
        latencies[kind].append(ts - mention.ingested_at.timestamp())
    own_fillers = sum(1 for m in rows if m.id in cards and fed.get(m.external_id, ("", 0))[0] == "filler")
    summaries = [m for m in messages if m["type"] == "twoway_summary"]
    notices = [m for m in messages if m["type"] == "twoway_storm"]
    storm_started = min((m["ts"] for m in notices), default=None)
    tz = ZoneInfo("UTC")
    today = datetime.now(UTC).date()
    start, end = day_bounds(today - timedelta(days=1), today + timedelta(days=1), tz)
    exported = {r["external_id"] for r in records(ctx.sessions, start, end)}
    lost = len(set(fed) - exported)
    gathered = sum(1 for m in rows if m.card_status == "summary")
    print(
        f"comments posted: {len(fed)} over {max(t for _, t in fed.values()) - started:.0f} s; stored: {len(rows)}"
    )
    print(
        f"Slack messages in the channel: {len(messages)} (cards {len(cards)}, of them {own_fillers} for posts "
        f"that were not planted; storm notices {len(notices)}; summary cards {len(summaries)}); "
        f"summary redraws (chat.update): {results['updates']}; Slack 429 answers: {len(results['rate_limited'])}"
    )
    print(
        f"gathered on the summary card: {gathered}; storm notice {storm_started - started:.1f} s after the first comment"
        if storm_started
        else "no storm detected"
    )
    ok = True
    for kind, target in (("urgent", URGENT_TARGET), ("question", QUESTION_TARGET)):
        values = sorted(latencies[kind])
        verdict = "OK" if values and not missing[kind] and values[-1] <= target else "MISSED"
        ok &= verdict == "OK"
        if values:
            print(
                f"ingest -> card, {kind}: {len(values)} carded, {missing[kind]} without a card; "
                f"median {statistics.median(values):.1f} s, max {values[-1]:.1f} s (target {target:.0f} s) {verdict}"
            )
        else:
            print(f"ingest -> card, {kind}: none carded, {missing[kind]} without a card MISSED")
    verdict = "OK" if len(messages) <= MESSAGES_TARGET else "MISSED"
    ok &= verdict == "OK"
    print(f"messages for the storm: {len(messages)} (target <= {MESSAGES_TARGET}) {verdict}")
    verdict = "OK" if lost == 0 else "MISSED"
    ok &= lost == 0
    print(f"mentions missing from the export: {lost} of {len(fed)} {verdict}")
    print(f"Graph requests: {results['graph_requests']}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
