"""Facebook, nothing unseen: old posts still active, visitor posts, tags, busy posts read in parts.

Real facebook-sdk against the fake Graph API; progress is carried from poll to poll as the bot
carries it (each page's `progress` saved as it arrives).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.base import PollOutcome, RateLimited
from connectors.facebook import FacebookConnector, webhook_progress
from connectors.facebook_progress import HINT_PREFIX
from domain import Mention
from tests.support.fakes.graph_api import FakeGraph, rate_limited

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with FakeGraph(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


class Reader:
    """A Page polled again and again, keeping cursor and progress between polls like the bot."""

    def __init__(self, fake: FakeGraph, **options: int) -> None:
        self.connector = FacebookConnector(
            base_url=fake.url,
            version="v25.0",
            timeout=2,
            page_id=fake.page["id"],
            page_token=fake.page_token,
            lookback_days=3,
            **options,
        )
        self.cursor: str | None = None
        self.progress: dict[str, str] = {}
        self.stored: dict[str, Mention] = {}

    def poll(self, now: datetime) -> tuple[list[Mention], PollOutcome]:
        outcome = PollOutcome()
        mentions: list[Mention] = []
        for page in self.connector.fetch(self.cursor, now, outcome, dict(self.progress)):
            mentions += page.mentions
            for mention in page.mentions:
                self.stored.setdefault(mention.external_id, mention)
            for key, value in page.progress.items():
                if value is None:
                    self.progress.pop(key, None)
                else:
                    self.progress[key] = value
        self.cursor = outcome.cursor or self.cursor
        return mentions, outcome


def test_a_comment_on_a_month_old_post_is_found_by_polling_without_flooding_history(fake: FakeGraph) -> None:
    old = fake.add_post("Missing person: have you seen Ann?", created_at=NOW - timedelta(days=30))
    fake.add_comment(old, "praying for her", created_at=NOW - timedelta(days=29))
    reader = Reader(fake)
    mentions, _ = reader.poll(NOW)
    assert mentions == []  # history older than the first-poll window is not dumped on the channel
    tip = fake.add_comment(
        old, "I saw her at the bus station 10 minutes ago", created_at=NOW + timedelta(minutes=5)
    )
    found: list[str] = []
    for minutes in range(10, 45, 2):  # polls every 2 minutes; the watch window is swept every 30
        mentions, _ = reader.poll(NOW + timedelta(minutes=minutes))
        found += [m.external_id for m in mentions]
    assert tip["id"] in found
    assert reader.stored[tip["id"]].parent_text == "Missing person: have you seen Ann?"


def test_an_idle_page_costs_one_request_per_poll(fake: FakeGraph) -> None:
    for n in range(30):
        post = fake.add_post(f"post {n}", created_at=NOW - timedelta(days=n, hours=1))
        fake.add_comment(post, f"comment {n}", created_at=NOW - timedelta(days=n))
    reader = Reader(fake)
    reader.poll(NOW)
    for minutes in (2, 4):  # the post commented at NOW is read again until 3 minutes after it
        reader.poll(NOW + timedelta(minutes=minutes))
    costs = [reader.poll(NOW + timedelta(minutes=m))[1].requests for m in (6, 8, 40, 42)]
    assert costs == [1, 1, 1, 1]  # the sweep at +40 lists 30 posts in the same single request


def test_visitor_posts_and_posts_tagging_the_page_become_mentions_once(fake: FakeGraph) -> None:
    own = fake.add_post("Our own announcement")
    visitor = fake.add_post("My bike was stolen from the library rack, who do I call?", author="Kim Lee")
    on_visitor = fake.add_comment(visitor, "same happened to me", author="Ola Berg")
    tag = fake.add_tagged_post("Great job @Agency Police at the parade today", author="Sam Roe")
    reader = Reader(fake)
    mentions, _ = reader.poll(NOW)
    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {visitor["id"], on_visitor["id"], tag["id"]}
    assert own["id"] not in by_id
    assert by_id[visitor["id"]].author.name == "Kim Lee"
    assert by_id[visitor["id"]].raw["kind"] == "visitor_post"
    assert by_id[tag["id"]].raw["kind"] == "tag"
    assert by_id[tag["id"]].url == tag["permalink_url"]
    # Graph leaves `from` out of a user's post it shows a Page: the author is the id's first part
    person = tag["id"].split("_")[0]
    assert (by_id[tag["id"]].author.id, by_id[tag["id"]].author.url) == (
        person,
        f"https://www.facebook.com/{person}",
    )
    again, _ = reader.poll(NOW + timedelta(minutes=30))
    # at most the overlap re-read (the newest tag and a post active just before the first poll)
    assert {m.external_id for m in again} <= {on_visitor["id"], tag["id"]}


def test_a_reply_to_a_tagging_post_comments_on_that_post(fake: FakeGraph) -> None:
    tag = fake.add_tagged_post("Thanks @Agency Police for finding my dog", author="Sam Roe")
    reader = Reader(fake)
    (mention,), _ = reader.poll(NOW)
    reader.connector.reply(mention, "So glad Max is home!")
    assert fake.comment_replies[0]["object_id"] == tag["id"]


def test_a_storming_post_is_read_in_parts_and_nothing_is_lost(fake: FakeGraph) -> None:
    """1,025 comments, pages of 10, 30 pages per poll: each poll goes on where the last stopped."""
    post = fake.add_post("Statement on last night's incident", created_at=NOW - timedelta(hours=3))
    start = NOW - timedelta(hours=2)
    comments = [
        fake.add_comment(post, f"comment {n}", created_at=start + timedelta(seconds=6 * n))
        for n in range(1025)
    ]
    reader = Reader(fake, page_size=10, max_comment_pages=30)
    outcomes = []
    for minute in range(0, 20, 2):
        _, outcome = reader.poll(NOW + timedelta(minutes=minute))
        outcomes.append(outcome)
        if not outcome.partial:
            break
    assert set(reader.stored) == {c["id"] for c in comments}
    assert outcomes[0].partial
    assert "continue next poll" in outcomes[0].notes[-1]
    assert all(o.requests <= 32 for o in outcomes)
    # each comment page is read about once: 103 pages plus one listing per poll and a little overlap
    assert sum(o.requests for o in outcomes) <= 103 + len(outcomes) * 3


def test_new_comments_on_a_post_being_read_in_parts_are_read_first(fake: FakeGraph) -> None:
    post = fake.add_post(created_at=NOW - timedelta(hours=3))
    for n in range(200):
        fake.add_comment(post, f"old {n}", created_at=NOW - timedelta(hours=2) + timedelta(seconds=n))
    reader = Reader(fake, page_size=10, max_comment_pages=5)
    reader.poll(NOW)
    urgent = fake.add_comment(
        post, "someone is hurt at the corner of 5th and Main", created_at=NOW + timedelta(minutes=1)
    )
    mentions, _ = reader.poll(NOW + timedelta(minutes=2))
    assert mentions[0].external_id == urgent["id"]


def test_an_expired_cursor_of_a_part_read_post_is_read_again_from_the_top(fake: FakeGraph) -> None:
    post = fake.add_post(created_at=NOW - timedelta(hours=3))
    comments = [
        fake.add_comment(post, f"c {n}", created_at=NOW - timedelta(hours=2) + timedelta(seconds=n))
        for n in range(60)
    ]
    reader = Reader(fake, page_size=10, max_comment_pages=2)
    _, first = reader.poll(NOW)
    assert first.partial
    key = f"post:{post['id']}"
    expired = reader.progress[key].replace('"t":[["', '"t":[["expired-')
    assert expired != reader.progress[key]
    reader.progress[key] = expired  # Graph forgot the cursor it gave
    for minute in range(2, 30, 2):
        reader.poll(NOW + timedelta(minutes=minute))
    assert set(reader.stored) == {c["id"] for c in comments}


def test_a_post_named_by_the_webhook_is_read_even_beyond_the_watch_window(fake: FakeGraph) -> None:
    ancient = fake.add_post("Last year's safety fair", created_at=NOW - timedelta(days=400))
    reader = Reader(fake)
    reader.poll(NOW)
    late = fake.add_comment(ancient, "is there one this year?", created_at=NOW + timedelta(minutes=1))
    reader.progress[HINT_PREFIX + ancient["id"]] = (NOW + timedelta(minutes=1)).isoformat()
    mentions, _ = reader.poll(NOW + timedelta(minutes=2))
    assert [m.external_id for m in mentions] == [late["id"]]
    assert not any(key.startswith(HINT_PREFIX) for key in reader.progress)


def delivery(post: dict[str, object], at: datetime) -> dict[str, str]:
    """What the webhook saves for one `feed` change (a new comment on `post`)."""
    change = {
        "field": "feed",
        "value": {"item": "comment", "post_id": post["id"], "created_time": int(at.timestamp())},
    }
    return webhook_progress({"id": "1", "changes": [change]})


def test_a_comment_on_an_old_post_is_found_by_the_sweep_while_other_posts_are_busy(fake: FakeGraph) -> None:
    old = fake.add_post("Missing person: have you seen Ann?", created_at=NOW - timedelta(days=30))
    fake.add_comment(old, "praying for her", created_at=NOW - timedelta(days=29))
    newer = [fake.add_post(f"news {n}", created_at=NOW - timedelta(days=n + 1)) for n in range(3)]
    fake.add_comment(newer[0], "first!", created_at=NOW - timedelta(minutes=1))
    reader = Reader(fake, page_size=2)  # the old post is not on the feed's first page
    reader.poll(NOW)
    tip = fake.add_comment(
        old, "I saw her at the bus station 10 minutes ago", created_at=NOW + timedelta(minutes=5)
    )
    for minutes in range(6, 40, 2):  # a comment on a recent post between every two polls
        fake.add_comment(newer[0], f"at +{minutes}", created_at=NOW + timedelta(minutes=minutes - 1))
        reader.poll(NOW + timedelta(minutes=minutes))
    assert tip["id"] in reader.stored  # the sweep at +30 minutes read it, whatever the cursor did


def test_a_webhook_comment_graph_lists_late_is_read_by_a_later_poll(fake: FakeGraph) -> None:
    ancient = fake.add_post("Last year's safety fair", created_at=NOW - timedelta(days=400))
    recent = fake.add_post("Today's road closure", created_at=NOW - timedelta(hours=2))
    newer = [fake.add_post(f"news {n}", created_at=NOW - timedelta(days=n + 1)) for n in range(3)]
    fake.add_comment(newer[0], "first!", created_at=NOW - timedelta(minutes=1))
    reader = Reader(fake, page_size=2)  # the old post is on no feed page the polls read
    reader.poll(NOW)
    reader.progress.update(delivery(ancient, NOW + timedelta(minutes=1)))
    reader.poll(NOW + timedelta(minutes=1, seconds=2))  # woken at once: Graph does not list it yet
    late = fake.add_comment(ancient, "is there one this year?", created_at=NOW + timedelta(minutes=1))
    fake.add_comment(recent, "is Main St open yet?", created_at=NOW + timedelta(minutes=1))
    reader.poll(NOW + timedelta(minutes=3))
    assert late["id"] in reader.stored
    assert not any(key.startswith(HINT_PREFIX) for key in reader.progress)  # and then let go


def test_a_webhook_delivery_saved_during_a_poll_outlives_that_poll(fake: FakeGraph) -> None:
    ancient = fake.add_post("Last year's safety fair", created_at=NOW - timedelta(days=400))
    reader = Reader(fake)
    reader.poll(NOW)
    first = fake.add_comment(ancient, "is there one this year?", created_at=NOW + timedelta(minutes=1))
    reader.progress.update(delivery(ancient, NOW + timedelta(minutes=1)))
    outcome = PollOutcome()
    second: dict[str, object] = {}
    for page in reader.connector.fetch(
        reader.cursor, NOW + timedelta(minutes=1, seconds=5), outcome, dict(reader.progress)
    ):
        if any(m.external_id == first["id"] for m in page.mentions):
            # The next delivery is saved by the webhook while this poll is still running.
            second = fake.add_comment(
                ancient, "my kid lost a backpack there", created_at=NOW + timedelta(minutes=1, seconds=6)
            )
            reader.progress.update(delivery(ancient, NOW + timedelta(minutes=1, seconds=6)))
        for key, value in page.progress.items():
            if value is None:
                reader.progress.pop(key, None)
            else:
                reader.progress[key] = value
    reader.cursor = outcome.cursor or reader.cursor
    assert second
    assert any(key.startswith(HINT_PREFIX) for key in reader.progress)
    found, _ = reader.poll(NOW + timedelta(minutes=2))
    assert second["id"] in [m.external_id for m in found]


def test_hiding_a_comment(fake: FakeGraph) -> None:
    post = fake.add_post()
    rude = fake.add_comment(post, "an insult with a slur")
    reader = Reader(fake)
    (mention,), _ = reader.poll(NOW)
    reader.connector.hide(mention)
    (request,) = fake.calls(rf"^/v25.0/{rude['id']}$", "POST")
    assert request.form["is_hidden"] == "true"
    assert fake.hidden == [rude["id"]]


def test_graph_rate_limit_with_its_usage_headers_is_rate_limited(fake: FakeGraph) -> None:
    fake.add_post()
    fake.fail_next(r"^/v25\.0/104857600000001$", rate_limited(32))
    with pytest.raises(RateLimited, match="32"):
        Reader(fake).poll(NOW)


def test_an_unknown_field_is_refused_as_graph_refuses_it(fake: FakeGraph) -> None:
    """The fake is as strict as Graph: the connector asks only for fields that exist."""
    post = fake.add_post()
    answer = requests.get(
        f"{fake.url}/v25.0/{post['id']}/comments",
        params={"fields": "id,messages", "access_token": fake.page_token},
        timeout=5,
    )
    assert answer.json()["error"]["code"] == 100
