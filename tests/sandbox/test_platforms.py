"""TwoWay's real connectors (tweepy, facebook-sdk) against the sandbox's simulated accounts.

The sandbox is only worth showing if the connectors it feeds are the production ones, reading
the same wire format and meeting the same platform rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.sandbox.server import Sandbox
from connectors.base import AuthFailed, PollOutcome, Rejected
from connectors.facebook import FacebookConnector
from connectors.x import XConnector
from domain import Mention


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox.bind(0)
    running.start(every=0)  # only the posts that are there at start
    yield running
    running.stop()


def secret(settings: dict[str, object], name: str) -> str:
    value = settings[name]
    return str(value.get_secret_value()) if hasattr(value, "get_secret_value") else str(value)


@pytest.fixture
def x(sandbox: Sandbox) -> XConnector:
    s = sandbox.settings()
    return XConnector(
        base_url=str(s["x_api_url"]),
        timeout=10,
        bearer_token=secret(s, "x_bearer_token"),
        api_key=secret(s, "x_api_key"),
        api_secret=secret(s, "x_api_secret"),
        access_token=secret(s, "x_access_token"),
        access_token_secret=secret(s, "x_access_token_secret"),
    )


@pytest.fixture
def facebook(sandbox: Sandbox) -> FacebookConnector:
    s = sandbox.settings()
    return FacebookConnector(
        base_url=str(s["facebook_graph_url"]),
        version=str(s["facebook_graph_version"]),
        timeout=10,
        page_id=str(s["facebook_page_id"]),
        page_token=secret(s, "facebook_page_token"),
    )


def fetch(connector: XConnector | FacebookConnector) -> list[Mention]:
    outcome = PollOutcome()
    return [m for page in connector.fetch(None, datetime.now(UTC), outcome) for m in page.mentions]


def by_author(mentions: list[Mention], name: str) -> list[Mention]:
    return [m for m in mentions if m.author.name == name]


def test_x_mentions_reach_the_real_connector_with_the_reply_restriction(
    x: XConnector, sandbox: Sandbox
) -> None:
    assert x.identify().handle == "MapleFallsPD"
    mentions = fetch(x)
    assert len(by_author(mentions, "Priya Natarajan")) == 1
    (unmentioned,) = by_author(mentions, "Sam Oyelaran")
    assert unmentioned.explicit_mention is False
    assert unmentioned.parent_text
    assert "Coffee with a Cop" in unmentioned.parent_text
    with pytest.raises(Rejected, match="not been mentioned"):
        x.reply(unmentioned, "Yes, hot chocolate for the kids!")


def test_an_x_reply_and_a_like_show_on_the_public_timeline_once(x: XConnector, sandbox: Sandbox) -> None:
    (mention,) = by_author(fetch(x), "Marcus Webb")
    posted = x.reply(mention, "@marcuswebb Reports are ready after five business days.")
    x.like(mention)
    timeline = sandbox.platforms["x"].timeline
    reply = timeline.find(posted.external_id)
    assert reply is not None
    assert reply.via_api
    assert reply.parent == mention.external_id
    original = timeline.find(mention.external_id)
    assert original is not None
    assert original.liked
    with pytest.raises(Rejected, match="duplicate"):
        x.reply(mention, "@marcuswebb Reports are ready after five business days.")


def test_facebook_replies_under_replies_reach_the_connector_and_answers_go_under_the_first_comment(
    facebook: FacebookConnector, sandbox: Sandbox
) -> None:
    assert facebook.identify().name == "Maple Falls Police Department"
    mentions = fetch(facebook)
    (tom,) = by_author(mentions, "Tom Rourke")
    first = by_author(mentions, "Linda Kowalski")
    top = next(m for m in first if m.parent_id == m.conversation_id)
    reply_to_reply = next(m for m in first if m is not top)
    assert tom.parent_id == top.external_id
    assert reply_to_reply.parent_id == top.external_id  # Facebook threads are one level deep
    posted = facebook.reply(reply_to_reply, "Glad that helps, Linda. Drive safe!")
    shown = sandbox.platforms["facebook"].timeline.find(posted.external_id)
    assert shown is not None
    assert shown.by_account
    assert shown.parent == top.external_id


def test_the_card_hide_button_works_against_the_simulated_page(
    facebook: FacebookConnector, sandbox: Sandbox
) -> None:
    (tom,) = by_author(fetch(facebook), "Tom Rourke")
    facebook.hide(tom)  # Graph's POST /{comment}?is_hidden=true, answered {"success": true}
    assert sandbox.platforms["facebook"].comments[tom.external_id]["_hidden"] is True  # type: ignore[attr-defined]
    with pytest.raises(Rejected):
        facebook.hide(replace(tom, external_id="999_999"))


def test_wrong_credentials_are_refused_as_the_platforms_refuse_them(sandbox: Sandbox) -> None:
    s = sandbox.settings()
    wrong = XConnector(base_url=str(s["x_api_url"]), timeout=10, bearer_token="not-the-token")
    with pytest.raises(AuthFailed):
        wrong.identify()
    page = FacebookConnector(
        base_url=str(s["facebook_graph_url"]),
        version="v25.0",
        timeout=10,
        page_id="104857600000001",
        page_token="nope",
    )
    with pytest.raises(AuthFailed):
        page.identify()
