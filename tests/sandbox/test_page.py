"""The page's own endpoints, without a browser: what its script sends and what it is sent back.

These run on any machine (the browser tests need Chromium): clicks go through the relay as signed
requests, only ids travel from the page, and another site cannot drive the sandbox.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import requests

from tests.sandbox.conftest import RunningSandbox
from tests.support.process import wait_for

JSON = {"Content-Type": "application/json"}


def card_html(sandbox: RunningSandbox, author: str, role: str = "officer") -> str | None:
    channel = sandbox.fragments(role)["conversations"]["C0SANDBOX1"]
    for article in re.findall(r'<article class="message".*?</article>', channel, re.S):
        if author in article:
            return str(article)
    return None


def post(sandbox: RunningSandbox, path: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}{path}", data=json.dumps(body), headers={**JSON, **headers}, timeout=30
    )


def send_button(article: str) -> dict[str, str]:
    found = re.search(r'data-block="([^"]+)" data-action="(send_reply:1)"', article)
    ts = re.search(r'data-ts="([^"]+)"', article)
    assert found is not None
    assert ts is not None
    return {
        "channel": "C0SANDBOX1",
        "ts": ts.group(1),
        "block_id": found.group(1),
        "action_id": found.group(2),
    }


def test_posts_become_cards_and_the_timeline_lists_them(sandbox: RunningSandbox) -> None:
    article = wait_for("Priya's card", lambda: card_html(sandbox, "Priya Natarajan"))
    assert "send_reply:1" in article
    timelines = sandbox.fragments()["timelines"]
    assert "Above and beyond" in timelines["x"]
    assert "Route 9 bridge" in timelines["facebook"]


def test_a_click_from_the_page_sends_the_reply_through_twoway(sandbox: RunningSandbox) -> None:
    article = wait_for("Priya's card", lambda: card_html(sandbox, "Priya Natarajan"))
    answer = post(sandbox, "/sandbox/action", {"as": "officer", **send_button(article)})
    assert answer.status_code == 200
    wait_for("the reply on X", lambda: "sent from TwoWay" in sandbox.fragments()["timelines"]["x"])
    wait_for("the card redrawn", lambda: "Replied" in (card_html(sandbox, "Priya Natarajan") or ""))


def test_the_page_can_only_click_what_is_on_the_message(sandbox: RunningSandbox) -> None:
    article = wait_for("Marcus's card", lambda: card_html(sandbox, "Marcus Webb"))
    forged = {**send_button(article), "action_id": "send_reply:9"}
    answer = post(sandbox, "/sandbox/action", {"as": "officer", **forged})
    assert answer.status_code == 400
    assert answer.json()["notice"] == "Nothing to click there."
    assert "send_reply:1" in (card_html(sandbox, "Marcus Webb") or "")


def test_another_site_cannot_drive_the_sandbox(sandbox: RunningSandbox) -> None:
    body = json.dumps({"as": "admin", "text": "/twoway faq add Hacked? | yes"})
    as_form = requests.post(
        f"{sandbox.url}/sandbox/command", data=body, headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert as_form.status_code == 403
    cross = post(sandbox, "/sandbox/command", json.loads(body), Origin="https://evil.example")
    assert cross.status_code == 403
    renamed = post(sandbox, "/sandbox/command", json.loads(body), Host="sandbox.evil.example")
    assert renamed.status_code == 403
    assert "Hacked" not in sandbox.fragments("admin")["conversations"]["C0SANDBOX1"]


def test_a_typed_command_is_answered_for_that_person_only(sandbox: RunningSandbox) -> None:
    answer = post(
        sandbox, "/sandbox/command", {"as": "admin", "channel": "C0SANDBOX1", "text": "/twoway faq list"}
    )
    assert answer.status_code == 200
    mine = sandbox.fragments("admin")["conversations"]["C0SANDBOX1"]
    assert "police or accident report" in html.unescape(mine)
    assert "/twoway faq list" not in sandbox.fragments("officer")["conversations"]["C0SANDBOX1"]


def test_changes_reach_an_open_page_as_they_happen(sandbox: RunningSandbox) -> None:
    with requests.get(
        f"{sandbox.url}/sandbox/events", params={"as": "officer"}, stream=True, timeout=60
    ) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                change = json.loads(line[6:])
                if change["op"] == "upsert":
                    assert change["conv"] == "C0SANDBOX1"
                    assert change["html"].startswith("<article")
                    break


def test_typed_text_reaches_twoway_escaped_as_slack_escapes_it(sandbox: RunningSandbox) -> None:
    """`&`, `<` and `>` are sent as Slack sends them, and TwoWay reads them back as typed."""
    added = post(
        sandbox,
        "/sandbox/command",
        {
            "as": "admin",
            "channel": "C0SANDBOX1",
            "text": "/twoway faq add Q&A <night> times? | Tuesdays & Thursdays",
        },
    )
    assert added.status_code == 200
    post(
        sandbox,
        "/sandbox/command",
        {"as": "admin", "channel": "C0SANDBOX1", "text": "/twoway faq list night"},
    )
    shown = html.unescape(re.sub(r"<[^>]+>", "", sandbox.fragments("admin")["conversations"]["C0SANDBOX1"]))
    assert "Q&A <night> times?" in shown
