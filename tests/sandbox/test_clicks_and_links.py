"""Clicks and links on the page as Slack treats them, against the simulated workspace alone.

The sandbox runs here without TwoWay: a fake `/slack/events` (tests/support) records what the
relay sends, and TwoWay's own messages are posted and updated with slack-sdk's real WebClient.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
import requests
from slack_sdk import WebClient

from bot.review.blocks import CardView, hide_button
from bot.sandbox.mrkdwn import EMOJI, render
from bot.sandbox.server import Sandbox
from bot.sandbox.slack import CHANNEL, Message
from tests.conftest import REPO
from tests.support.fakes.server import FakeServer, Recorded, Response

OFFICER = "U0REYES001"
DISMISS_CONFIRM = {
    "title": {"type": "plain_text", "text": "Dismiss the rest?"},
    "text": {"type": "plain_text", "text": "The 812 open posts gathered on this card are marked."},
    "confirm": {"type": "plain_text", "text": "Dismiss them"},
    "deny": {"type": "plain_text", "text": "Cancel"},
}


class FakeTwoWay(FakeServer):
    """TwoWay's `/slack/events`: answers every request with an empty 200, as an ack does."""

    def __init__(self) -> None:
        super().__init__()
        self.route("POST", "/slack/events", lambda request, match: Response(200, ""))

    def actions(self) -> list[dict[str, Any]]:
        return [a for r in self.requests for a in json.loads(_payload(r))["actions"]]


def _payload(request: Recorded) -> str:
    return request.form["payload"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox.bind(0)
    running.start(every=0)
    yield running
    running.stop()


@pytest.fixture
def twoway(sandbox: Sandbox) -> Iterator[FakeTwoWay]:
    with FakeTwoWay() as fake:
        sandbox.relay.events_url = f"{fake.url}/slack/events"
        yield fake


def storm_card(block_id: str) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": ":cyclone: Storm on X"}},
        {
            "type": "actions",
            "block_id": block_id,
            "elements": [
                {
                    "type": "button",
                    "action_id": "storm_queue",
                    "text": {"type": "plain_text", "text": "Open the queue"},
                }
            ],
        },
    ]


def test_a_click_on_a_card_drawn_before_its_update_reaches_twoway_as_shown(
    sandbox: Sandbox, twoway: FakeTwoWay
) -> None:
    client = WebClient(token=sandbox.slack.token, base_url=sandbox.slack.api_url)
    posted = client.chat_postMessage(channel=CHANNEL, text="Storm", blocks=storm_card("s:7:100"))
    ts = str(posted["ts"])
    client.chat_update(channel=CHANNEL, ts=ts, text="Storm", blocks=storm_card("s:7:200"))

    outcome = sandbox.relay.click(OFFICER, CHANNEL, ts, "s:7:100", "storm_queue", None)

    assert outcome.ok, outcome.notice
    assert [(a["block_id"], a["action_id"]) for a in twoway.actions()] == [("s:7:100", "storm_queue")]


def test_a_block_the_message_never_had_is_still_refused(sandbox: Sandbox, twoway: FakeTwoWay) -> None:
    client = WebClient(token=sandbox.slack.token, base_url=sandbox.slack.api_url)
    ts = str(client.chat_postMessage(channel=CHANNEL, text="Storm", blocks=storm_card("s:7:100"))["ts"])

    outcome = sandbox.relay.click(OFFICER, CHANNEL, ts, "s:7:999", "storm_queue", None)

    assert not outcome.ok
    assert outcome.notice == "Nothing to click there."
    assert twoway.requests == []


@pytest.mark.parametrize(
    ("query", "referer", "page"),
    [
        ({"as": "supervisor"}, None, "/?as=supervisor"),
        ({}, "/?as=admin", "/?as=admin"),  # a link opened from the admin's page
        ({"as": "nobody"}, None, "/"),
    ],
)
def test_a_permalink_opens_the_card_as_the_same_person(
    sandbox: Sandbox, query: dict[str, str], referer: str | None, page: str
) -> None:
    headers = {"Referer": f"{sandbox.url}{referer}"} if referer else {}
    answer = requests.get(
        f"{sandbox.url}/archives/{CHANNEL}/p1700000000000100",
        params=query,
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{page}#m-{CHANNEL}-1700000000-000100"


def test_confirm_objects_are_rendered_as_slack_shows_them(sandbox: Sandbox) -> None:
    view = cast(CardView, SimpleNamespace(platform="facebook", mention_id=12))  # all hide_button reads
    dismiss = {
        "type": "static_select",
        "action_id": "storm_dismiss",
        "placeholder": {"type": "plain_text", "text": "Dismiss the rest…"},
        "options": [{"text": {"type": "plain_text", "text": "Spam"}, "value": "spam"}],
        "confirm": DISMISS_CONFIRM,
    }
    blocks = [{"type": "actions", "block_id": "b1", "elements": [hide_button(view), dismiss]}]
    shown = sandbox.renderer.message(Message(CHANNEL, "1700000000.000100", "card", blocks), OFFICER)

    dialogs = re.findall(r'<template class="confirm">(.*?)</template>', shown, re.S)
    assert len(dialogs) == 2
    hide, rest = dialogs
    assert "Hide it from the public?" in hide
    assert "Only its author and their friends will still see it on Facebook" in hide
    assert re.search(r'data-answer="no">Cancel<', hide)
    assert re.search(r'data-answer="yes">Hide<', hide)
    assert "Dismiss the rest?" in rest
    assert re.search(r'data-answer="yes">Dismiss them<', rest)
    # Each dialog follows the element it guards, which is how the page's script finds it.
    assert re.search(r'data-action="hide[^"]*"[^>]*>Hide</button>\s*<template class="confirm">', shown)
    assert re.search(r'data-action="storm_dismiss".*?</select>\s*<template class="confirm">', shown, re.S)


def test_links_carry_no_address_a_browser_could_open() -> None:
    shown = str(render("<https://x.com/jane/status/1|Open on X> · <mailto:a@b.example|mail>"))
    assert re.findall(r'href="([^"]*)"', shown) == ["#", "#"]
    assert 'data-url="https://x.com/jane/status/1"' in shown


def twoway_emoji_codes() -> set[str]:
    """Every `:name:` in the code that writes TwoWay's messages."""
    codes: set[str] = set()
    for folder in ("review", "supervision", "intake", "admin", "slack", "app"):
        for path in (REPO / "bot" / folder).rglob("*.py"):
            codes |= set(re.findall(r":([a-z][a-z0-9_+-]*):", path.read_text()))
    return codes


def test_every_emoji_code_twoway_writes_shows_as_an_emoji() -> None:
    codes = twoway_emoji_codes()
    assert {"cyclone", "grey_question", "see_no_evil"} <= codes  # the scan does find them
    assert sorted(codes - EMOJI.keys()) == []
    assert str(render(":cyclone: Storm on X")) == "🌀 Storm on X"
