"""Every platform, end to end through the documented contract: `twoway run` as its own process,
configured by environment variables alone, against fake X, Graph (Facebook and Instagram),
Threads, Bluesky and Slack servers. Each platform's mention becomes a card; an officer's signed
click on `send_reply:1` posts exactly one public reply on that platform (a second click posts
nothing); `twoway export` lists every item with its reply; no secret reaches the log.
"""

from __future__ import annotations

import copy
import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support.fakes.bluesky_api import FakeBluesky
from tests.support.fakes.instagram_api import FakeInstagram
from tests.support.fakes.slack_api import FakeSlack, Message
from tests.support.fakes.threads_api import FakeThreads
from tests.support.fakes.x_api import FakeX
from tests.support.process import free_port, healthy, wait_for
from tests.support.signed import SlackSender, find_element

CHANNEL = "C0REVIEW01"
ADMIN, OFFICER = "U0ADMIN001", "U0OFFICER1"
SIGNING_SECRET = "e2e-signing-secret-0123456789"
SECRETS = (
    "xoxb-e2e-bot-token-123",
    SIGNING_SECRET,
    "x-api-secret",
    "fb-page-token",
    "th-e2e-threads-token",
    "e2e-bsky-app-pass",
)
QUESTIONS = {
    "x": "How do I get a copy of the police report for my stolen car?",
    "facebook": "What time does coffee with a cop start? Can I bring my kids?",
    "instagram": "Where is the K9 demo this weekend?",
    "threads": "Is the bridge on 5th open again?",
    "bluesky": "Who do I call about a noise complaint at night?",
}


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC)
    slack = FakeSlack()
    x = FakeX(now=now - timedelta(minutes=10))
    graph = FakeInstagram(now=now - timedelta(minutes=10))
    threads = FakeThreads(now=now - timedelta(minutes=10), token=SECRETS[4])
    bluesky = FakeBluesky(now=now - timedelta(minutes=10), app_password=SECRETS[5])
    fakes = (slack, x, graph, threads, bluesky)
    for fake in fakes:
        fake.start()
    slack.set_channel(CHANNEL, name="community-replies")
    for user in (ADMIN, OFFICER):
        slack.add_user(user, name=user.lower())
    x.add_mention(QUESTIONS["x"], author="carowner")
    graph.add_comment(
        graph.add_post("Coffee with a cop this Saturday."), QUESTIONS["facebook"], author="Maria Lopez"
    )
    graph.add_ig_comment(graph.add_media("Meet Rex, our K9"), QUESTIONS["instagram"], username="kim.lee")
    threads.add_reply(
        threads.add_post("Road work on 5th this week."), QUESTIONS["threads"], username="sam.roe"
    )
    bluesky.add_reply(
        bluesky.add_post("Quiet hours start at 10pm."), QUESTIONS["bluesky"], handle="ana.bsky.social"
    )

    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "INSTAGRAM_", "THREADS_", "BLUESKY_", "TWOWAY_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=SECRETS[0],
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        PORT=str(port),
        TWOWAY_CHANNEL=CHANNEL,
        TWOWAY_ADMINS=ADMIN,
        TWOWAY_SECRET_KEY="e2e-secret-key-0123456789",
        TWOWAY_POLL_SECONDS="10",
        X_API_URL=x.url,
        X_API_KEY=x.user_credentials["api_key"],
        X_API_SECRET=x.user_credentials["api_secret"],
        X_ACCESS_TOKEN=x.user_credentials["access_token"],
        X_ACCESS_TOKEN_SECRET=x.user_credentials["access_token_secret"],
        FACEBOOK_GRAPH_URL=graph.url,
        FACEBOOK_PAGE_ID=graph.page["id"],
        FACEBOOK_PAGE_TOKEN=graph.page_token,
        INSTAGRAM_ACCOUNT_ID=graph.ig["id"],
        THREADS_API_URL=threads.url,
        THREADS_USER_ID=threads.profile["id"],
        THREADS_TOKEN=threads.token,
        BLUESKY_SERVICE_URL=bluesky.url,
        BLUESKY_HANDLE=bluesky.handle,
        BLUESKY_APP_PASSWORD=bluesky.app_password,
        LOG_LEVEL="DEBUG",
    )
    log = (tmp_path / "twoway.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("the app to listen", lambda: healthy(base, process), timeout=60)
        yield {
            "slack": slack, "x": x, "graph": graph, "threads": threads, "bluesky": bluesky, "env": env,
            "sender": SlackSender(base, SIGNING_SECRET, slack.response_url_base), "process": process,
            "log": log, "tmp": tmp_path,
        }  # fmt: skip
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for fake in fakes:
            fake.stop()
        log.close()


def _cards(slack: FakeSlack) -> list[Message]:
    return [
        m
        for m in slack.messages(CHANNEL, top_level=True)
        if (m.metadata or {}).get("event_type") == "twoway_card"
    ]


def _card_for(slack: FakeSlack, words: str) -> Message:
    for card in _cards(slack):
        if words in str(card.blocks):
            return copy.deepcopy(slack.message(CHANNEL, card.ts))
    raise AssertionError(f"no card shows {words!r}")


def _send_first_draft(sender: SlackSender, card: Message) -> None:
    block_id, button = find_element(card.blocks, "send_reply:1")
    answer = sender.click(
        "send_reply:1", user_id=OFFICER, channel=CHANNEL, message_ts=card.ts, block_id=block_id, value=button["value"],
        message={"type": "message", "ts": card.ts, "text": card.text, "blocks": card.blocks},
    )  # fmt: skip
    assert answer.status == 200


def test_every_platforms_mention_gets_a_card_one_reply_and_a_line_in_the_export(
    world: dict[str, Any],
) -> None:
    slack, sender = world["slack"], world["sender"]
    x, graph, threads, bluesky = world["x"], world["graph"], world["threads"], world["bluesky"]
    replies = {
        "x": lambda: x.replies,
        "facebook": lambda: graph.comment_replies,
        "instagram": lambda: graph.ig_replies,
        "threads": lambda: threads.published,
        "bluesky": lambda: bluesky.posted,
    }

    wait_for("a card per platform", lambda: len(_cards(slack)) >= 5, timeout=90)
    time.sleep(1)
    assert len(_cards(slack)) == 5
    assert (
        sender.command(f"role <@{OFFICER}|officer> officer", user_id=ADMIN, channel_id=CHANNEL).status == 200
    )

    for platform, words in QUESTIONS.items():
        card = _card_for(slack, words)
        _send_first_draft(sender, card)
        wait_for(f"the reply on {platform}", replies[platform], timeout=30)
        _send_first_draft(sender, card)  # a double click, or a stale copy of the card
    time.sleep(1.5)
    assert {p: len(found()) for p, found in replies.items()} == dict.fromkeys(QUESTIONS, 1)
    wait_for(
        "every card to say it was replied", lambda: all("Replied" in str(c.blocks) for c in _cards(slack))
    )
    reply = bluesky.posted[0]["record"]["reply"]
    assert reply["parent"]["uri"] != reply["root"]["uri"]  # a reply to a reply names the thread's root
    assert len(bluesky.logins) == 1, "one Bluesky login for the whole run: the session is reused"

    process = world["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    today = datetime.now(UTC).date()
    out = world["tmp"] / "export.csv"
    exported = subprocess.run(
        [sys.executable, "-m", "bot", "export", "--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1)), "--out", str(out)],
        cwd=world["tmp"], env=world["env"], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    with out.open(newline="") as handle:
        rows = {r["platform"]: r for r in csv.DictReader(handle)}
    assert set(rows) == set(QUESTIONS)
    for platform, words in QUESTIONS.items():
        assert rows[platform]["text_as_ingested"].endswith(words)
        assert rows[platform]["platform_reply_id"], platform
        assert rows[platform]["approved_by"] == OFFICER
    printed = Path(world["log"].name).read_text()
    for secret in SECRETS:
        assert secret not in printed, "a secret reached the log"
