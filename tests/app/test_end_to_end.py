"""The whole loop, driven only through TwoWay's documented contract.

`twoway run` starts as its own process, configured by environment variables alone, against fake
Slack, X and Graph API servers. Mentions polled from X and Facebook must appear as cards; an admin
grants a role with `/twoway`; an officer's signed click on `send_reply:1` must post exactly one
public reply; and no secret may appear in anything the process printed.
"""

from __future__ import annotations

import copy
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
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.slack_api import FakeSlack, Message
from tests.support.fakes.x_api import FakeX
from tests.support.process import free_port, healthy, wait_for
from tests.support.signed import SlackSender, find_element

CHANNEL = "C0REVIEW01"
ADMIN, OFFICER, STRANGER = "U0ADMIN001", "U0OFFICER1", "U0STRANGER"
SIGNING_SECRET = "e2e-signing-secret-0123456789"
SECRETS = ("xoxb-e2e-bot-token-123", SIGNING_SECRET, "x-bearer-token", "x-api-secret", "fb-page-token")


@pytest.fixture
def world(tmp_path: Path, backend: str, db_url: str) -> Iterator[dict[str, Any]]:
    """Fakes seeded with fresh mentions, and `twoway run` pointed at them."""
    now = datetime.now(UTC)
    slack, x, graph = (
        FakeSlack(),
        FakeX(now=now - timedelta(minutes=10)),
        FakeGraph(now=now - timedelta(minutes=10)),
    )
    for fake in (slack, x, graph):
        fake.start()
    slack.set_channel(CHANNEL, name="community-replies")
    for user in (ADMIN, OFFICER, STRANGER):
        slack.add_user(user, name=user.lower())
    x.add_mention(
        "Thank you to the officers who helped my dad after his fall today. You were so kind.",
        author="grateful_son",
    )
    x.add_mention("How do I get a copy of the police report for my stolen car?", author="carowner")
    x.add_mention("Where do I pick up my car from the impound lot?", author="driver22")
    post = graph.add_post("Join us for coffee with a cop this Saturday at the library.")
    graph.add_comment(post, "What time does it start? Can I bring my kids?", author="Maria Lopez")

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "TWOWAY_"))}
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
        X_BEARER_TOKEN=x.bearer_token,
        X_API_KEY=x.user_credentials["api_key"],
        X_API_SECRET=x.user_credentials["api_secret"],
        X_ACCESS_TOKEN=x.user_credentials["access_token"],
        X_ACCESS_TOKEN_SECRET=x.user_credentials["access_token_secret"],
        FACEBOOK_GRAPH_URL=graph.url,
        FACEBOOK_PAGE_ID=graph.page["id"],
        FACEBOOK_PAGE_TOKEN=graph.page_token,
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
            "slack": slack,
            "x": x,
            "graph": graph,
            "sender": SlackSender(base, SIGNING_SECRET, slack.response_url_base),
            "process": process,
            "log": log,
        }
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for fake in (slack, x, graph):
            fake.stop()
        log.close()


def _cards(slack: FakeSlack) -> list[Message]:
    return [
        m
        for m in slack.messages(CHANNEL, top_level=True)
        if (m.metadata or {}).get("event_type") == "twoway_card"
    ]


def _card_for(slack: FakeSlack, words: str) -> Message:
    """A snapshot of the card as Slack shows it now (later clicks may come from a stale copy)."""
    for card in _cards(slack):
        if words in str(card.blocks):
            return copy.deepcopy(slack.message(CHANNEL, card.ts))
    raise AssertionError(f"no card shows {words!r}")


def _send_first_draft(sender: SlackSender, card: Message, user: str) -> Any:
    block_id, button = find_element(card.blocks, "send_reply:1")
    return sender.click(
        "send_reply:1",
        user_id=user,
        channel=CHANNEL,
        message_ts=card.ts,
        block_id=block_id,
        value=button["value"],
        message={"type": "message", "ts": card.ts, "text": card.text, "blocks": card.blocks},
    )


def test_mentions_become_cards_and_one_click_replies_publicly(world: dict[str, Any]) -> None:
    slack, x, graph, sender = world["slack"], world["x"], world["graph"], world["sender"]

    wait_for("a card per mention", lambda: len(_cards(slack)) >= 4)
    time.sleep(1)  # a second poll cycle must not add cards
    assert len(_cards(slack)) == 4

    granted = sender.command(f"role <@{OFFICER}|officer> officer", user_id=ADMIN, channel_id=CHANNEL)
    assert granted.status == 200

    # Someone without a role is refused on the server, and nothing is posted.
    x_card = _card_for(slack, "police report")
    refused = _send_first_draft(sender, x_card, STRANGER)
    assert refused.status == 200
    time.sleep(1)
    assert x.replies == []

    assert _send_first_draft(sender, x_card, OFFICER).status == 200
    wait_for("the reply on X", lambda: x.replies)
    question = next(t for t in x.tweets.values() if "police report" in t["text"])
    assert len(x.replies) == 1
    assert x.replies[0]["reply"]["in_reply_to_tweet_id"] == question["id"]
    wait_for("the card to show who sent it", lambda: OFFICER in str(slack.message(CHANNEL, x_card.ts).blocks))
    assert "send_reply:1" not in str(slack.message(CHANNEL, x_card.ts).blocks)

    # A second click on the same card (a double-click, another officer) posts nothing more.
    _send_first_draft(sender, x_card, OFFICER)
    time.sleep(1)
    assert len(x.replies) == 1

    # Another question on X, and the same one-click draft: X refuses a repeated text, so the
    # drafts must not repeat what went to the first person.
    _send_first_draft(sender, _card_for(slack, "impound lot"), OFFICER)
    wait_for("the second reply on X", lambda: len(x.replies) == 2)
    assert x.replies[0]["text"] != x.replies[1]["text"]

    fb_card = _card_for(slack, "What time does it start")
    _send_first_draft(sender, fb_card, OFFICER)
    wait_for("the reply on Facebook", lambda: graph.comment_replies)
    assert len(graph.comment_replies) == 1

    process = world["process"]
    process.send_signal(signal.SIGTERM)  # how a hosting platform stops a process
    assert process.wait(timeout=30) == 0
    printed = Path(world["log"].name).read_text()
    assert "bot.app.run: stopped" in printed  # the orderly shutdown ran
    for secret in SECRETS:
        assert secret not in printed, "a secret reached the log"
