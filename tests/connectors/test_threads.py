"""The Threads connector: its thin `requests` client against the fake Threads API on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    PollOutcome,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.registry import spec
from connectors.threads import ThreadsConnector
from domain import Mention
from tests.support.fakes.graph_api import graph_error
from tests.support.fakes.server import Response
from tests.support.fakes.threads_api import FakeThreads, rate_limited

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeThreads]:
    with FakeThreads(now=NOW - timedelta(hours=1), clock=clock) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeThreads, token: str | None = None, user_id: str | None = None) -> ThreadsConnector:
    return ThreadsConnector(base_url=fake.url, timeout=2.0, token=token or fake.token, user_id=user_id)


class Reader:
    def __init__(self, connector: ThreadsConnector) -> None:
        self.connector, self.cursor, self.progress = connector, None, {}  # type: ignore[var-annotated]

    def poll(self, now: datetime = NOW) -> tuple[list[Mention], PollOutcome]:
        outcome = PollOutcome()
        found: list[Mention] = []
        for page in self.connector.fetch(self.cursor, now, outcome, dict(self.progress)):
            found += page.mentions
            self.progress.update({k: v for k, v in page.progress.items() if v is not None})
        self.cursor = outcome.cursor or self.cursor
        return found, outcome


def test_identify_says_whose_token_it_is_and_refuses_a_bad_one(fake: FakeThreads) -> None:
    found = connect(fake).identify()
    assert (found.platform, found.external_id, found.handle) == (
        "threads",
        fake.profile["id"],
        "agencypolice",
    )
    with pytest.raises(AuthFailed) as refused:
        connect(fake, token="th-wrong-token").identify()
    assert "th-wrong-token" not in str(refused.value)


def test_replies_to_own_posts_and_mentions_become_mentions_once(fake: FakeThreads) -> None:
    post = fake.add_post("Coffee with a cop on Saturday")
    question = fake.add_reply(post, "What time does it start?", username="kim.lee")
    follow = fake.add_reply(question, "@agencypolice and is there parking?", username="sam.roe")
    fake.add_reply(question, "10am at the library", username="agencypolice")  # the profile itself
    elsewhere = fake.add_mention("@agencypolice the light on 5th is out", username="ana.b")
    mentions, outcome = Reader(connect(fake)).poll()
    by_id: dict[str, Mention] = {}
    for mention in mentions:  # the store keeps the first copy of an id (ON CONFLICT DO NOTHING)
        by_id.setdefault(mention.external_id, mention)
    assert sorted(by_id) == sorted([question["id"], follow["id"], elsewhere["id"]])
    top = by_id[question["id"]]
    assert (top.platform, top.author.handle, top.parent_id, top.conversation_id) == (
        "threads",
        "kim.lee",
        post["id"],
        post["id"],
    )
    assert top.parent_text == "Coffee with a cop on Saturday"
    assert by_id[follow["id"]].parent_text == "What time does it start?"
    assert by_id[follow["id"]].raw["kind"] == "reply"  # in the profile's own thread: it may hide it
    assert by_id[elsewhere["id"]].raw["kind"] == "mention"
    assert spec("threads").hideable(by_id[follow["id"]].raw)
    assert not spec("threads").hideable(by_id[elsewhere["id"]].raw)
    # the profile, a first refresh of the token (its age unknown), own posts, one conversation, own
    # replies (the one here is under its own post: its conversation holds any answer), mentions
    assert outcome.requests == 6


def test_an_idle_poll_costs_three_requests_and_new_replies_are_read(fake: FakeThreads) -> None:
    old = fake.add_post("Last week's update", created_at=NOW - timedelta(days=6))
    fake.add_reply(old, "thanks", created_at=NOW - timedelta(days=6))
    reader = Reader(connect(fake, user_id=fake.profile["id"]))
    reader.poll()
    fake.requests.clear()
    _, idle = reader.poll(NOW + timedelta(minutes=2))
    assert idle.requests == 3, [r.path for r in fake.requests]  # own posts, own replies, mentions
    # A reply to an old post is found by the sweep, every 30 minutes.
    late = fake.add_reply(old, "Is this still on?", created_at=NOW + timedelta(minutes=5))
    assert reader.poll(NOW + timedelta(minutes=10))[0] == []
    found, swept = reader.poll(NOW + timedelta(minutes=31))
    assert [m.external_id for m in found] == [late["id"]]
    assert swept.requests == 4


def test_an_answer_to_the_profiles_reply_in_someone_elses_thread_is_read(fake: FakeThreads) -> None:
    """Threads tags nobody in a reply: a resident answering the agency's reply under their own
    post is neither a mention nor in the conversation of any post of the profile."""
    reader = Reader(connect(fake, user_id=fake.profile["id"]))
    asked = fake.add_mention(
        "@agencypolice my bike was stolen on Elm St", created_at=NOW - timedelta(minutes=40)
    )
    ours = fake.add_reply(
        asked, "Please file a report online", username="agencypolice", created_at=NOW - timedelta(minutes=30)
    )
    first, _ = reader.poll()
    assert [m.external_id for m in first] == [asked["id"]]
    answer = fake.add_reply(
        ours, "I did, case 4411, what next?", username="sam.roe", created_at=NOW + timedelta(minutes=1)
    )
    fake.add_reply(
        asked, "same thing happened to me", username="kim.lee", created_at=NOW + timedelta(minutes=1)
    )
    found, _ = reader.poll(NOW + timedelta(minutes=2))
    by_id = {m.external_id: m for m in found}  # the overlap re-reads the mention; the store keeps one
    assert set(by_id) - {asked["id"]} == {answer["id"]}  # an answer to the resident is theirs
    mention = by_id[answer["id"]]
    assert (mention.parent_id, mention.parent_text) == (ours["id"], "Please file a report online")
    assert (mention.conversation_id, mention.raw["kind"]) == (asked["id"], "mention")
    assert not spec("threads").hideable(mention.raw)  # only the profile's own threads can be hidden
    again, _ = reader.poll(NOW + timedelta(minutes=4))
    assert {m.external_id for m in again} <= {asked["id"], answer["id"]}  # the overlap only


def test_between_sweeps_only_the_profiles_young_replies_are_listed(fake: FakeThreads) -> None:
    """An agency answering a lot has hundreds of replies a month: listing them all at every poll
    would cost pages each time. Between sweeps the listing stops at two days."""
    asked = fake.add_mention("@agencypolice question", created_at=NOW - timedelta(days=11))
    for n in range(120):  # one every two hours for ten days
        fake.add_reply(asked, f"answer {n}", username="agencypolice", created_at=NOW - timedelta(hours=2 * n))
    reader = Reader(connect(fake, user_id=fake.profile["id"]))
    reader.poll()  # the first poll sweeps
    own = rf"/{fake.profile['id']}/replies$"
    assert len(fake.calls(own)) == 3  # 50 a page, back to thirty days
    fake.requests.clear()
    reader.poll(NOW + timedelta(minutes=2))
    assert len(fake.calls(own)) == 1  # back to two days: the first page reaches it


def test_reply_is_created_then_published_once_the_container_is_ready(fake: FakeThreads) -> None:
    post = fake.add_post()
    question = fake.add_reply(post, "When is the open house?")
    mentions, _ = Reader(connect(fake)).poll()
    fake.slow_containers = 2
    posted = connect(fake).reply(mentions[0], "Saturday 10-2, all welcome!")
    assert fake.published == [
        {"reply_to_id": question["id"], "text": "Saturday 10-2, all welcome!", "id": posted.external_id}
    ]
    assert posted.url.startswith("https://www.threads.net/@agencypolice/post/")
    assert len(fake.calls(r"/threads_publish$", "POST")) == 1
    assert len(fake.calls(rf"/{fake.containers and next(iter(fake.containers))}$", "GET")) == 3


def test_a_container_threads_cannot_prepare_posts_nothing_and_a_lost_publish_is_ambiguous(
    fake: FakeThreads,
) -> None:
    post = fake.add_post()
    fake.add_reply(post, "Is the bridge open?")
    mentions, _ = Reader(connect(fake)).poll()
    fake.fail_next(r"/threads$", Response(500, {"error": {"message": "oops", "code": 2}}))
    with pytest.raises(Rejected, match="nothing was posted"):
        connect(fake).reply(mentions[0], "Yes, since this morning.")
    fake.fail_next(r"/threads_publish$", Response(503, b"", headers={"content-type": "text/html"}))
    with pytest.raises(AmbiguousOutcome):
        connect(fake).reply(mentions[0], "Yes, since this morning.")
    with pytest.raises(Rejected):  # Threads caps a post at 500 characters
        connect(fake).reply(mentions[0], "x" * 501)
    assert fake.published == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        # Who may reply is the author's choice: a refusal of this reply, not a broken token
        (graph_error(10, "(#10) Application does not have permission for this action"), Rejected),
        (graph_error(100, "(#100) The post 18100000000000001 you are replying to does not exist"), PostGone),
        (graph_error(190, "Error validating access token: Session has expired"), AuthFailed),
    ],
)
def test_a_reply_threads_refuses_says_why_and_posts_nothing(
    fake: FakeThreads, fault: Response, error: type[Exception]
) -> None:
    post = fake.add_post()
    fake.add_reply(post, "Is the bridge open?")
    mentions, _ = Reader(connect(fake)).poll()
    fake.fail_next(r"/threads$", fault)
    with pytest.raises(error) as raised:
        connect(fake).reply(mentions[0], "Yes, since this morning.")
    assert type(raised.value) is error
    assert fake.published == []


def test_hide_hides_a_reply_to_the_profiles_post_and_refuses_other_items(fake: FakeThreads) -> None:
    post = fake.add_post()
    rude = fake.add_reply(post, "spam spam spam")
    fake.add_mention("@agencypolice elsewhere")
    mentions, _ = Reader(connect(fake)).poll()
    by_kind = {m.raw["kind"]: m for m in mentions}
    connect(fake).hide(by_kind["reply"])
    assert fake.hidden == [rude["id"]]
    with pytest.raises(Rejected, match="own posts"):
        connect(fake).hide(by_kind["mention"])
    with pytest.raises(Rejected):
        connect(fake).like(by_kind["reply"])


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (graph_error(190, "Error validating access token: Session has expired."), AuthFailed),
        (graph_error(10, "(#10) Requires threads_manage_mentions", status=403), AuthFailed),
        (rate_limited(4), RateLimited),
        (Response(502, "<html>Bad Gateway</html>"), TransientError),
        (Response(200, {"no": "data"}), TransientError),
        (Response(200, b'{"data": [', headers={"content-type": "application/json"}), TransientError),
    ],
)
def test_read_failures_map_to_connector_errors(
    fake: FakeThreads, fault: Response, error: type[Exception]
) -> None:
    fake.fail_next(r"/mentions$", fault)
    with pytest.raises(error) as raised:
        Reader(connect(fake, user_id=fake.profile["id"])).poll()
    assert fake.token not in str(raised.value)


def test_pages_are_followed_and_malformed_items_skipped(fake: FakeThreads) -> None:
    items = [
        fake.add_mention(f"@agencypolice note {n}", created_at=NOW - timedelta(minutes=n)) for n in range(60)
    ]
    fake.posts[items[30]["id"]]["timestamp"] = "last tuesday"
    mentions, _outcome = Reader(connect(fake)).poll()
    assert len(mentions) == 59
    assert len(fake.calls(r"/mentions$")) == 2  # 50 a page


def test_a_photo_reply_without_text_and_a_reply_by_a_private_user_are_kept(fake: FakeThreads) -> None:
    """Threads leaves out `text` on a photo or video without a caption, and `username` for an
    author who is not public: both are still replies somebody has to see."""
    post = fake.add_post("Have you seen this missing dog?")
    photo = fake.withhold(fake.add_reply(post, "", username="jane.doe"), "text")
    private = fake.withhold(fake.add_reply(post, "He is at 5th and Main now"), "username")
    mention = fake.withhold(fake.add_mention("@agencypolice look", username="sam.roe"), "text")
    mentions, _outcome = Reader(connect(fake)).poll()
    found = {m.external_id: m for m in mentions}
    assert set(found) == {photo["id"], private["id"], mention["id"]}
    assert found[photo["id"]].text == ""
    assert found[photo["id"]].author.handle == "jane.doe"
    assert found[private["id"]].text == "He is at 5th and Main now"
    assert (found[private["id"]].author.handle, found[private["id"]].author.id) == ("", "unknown")
    assert found[private["id"]].url == private["permalink"]


def test_a_post_with_thousands_of_new_replies_is_read_over_several_polls_and_mentions_still_come(
    fake: FakeThreads,
) -> None:
    busy = fake.add_post("Road closed on 5th", created_at=NOW - timedelta(hours=6))
    flood = [
        fake.add_reply(
            busy, f"reply {n}", username=f"u{n % 40}", created_at=NOW - timedelta(hours=5, seconds=-30 * n)
        )
        for n in range(420)
    ]
    quiet = fake.add_post("Coffee with a cop", created_at=NOW - timedelta(hours=7))
    asked = fake.add_reply(quiet, "What time?", created_at=NOW - timedelta(hours=4))
    urgent = fake.add_mention("@agencypolice someone is breaking into cars on 5th st", created_at=NOW)
    reader = Reader(ThreadsConnector(base_url=fake.url, timeout=2.0, token=fake.token, max_reply_pages=4))
    seen: set[str] = set()
    found, outcome = reader.poll()
    seen |= {m.external_id for m in found}
    assert urgent["id"] in seen  # the mentions are read although the replies were cut short
    assert len(seen) == 1 + 200  # four pages of 50 replies
    assert any("continue next poll" in note for note in outcome.notes)
    late = fake.add_reply(busy, "is 5th open again?", created_at=NOW + timedelta(minutes=1))
    polls = 1
    while len(seen) < 1 + 420 + 2 and polls < 20:
        found, outcome = reader.poll(NOW + timedelta(minutes=2 * polls))
        fresh = {m.external_id for m in found}
        if polls == 1:
            assert late["id"] in fresh  # the newest replies come first, before the backlog
            assert asked["id"] in fresh  # and a post behind the busy one is not starved
        seen |= fresh
        polls += 1
    assert seen == {urgent["id"], asked["id"], late["id"], *(r["id"] for r in flood)}
    assert polls <= 5  # 420 replies at 4 pages a poll, with the heads
    assert not any("continue next poll" in note for note in outcome.notes)
    fake.requests.clear()
    _, idle = reader.poll(NOW + timedelta(minutes=2 * polls))
    assert idle.requests == 5  # posts, the two young posts' conversations, own replies, mentions


def test_a_conversation_threads_keeps_paging_in_a_loop_does_not_stop_intake(fake: FakeThreads) -> None:
    post = fake.add_post(created_at=NOW - timedelta(hours=2))
    for n in range(120):
        fake.add_reply(post, f"reply {n}", created_at=NOW - timedelta(minutes=90 - n / 2))
    asked = fake.add_mention("@agencypolice is the station open?", created_at=NOW)
    conversation = fake._get_conversation

    def looping(request: Any, match: Any) -> Response:  # every "next" points back at page two
        answer = conversation(request, match)
        if "paging" in answer.body:
            page_two = base64.urlsafe_b64encode(b"threads:50").decode()
            answer.body["paging"]["cursors"]["after"] = page_two
            answer.body["paging"]["next"] = f"{fake.url}{request.path}?after={page_two}"
        return answer

    fake.routes.insert(0, ("GET", re.compile(r"^/(v1\.0)/(\d+)/conversation$"), looping))
    reader = Reader(connect(fake))
    for minutes in (0, 2):
        found, _ = reader.poll(NOW + timedelta(minutes=minutes))
        assert asked["id"] in {m.external_id for m in found} or minutes
    assert len(fake.calls(r"/conversation$")) <= 6  # stopped at the repeated page, each poll


# -- the long-lived token -------------------------------------------------------------------------


def test_the_token_is_refreshed_before_it_expires_and_the_new_one_is_saved(
    fake: FakeThreads, clock: Clock
) -> None:
    connector = connect(fake, user_id=fake.profile["id"])
    saved: list[str] = []
    connector.keep(saved.append)
    Reader(connector).poll()
    state = json.loads(saved[-1])
    assert state["token"] != fake.token
    assert state["token"] in fake.tokens
    assert state["expires_at"].startswith(str((NOW + timedelta(days=60)).date()))
    # The next polls use the new token and do not refresh again until 30 days are left.
    calls = len(fake.calls("refresh_access_token"))
    Reader(connector).poll(NOW + timedelta(days=29))
    assert len(fake.calls("refresh_access_token")) == calls
    assert fake.requests[-1].param("access_token") == state["token"]
    clock.now = NOW + timedelta(days=31)
    Reader(connector).poll(clock.now)
    assert len(fake.calls("refresh_access_token")) == calls + 1
    # A new connector (the next start) takes the saved token back; the pasted one has long expired.
    fake.tokens[fake.token]["expires"] = NOW
    restarted = connect(fake, user_id=fake.profile["id"])
    restarted.restore(saved[-1])
    assert restarted.identify().handle == "agencypolice"


def test_a_token_younger_than_a_day_is_refreshed_a_day_later_without_alarm(clock: Clock) -> None:
    with FakeThreads(clock=clock, token_age=timedelta(hours=2)) as fake:
        connector = connect(fake, user_id=fake.profile["id"])  # type: ignore[arg-type]
        _, first = Reader(connector).poll()
        assert first.attention is None
        clock.now = NOW + timedelta(hours=12)
        Reader(connector).poll(clock.now)
        assert len(fake.calls("refresh_access_token")) == 1  # type: ignore[attr-defined]
        clock.now = NOW + timedelta(hours=25)
        _, later = Reader(connector).poll(clock.now)
        assert len(fake.calls("refresh_access_token")) == 2  # type: ignore[attr-defined]
        assert later.attention is None
        assert connector.api.token != fake.token  # type: ignore[attr-defined]


def test_a_refresh_threads_keeps_refusing_asks_a_person_while_polling_goes_on(
    fake: FakeThreads, clock: Clock
) -> None:
    fake.refusing_refresh = "(#10) The user has not granted threads_basic"
    fake.add_mention("@agencypolice still here")
    connector = connect(fake, user_id=fake.profile["id"])
    mentions, first = Reader(connector).poll()
    assert first.attention is None, "an unknown-age token may only be too young"
    assert len(mentions) == 1
    clock.now = NOW + timedelta(hours=25)
    _, second = Reader(connector).poll(clock.now)
    assert second.attention is not None
    assert "would not refresh" in second.attention
    assert "/twoway connect threads" in second.attention
    assert fake.token not in second.attention
    fake.refusing_refresh = None
    clock.now = NOW + timedelta(hours=27)
    _, healed = Reader(connector).poll(clock.now)
    assert healed.attention is None


def test_a_saved_token_for_another_pasted_token_is_not_used(fake: FakeThreads) -> None:
    connector = connect(fake)
    saved: list[str] = []
    connector.keep(saved.append)
    Reader(connector).poll()
    other = connect(fake, token="th-another-pasted-token")
    other.restore(saved[-1])
    assert other.api.token == "th-another-pasted-token"
    broken = connect(fake)
    broken.restore("{not json")
    assert broken.api.token == fake.token
