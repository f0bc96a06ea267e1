"""The Instagram connector: real facebook-sdk against the fake Instagram Graph API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthFailed, PollOutcome, RateLimited, Rejected, TransientError
from connectors.instagram import InstagramConnector
from connectors.registry import spec
from domain import Mention
from tests.support.fakes.graph_api import graph_error, rate_limited
from tests.support.fakes.instagram_api import FakeInstagram
from tests.support.fakes.server import Response

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeInstagram]:
    with FakeInstagram(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeInstagram, account_id: str | None = None, timeout: float = 2.0) -> InstagramConnector:
    return InstagramConnector(
        base_url=fake.url,
        version="v25.0",
        timeout=timeout,
        page_id=fake.page["id"],
        page_token=fake.page_token,
        account_id=account_id,
    )


class Reader:
    def __init__(self, connector: InstagramConnector) -> None:
        self.connector, self.cursor, self.progress = connector, None, {}  # type: ignore[var-annotated]

    def poll(self, now: datetime = NOW) -> tuple[list[Mention], PollOutcome]:
        outcome = PollOutcome()
        found: list[Mention] = []
        for page in self.connector.fetch(self.cursor, now, outcome, dict(self.progress)):
            found += page.mentions
            self.progress.update({k: v for k, v in page.progress.items() if v is not None})
        self.cursor = outcome.cursor or self.cursor
        return found, outcome


def test_the_account_is_found_from_the_page_or_pinned(fake: FakeInstagram) -> None:
    found = connect(fake).identify()
    assert (found.platform, found.external_id, found.handle) == ("instagram", fake.ig["id"], "agencypolice")
    fake.requests.clear()
    pinned = connect(fake, account_id=fake.ig["id"]).identify()
    assert pinned == found
    assert not any("instagram_business_account" in (r.param("fields") or "") for r in fake.requests)


def test_a_page_without_an_instagram_account_is_a_clear_refusal() -> None:
    with FakeInstagram(linked=False) as fake, pytest.raises(Rejected, match="no Instagram"):
        connect(fake).identify()  # type: ignore[arg-type]


def test_comments_and_replies_become_mentions_and_own_replies_do_not(fake: FakeInstagram) -> None:
    media = fake.add_media("Meet Rex, our new K9 officer")
    question = fake.add_ig_comment(media, "What breed is he?", username="kim.lee")
    follow = fake.add_ig_comment(media, "German shepherd I think", username="sam.roe", parent=question)
    fake.add_ig_comment(media, "He is a Malinois!", parent=question, own=True)
    mentions, outcome = Reader(connect(fake)).poll()
    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {question["id"], follow["id"]}
    top = by_id[question["id"]]
    assert (top.platform, top.author.handle, top.url) == ("instagram", "kim.lee", media["permalink"])
    assert top.parent_text == "Meet Rex, our new K9 officer"
    assert top.conversation_id == top.parent_id == media["id"]
    assert by_id[follow["id"]].parent_id == question["id"]
    assert by_id[follow["id"]].parent_text == "What breed is he?"
    assert outcome.requests == 2  # list the media, read the one media's comments


def test_an_idle_account_costs_one_request_and_a_new_comment_is_read(fake: FakeInstagram) -> None:
    media = [fake.add_media(f"post {n}", created_at=NOW - timedelta(days=n)) for n in range(5)]
    for item in media:
        fake.add_ig_comment(item, "nice")
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    reader.poll()
    assert reader.poll(NOW + timedelta(minutes=2))[1].requests == 1
    late = fake.add_ig_comment(media[3], "Is this still happening?", created_at=NOW + timedelta(minutes=3))
    mentions, outcome = reader.poll(NOW + timedelta(minutes=4))
    assert mentions[0].external_id == late["id"]  # newest first; the overlap may re-read older ones
    assert outcome.requests == 2


def test_reply_goes_to_the_top_level_comment_and_hide_hides(fake: FakeInstagram) -> None:
    media = fake.add_media()
    question = fake.add_ig_comment(media, "When is the open house?")
    follow = fake.add_ig_comment(media, "same question", parent=question)
    mentions, _ = Reader(connect(fake)).poll()
    by_id = {m.external_id: m for m in mentions}
    posted = connect(fake).reply(by_id[follow["id"]], "Saturday 10-2, all welcome!")
    assert fake.ig_replies == [
        {"object_id": question["id"], "message": "Saturday 10-2, all welcome!", "id": posted.external_id}
    ]
    connect(fake).hide(by_id[follow["id"]])
    assert fake.ig_hidden == [follow["id"]]
    with pytest.raises(Rejected):
        connect(fake).like(by_id[question["id"]])
    assert spec("instagram").can_like is False


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (graph_error(190, "Error validating access token"), AuthFailed),
        (graph_error(10, "(#10) Requires instagram_manage_comments permission", status=403), AuthFailed),
        (rate_limited(4), RateLimited),
        (Response(502, "<html>Bad Gateway</html>"), TransientError),
        (Response(200, {"no": "data"}), TransientError),
        (Response(200, b'{"data": [', headers={"content-type": "application/json"}), TransientError),
    ],
)
def test_read_failures_map_to_connector_errors(
    fake: FakeInstagram, fault: Response, error: type[Exception]
) -> None:
    fake.add_media()
    fake.fail_next(r"/media$", fault)
    with pytest.raises(error) as raised:
        Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert fake.page_token not in str(raised.value)


def test_media_pages_are_followed_and_malformed_comments_skipped(fake: FakeInstagram) -> None:
    items = [fake.add_media(f"m{n}", created_at=NOW - timedelta(hours=n)) for n in range(60)]
    good = fake.add_ig_comment(items[55], "found it")
    bad = fake.add_ig_comment(items[55], "no time")
    fake.ig_comments[bad["id"]]["timestamp"] = "yesterday"
    mentions, _ = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert [m.external_id for m in mentions] == [good["id"]]
    assert len(fake.calls(r"/media$")) == 2
