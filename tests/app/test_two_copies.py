"""Several copies of `twoway run` at once, as a rolling deploy and a crash make them.

Three real `twoway run` processes share one PostgreSQL database and the fake Slack, X and Graph
servers: A starts, B starts beside it (a new release), A stops, C starts, B is killed with
SIGKILL in the middle of its work. Throughout, every mention must be stored once and carded
once, a click sent to two copies at once must post one reply, and every SLA notice, digest and
account alert must appear once. On SQLite a second copy is refused at start.
"""

from __future__ import annotations

import collections
import copy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage import keys, settings
from storage.models import Mention, SlaNotice
from tests.conftest import BACKENDS
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.slack_api import FakeSlack, Message
from tests.support.fakes.x_api import FakeX
from tests.support.process import clean_env, free_port, healthy, wait_for
from tests.support.signed import SlackSender, find_element

CHANNEL = "C0REVIEW01"
OFFICER = "U0OFFICER1"
SIGNING_SECRET = "copies-signing-secret-0123456789"
LEADS = "this process runs the scheduler"
STANDS_BY = "another copy runs the scheduler"


@dataclass
class Copy:
    """One `twoway run` process and what it printed."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    log_path: Path
    log: TextIO
    sender: SlackSender

    def printed(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def leads(self) -> bool:
        return LEADS in self.printed()


@dataclass
class Deployment:
    tmp: Path
    env: dict[str, str]
    slack: FakeSlack
    response_base: str
    copies: list[Copy] = field(default_factory=list)

    def start(self, name: str) -> Copy:
        port = free_port()
        log_path = self.tmp / f"{name}.log"
        log = log_path.open("w+", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=self.tmp,
            env={**self.env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        one = Copy(name, process, base, log_path, log, SlackSender(base, SIGNING_SECRET, self.response_base))
        self.copies.append(one)
        wait_for(f"copy {name} to serve Slack", lambda: healthy(base, process), timeout=60)
        return one

    def stop_all(self) -> None:
        for one in self.copies:
            if one.process.poll() is None:
                one.process.send_signal(signal.SIGTERM)
                try:
                    one.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    one.process.kill()
                    one.process.wait()
            one.log.close()


def _env(db_url: str, slack: FakeSlack, x: FakeX, graph: FakeGraph) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN="xoxb-copies-bot-token-123",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        TWOWAY_CHANNEL=CHANNEL,
        TWOWAY_ADMINS=OFFICER,
        TWOWAY_SECRET_KEY="copies-secret-key-0123456789",
        TWOWAY_POLL_SECONDS="10",
        TWOWAY_SWEEP_SECONDS="1",
        TWOWAY_TAKEOVER_SECONDS="1",
        X_API_URL=x.url,
        X_BEARER_TOKEN=x.bearer_token,
        X_API_KEY=x.user_credentials["api_key"],
        X_API_SECRET=x.user_credentials["api_secret"],
        X_ACCESS_TOKEN=x.user_credentials["access_token"],
        X_ACCESS_TOKEN_SECRET=x.user_credentials["access_token_secret"],
        FACEBOOK_GRAPH_URL=graph.url,
        FACEBOOK_PAGE_ID=graph.page["id"],
        FACEBOOK_PAGE_TOKEN=graph.page_token,
        LOG_LEVEL="INFO",
    )


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeX, FakeGraph]]:
    now = datetime.now(UTC)
    slack, x, graph = (
        FakeSlack(),
        FakeX(now=now - timedelta(minutes=10)),
        FakeGraph(now=now - timedelta(minutes=10)),
    )
    for fake in (slack, x, graph):
        fake.start()
    slack.set_channel(CHANNEL, name="community-replies")
    slack.add_user(OFFICER, name="officer")
    try:
        yield slack, x, graph
    finally:
        for fake in (slack, x, graph):
            fake.stop()


def _by_type(slack: FakeSlack, event_type: str) -> list[Message]:
    return [m for m in slack.messages(CHANNEL) if (m.metadata or {}).get("event_type") == event_type]


def _payload(message: Message) -> dict[str, Any]:
    return dict((message.metadata or {}).get("event_payload") or {})


def _cards(slack: FakeSlack) -> list[Message]:
    return _by_type(slack, "twoway_card")


def _card_for(slack: FakeSlack, words: str) -> Message:
    for card in _cards(slack):
        if words in str(card.blocks):
            return copy.deepcopy(slack.message(CHANNEL, card.ts))
    raise AssertionError(f"no card shows {words!r}")


def _send_first_draft(sender: SlackSender, card: Message) -> Any:
    block_id, button = find_element(card.blocks, "send_reply:1")
    return sender.click(
        "send_reply:1",
        user_id=OFFICER,
        channel=CHANNEL,
        message_ts=card.ts,
        block_id=block_id,
        value=button["value"],
        message={"type": "message", "ts": card.ts, "text": card.text, "blocks": card.blocks},
    )


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Mention)) or 0)


def _notice_rows(engine: Engine) -> list[tuple[int, str, str | None]]:
    with engine.connect() as connection:
        return [(r.mention_id, r.kind, r.ts) for r in connection.execute(select(SlaNotice))]


def _why_not_chased(engine: Engine) -> str:
    """What the database holds, for a failure message: which items and notices are where."""
    with engine.connect() as connection:
        items = [
            (m.id, m.state, m.card_status, bool(m.card_ts), m.reply_status, m.category)
            for m in connection.execute(select(Mention))
        ]
    return f"items (id, state, card, card ts, reply, category): {items}; notices: {_notice_rows(engine)}"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_copies_started_stopped_and_killed_post_everything_once(
    tmp_path: Path, db_url: str, engine: Engine, fakes: tuple[FakeSlack, FakeX, FakeGraph]
) -> None:
    slack, x, graph = fakes
    with Session(engine) as session, session.begin():
        now = datetime.now(UTC)
        for category in ("urgent", "question", "criticism", "compliment", "other"):
            settings.put(session, keys.sla(category), 3, by="test", now=now)  # 3 s, escalation at 6 s
        settings.put(session, keys.DIGEST_DAILY, {"time": "00:00"}, by="test", now=now)  # due now
        settings.put(session, keys.DIGEST_WEEKLY, False, by="test", now=now)

    x.add_mention("How do I get a copy of the police report for my stolen car?", author="carowner")
    x.add_mention("Thank you to the officers who helped my dad after his fall today.", author="grateful")
    post = graph.add_post("Coffee with a cop this Saturday at the library.")
    graph.add_comment(post, "What time does it start? Can I bring my kids?", author="Maria Lopez")
    seeded = 3

    deploy = Deployment(tmp_path, _env(db_url, slack, x, graph), slack, slack.response_url_base)
    try:
        # The running release, then the new one beside it: one scheduler between them.
        a = deploy.start("a")
        wait_for("A to run the scheduler", a.leads, timeout=30)
        b = deploy.start("b")
        wait_for("B to stand by", lambda: STANDS_BY in b.printed(), timeout=30)
        wait_for("a card per mention", lambda: len(_cards(slack)) >= seeded, timeout=60)

        # One click delivered to both copies at the same moment: one public reply.
        card = _card_for(slack, "police report")
        clicks = [threading.Thread(target=_send_first_draft, args=(one.sender, card)) for one in (a, b)]
        for click in clicks:
            click.start()
        for click in clicks:
            click.join()
        wait_for("the reply on X", lambda: x.replies, timeout=30)

        # The old release stops: B takes over the scheduler.
        a.process.send_signal(signal.SIGTERM)
        assert a.process.wait(timeout=30) == 0
        wait_for("B to take over", b.leads, timeout=15)
        c = deploy.start("c")
        wait_for("C to stand by", lambda: STANDS_BY in c.printed(), timeout=30)
        assert not c.leads()

        # New mentions; B is killed the moment it has stored them, before it can finish with them.
        x.add_mention("Where do I pick up my car from the impound lot?", author="driver22")
        x.add_mention("Is the station lobby open on Sunday?", author="sundaywalker")
        seeded += 2
        wait_for("B to store the new mentions", lambda: _stored(engine) >= seeded, timeout=30, every=0.02)
        b.process.send_signal(signal.SIGKILL)
        b.process.wait(timeout=10)
        wait_for("C to take over after the kill", c.leads, timeout=15)

        # The standby that took over finishes B's work; a click on it replies once.
        wait_for("cards for the new mentions", lambda: len(_cards(slack)) >= seeded, timeout=60)
        _send_first_draft(c.sender, _card_for(slack, "impound lot"))
        wait_for("the second reply on X", lambda: len(x.replies) >= 2, timeout=30)

        # The Page's token is revoked: one alert for the admins.
        graph.revoke()
        wait_for("the account alert", lambda: _by_type(slack, "twoway_account_alert"), timeout=60)
        wait_for("the daily digest", lambda: _by_type(slack, "twoway_digest"), timeout=30)

        def notices_settled() -> bool:
            # Every open item is escalated at twice its SLA; its reminder comes first unless its card
            # reached Slack after that (a slow machine): an item first seen that late gets only the
            # escalation, by design.
            rows = _notice_rows(engine)
            escalated = {m for m, kind, _ts in rows if kind == "escalation"}
            open_items = seeded - 2  # two were answered
            return len(escalated) >= open_items and all(ts for _m, _k, ts in rows)

        try:
            wait_for("reminders and escalations", notices_settled, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {_why_not_chased(engine)}") from None
        time.sleep(3)  # more sweeps, by whichever copy: nothing may be posted again
    finally:
        deploy.stop_all()

    with engine.connect() as connection:
        stored = list(connection.execute(select(Mention.platform, Mention.external_id)))
    assert len(stored) == len(set(stored)) == seeded

    cards = collections.Counter(_payload(m)["mention_id"] for m in _cards(slack))
    assert len(cards) == seeded
    assert set(cards.values()) == {1}, f"a mention carded twice: {cards}"

    assert len(x.replies) == 2
    assert len({r["reply"]["in_reply_to_tweet_id"] for r in x.replies}) == 2

    posted_notices = collections.Counter(
        (_payload(m)["mention_id"], _payload(m)["kind"]) for m in _by_type(slack, "twoway_sla_notice")
    )
    assert posted_notices, "no SLA notice was posted"
    assert set(posted_notices.values()) == {1}, f"a notice posted twice: {posted_notices}"
    assert set(posted_notices) == {(m, k) for m, k, _ts in _notice_rows(engine)}

    digests = collections.Counter(
        (_payload(m)["kind"], _payload(m)["period"]) for m in _by_type(slack, "twoway_digest")
    )
    assert list(digests.values()) == [1]
    alerts = _by_type(slack, "twoway_account_alert")
    assert len(alerts) == 1

    # Who ran the scheduler, in order: A, then B after A stopped, then C after B was killed.
    a_log, b_log, c_log = (one.printed() for one in deploy.copies)
    assert a_log.count(LEADS) == 1
    assert STANDS_BY not in a_log
    assert b_log.count(LEADS) == 1
    assert b_log.index(STANDS_BY) < b_log.index(LEADS)
    assert c_log.count(LEADS) == 1
    assert c_log.index(STANDS_BY) < c_log.index(LEADS)
    for printed in (a_log, b_log, c_log):
        assert "copies-secret-key" not in printed
        assert "xoxb-copies" not in printed


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_second_copy_on_sqlite_is_refused_until_the_first_is_gone(
    tmp_path: Path, db_url: str, fakes: tuple[FakeSlack, FakeX, FakeGraph]
) -> None:
    slack, x, graph = fakes
    env = _env(db_url, slack, x, graph)
    deploy = Deployment(tmp_path, env, slack, slack.response_url_base)
    try:
        first = deploy.start("first")
        refused = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env={**env, "PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        [line] = [line for line in refused.stderr.splitlines() if line.strip()]
        assert line.startswith("twoway: another copy of TwoWay is already running on the SQLite database")
        assert f"pid {first.process.pid}" in line
        assert "Traceback" not in refused.stderr

        first.process.send_signal(signal.SIGKILL)  # however it ends, the file lock goes with it
        first.process.wait(timeout=10)
        second = deploy.start("second")
        wait_for("the new copy to run the scheduler", second.leads, timeout=30)
    finally:
        deploy.stop_all()
