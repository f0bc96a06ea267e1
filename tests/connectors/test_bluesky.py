"""The Bluesky connector: the real `atproto` client against the fake Bluesky service on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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
from connectors.bluesky_client import LINK_FACET, BlueskyConnector, full_links
from connectors.registry import spec
from domain import Mention
from handlers.text import fits
from tests.support.fakes.bluesky_api import FakeBluesky, rate_limited
from tests.support.fakes.server import Response

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeBluesky, password: str | None = None) -> BlueskyConnector:
    return BlueskyConnector(
        service_url=fake.url, timeout=2.0, handle=fake.handle, app_password=password or fake.app_password
    )


def strong(ref: dict[str, str]) -> dict[str, str]:
    """A strong reference without its `$type` (which the client may add)."""
    return {"uri": ref["uri"], "cid": ref["cid"]}


def poll(connector: BlueskyConnector, cursor: str | None = None) -> tuple[list[Mention], PollOutcome]:
    outcome = PollOutcome()
    found: list[Mention] = []
    for page in connector.fetch(cursor, datetime.now(UTC), outcome):
        found += page.mentions
    return found, outcome


def test_identify_logs_in_once_and_says_whose_account_it_is(fake: FakeBluesky) -> None:
    connector = connect(fake)
    found = connector.identify()
    assert (found.platform, found.external_id, found.handle, found.name) == (
        "bluesky",
        fake.did,
        fake.handle,
        "Agency Police",
    )
    connector.identify()
    assert len(fake.logins) == 1
    with pytest.raises(AuthFailed) as refused:
        connect(fake, password="wrong-pass-word-xxxx").identify()
    assert "wrong-pass-word" not in str(refused.value)


def test_mentions_replies_and_quotes_become_mentions_and_likes_do_not(fake: FakeBluesky) -> None:
    post = fake.add_post("Coffee with a cop on Saturday")
    reply = fake.add_reply(post, "What time does it start?", handle="kim.bsky.social")
    deeper = fake.add_reply(reply, "And is there parking?", handle="sam.bsky.social")  # not to the account
    mention = fake.add_mention("@agencypolice.bsky.social the light on 5th is out")
    quote = fake.add_quote(post, "Bring the kids, it is fun")
    fake.add_like_notification(post)
    mentions, outcome = poll(connect(fake))
    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {reply["uri"], mention["uri"], quote["uri"]}
    assert deeper["uri"] not in by_id
    answer = by_id[reply["uri"]]
    assert (answer.author.handle, answer.author.id, answer.parent_id, answer.conversation_id) == (
        "kim.bsky.social",
        reply["author"]["did"],
        post["uri"],
        post["uri"],
    )
    assert answer.parent_text == "Coffee with a cop on Saturday"
    did, rkey = reply["author"]["did"], reply["uri"].rsplit("/", 1)[-1]
    assert (answer.url, answer.author.url) == (
        f"https://bsky.app/profile/{did}/post/{rkey}",
        f"https://bsky.app/profile/{did}",
    )
    assert by_id[quote["uri"]].parent_text == "Coffee with a cop on Saturday"
    assert {m.raw["reason"] for m in mentions} == {"mention", "reply", "quote"}
    assert outcome.requests == 3  # login, the notifications, the posts they answer
    (listed,) = fake.calls("listNotifications")
    assert listed.query["reasons"] == ["mention", "reply", "quote"]


def test_an_idle_poll_costs_one_request_and_the_session_is_reused(fake: FakeBluesky) -> None:
    fake.add_mention("@agencypolice.bsky.social hello")
    connector = connect(fake)
    _, first = poll(connector)
    cursor = first.cursor
    fake.requests.clear()
    found, idle = poll(connector, cursor)
    assert idle.requests == 1, [r.path for r in fake.requests]
    assert len(fake.logins) == 1
    later = fake.add_mention("@agencypolice.bsky.social one more", created_at=datetime.now(UTC))
    found, _busy = poll(connector, cursor)
    assert later["uri"] in [m.external_id for m in found]


def test_the_saved_session_is_reused_by_a_new_connector_and_refreshed_before_it_expires(
    fake: FakeBluesky,
) -> None:
    saved: list[str] = []
    first = connect(fake)
    first.keep(saved.append)
    first.identify()
    assert len(saved) == 1
    assert fake.app_password not in saved[0]
    restarted = connect(fake)  # the next poll in another process, or after a restart
    restarted.keep(saved.append)
    restarted.restore(saved[-1])
    poll(restarted)
    assert len(fake.logins) == 1, "a saved session means no new login"
    # An access token within 15 minutes of its end is refreshed first, and the new pair saved.
    fake.access_lifetime = timedelta(minutes=10)
    short = connect(fake)
    short.keep(saved.append)
    poll(short)  # logs in: a token that is already due for a refresh
    fake.access_lifetime = timedelta(hours=2)
    refreshing = connect(fake)
    refreshing.keep(saved.append)
    refreshing.restore(saved[-1])
    before, refreshed = len(saved), len(fake.calls("refreshSession"))
    poll(refreshing)
    assert len(fake.calls("refreshSession")) == refreshed + 1
    assert len(saved) == before + 1
    assert json.loads(saved[-1])["session"] != json.loads(saved[-2])["session"]
    poll(refreshing)
    assert len(fake.calls("refreshSession")) == refreshed + 1, "a fresh token is not refreshed again"
    assert len(fake.logins) == 2


def test_a_session_the_service_no_longer_takes_costs_one_login(fake: FakeBluesky) -> None:
    saved: list[str] = []
    connector = connect(fake)
    connector.keep(saved.append)
    connector.identify()
    for record in fake.refresh.values():
        record["revoked"] = True  # another process refreshed it, or the service dropped it
    fake.expire_access_tokens()
    later = connect(fake)
    later.keep(saved.append)
    later.restore(saved[-1])
    poll(later)
    assert len(fake.logins) == 2


def test_a_revoked_app_password_is_auth_failed_and_logins_are_rate_limited(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.identify()
    fake.revoke_app_password()
    with pytest.raises(AuthFailed, match="refused"):
        poll(connector)
    fake.password_revoked = False
    fake.logins = [time.time()] * 30  # the service's 30 logins per 5 minutes are spent
    with pytest.raises(RateLimited) as limited:
        connect(fake).identify()
    assert limited.value.reset_at is not None
    assert limited.value.reset_at > datetime.now(UTC)


def test_reply_names_the_threads_root_and_the_post_answered(fake: FakeBluesky) -> None:
    post = fake.add_post("Road closure on Main St")
    first = fake.add_reply(post, "Until when?", handle="kim.bsky.social")
    mentions, _ = poll(connect(fake))
    posted = connect(fake).reply(mentions[0], "Until 6pm. See https://example.gov/roads for detours.")
    (sent,) = fake.posted
    reply = sent["record"]["reply"]
    assert strong(reply["root"]) == {"uri": post["uri"], "cid": post["cid"]}
    assert strong(reply["parent"]) == {"uri": first["uri"], "cid": first["cid"]}
    assert sent["record"]["facets"][0]["features"][0]["uri"] == "https://example.gov/roads"
    assert posted.external_id == sent["uri"]
    assert posted.url == f"https://bsky.app/profile/{fake.did}/post/{sent['uri'].rsplit('/', 1)[-1]}"


def test_a_shortened_link_is_shown_whole_and_links_follow_the_did_not_the_handle(fake: FakeBluesky) -> None:
    """The app shortens a long link in the text and keeps it whole in a facet; staff must be able to
    open it. A handle can change or fail verification ("handle.invalid"): links use the DID."""
    post = fake.link(
        fake.add_post("Detours: example.gov/roads/closures/2026..."),
        "example.gov/roads/closures/2026...",
        "https://example.gov/roads/closures/2026/main-street",
    )
    shown = "Footage 🎥 of it: youtube.com/watch?v=dQw4..."
    reply = fake.link(
        fake.add_reply(post, f"{shown} and more", handle="handle.invalid"),
        "youtube.com/watch?v=dQw4...",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    (mention,), _ = poll(connect(fake))
    assert mention.text == "Footage 🎥 of it: https://www.youtube.com/watch?v=dQw4w9WgXcQ and more"
    assert mention.parent_text == "Detours: https://example.gov/roads/closures/2026/main-street"
    assert (
        mention.url
        == f"https://bsky.app/profile/{reply['author']['did']}/post/{reply['uri'].rsplit('/', 1)[-1]}"
    )
    assert "handle.invalid" not in mention.url


def test_a_top_level_mention_is_its_own_root_and_likes_name_the_post(fake: FakeBluesky) -> None:
    mention = fake.add_mention("@agencypolice.bsky.social great job today")
    mentions, _ = poll(connect(fake))
    connect(fake).reply(mentions[0], "Thank you!")
    reply = fake.posted[0]["record"]["reply"]
    assert strong(reply["root"]) == strong(reply["parent"]) == {"uri": mention["uri"], "cid": mention["cid"]}
    connect(fake).like(mentions[0])
    assert strong(fake.likes[0]["subject"]) == {"uri": mention["uri"], "cid": mention["cid"]}
    with pytest.raises(Rejected):
        connect(fake).hide(mentions[0])
    assert spec("bluesky").can_hide is False


def test_the_limit_is_300_graphemes_and_the_service_refuses_more(fake: FakeBluesky) -> None:
    rules = spec("bluesky").rules
    accented = "e\u0301"  # one grapheme, two code points
    assert fits(accented * 300, rules)
    assert not fits(accented * 301, rules)
    family = "👨‍👩‍👧"  # one grapheme, five code points, 18 bytes: the record's 3,000 bytes come first
    assert fits(family * 166, rules)
    assert not fits(family * 167, rules)
    fake.add_mention()
    mentions, _ = poll(connect(fake))
    with pytest.raises(Rejected, match="300 graphemes"):
        connect(fake).reply(mentions[0], "x" * 301)
    assert fake.posted == []


def test_a_write_without_a_clear_answer_is_ambiguous(fake: FakeBluesky) -> None:
    fake.add_mention()
    mentions, _ = poll(connect(fake))
    fake.fail_next(r"createRecord$", Response(502, "<html>Bad Gateway</html>"))
    with pytest.raises(AmbiguousOutcome):
        connect(fake).reply(mentions[0], "Thanks for letting us know.")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (rate_limited(), RateLimited),
        (Response(500, {"error": "InternalServerError", "message": "oops"}), TransientError),
        (Response(200, {"cursor": "x"}), TransientError),  # no notifications array
        (Response(200, b'{"notifications": [', headers={"content-type": "application/json"}), TransientError),
    ],
)
def test_read_failures_map_to_connector_errors(
    fake: FakeBluesky, fault: Response, error: type[Exception]
) -> None:
    connector = connect(fake)
    connector.identify()
    fake.fail_next(r"listNotifications$", fault)
    with pytest.raises(error) as raised:
        poll(connector)
    assert fake.app_password not in str(raised.value)


@pytest.mark.parametrize("field", ["author", "cid"])
def test_a_notification_the_library_cannot_read_is_skipped_not_a_failed_poll(
    fake: FakeBluesky, field: str
) -> None:
    """atproto validates a whole page at once: one bad notification must not stop the others,
    on this poll or any later one."""
    base = datetime.now(UTC) - timedelta(hours=1)
    broken = fake.add_mention("half a notification", created_at=base)
    good = fake.add_mention("where do I report a broken streetlight?", created_at=base + timedelta(minutes=1))
    del next(n for n in fake.notifications if n["uri"] == broken["uri"])[field]
    connector = connect(fake)
    outcome = PollOutcome()
    pages = list(connector.fetch(None, datetime.now(UTC), outcome))
    assert [m.external_id for page in pages for m in page.mentions] == [good["uri"]]
    assert sum(page.skipped for page in pages) == 1


def test_pages_are_followed_down_to_the_cursor_and_malformed_items_skipped(fake: FakeBluesky) -> None:
    base = datetime.now(UTC) - timedelta(hours=3)
    posts = [fake.add_mention(f"note {n}", created_at=base + timedelta(minutes=n)) for n in range(120)]
    fake.notifications[5]["record"] = {"$type": "app.bsky.feed.post"}  # no text
    mentions, outcome = poll(connect(fake))
    assert len(mentions) == 119
    assert len(fake.calls("listNotifications")) == 2
    newer = fake.add_mention("after the first poll", created_at=datetime.now(UTC))
    fake.requests.clear()
    found, _ = poll(connect(fake), outcome.cursor)
    assert found[0].external_id == newer["uri"]
    # the rest of the first page is handed on again (storage drops the repeats), and no more pages
    assert {m.external_id for m in found[1:]} <= {m.external_id for m in mentions}
    assert len(fake.calls("listNotifications")) == 1
    assert fake.calls("getPosts") == [], "repeats ask for no parent text"
    assert posts


def test_a_refused_write_is_rejected_with_the_reason_and_costs_no_login(fake: FakeBluesky) -> None:
    """400 `InvalidRequest` is the service refusing the call (here: the post was deleted after it
    was carded), not an expired session: a login for each would spend the 30 per 5 minutes."""
    mention = fake.add_mention("@agencypolice.bsky.social the light on 5th is out")
    connector = connect(fake)
    mentions, _ = poll(connector)
    del fake.posts[mention["uri"]]
    for _ in range(20):  # 40 refusals: more than the 30 logins the service allows in 5 minutes
        with pytest.raises(Rejected, match="Could not locate record"):
            connector.like(mentions[0])
        with pytest.raises(PostGone, match="no longer exists"):  # read first: not even sent
            connector.reply(mentions[0], "Thanks, we are on it")
    assert len(fake.logins) == 1
    assert len(fake.calls("createRecord")) == 20, "each refused write is sent once, not retried"
    assert fake.posted == []
    assert fake.likes == []


def test_a_reply_the_author_does_not_allow_is_refused_not_recorded_as_sent(fake: FakeBluesky) -> None:
    """Bluesky stores a reply a threadgate forbids, and hides it: read first, as the app does."""
    mention = fake.add_mention("@agencypolice.bsky.social the light on 5th is out")
    (found,), _ = poll(connect(fake))
    fake.gate(mention)
    with pytest.raises(Rejected, match="limits who can reply") as raised:
        connect(fake).reply(found, "Thanks, we are on it")
    assert not isinstance(raised.value, PostGone)
    assert fake.posted == []
    fake.gated.clear()
    fake.fail_next(r"getPosts$", Response(502, b"", headers={"content-type": "text/html"}))
    connect(fake).reply(found, "Thanks, we are on it")  # the check could not be made: tried
    assert len(fake.posted) == 1


def test_a_refused_read_costs_no_login(fake: FakeBluesky) -> None:
    connector = connect(fake)
    connector.identify()
    fake.fail_next(r"listNotifications$", Response(400, {"error": "InvalidRequest", "message": "bad cursor"}))
    with pytest.raises(TransientError, match="InvalidRequest: bad cursor"):
        poll(connector)
    assert len(fake.logins) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "ExpiredToken"),  # the PDS: an expired access JWT
        (400, "InvalidToken"),  # the PDS: a JWT it cannot verify
        (401, "AuthenticationRequired"),
        (401, "InvalidToken"),  # revoked
    ],
)
def test_a_token_the_service_no_longer_takes_costs_one_login_and_the_write_is_made(
    fake: FakeBluesky, status: int, error: str
) -> None:
    fake.add_mention()
    connector = connect(fake)
    mentions, _ = poll(connector)
    fake.fail_next(r"createRecord$", Response(status, {"error": error, "message": "Token has expired"}))
    connector.like(mentions[0])
    assert len(fake.logins) == 2
    assert len(fake.likes) == 1


def test_a_notification_indexed_late_below_the_cursor_is_still_read(fake: FakeBluesky) -> None:
    """`indexedAt` is the earlier of `createdAt` and the indexing time, so a post indexed late sorts
    below the newest one already read: the two-minute re-read still finds it."""
    base = datetime.now(UTC) - timedelta(minutes=10)
    fake.add_mention("first", created_at=base)
    connector = connect(fake)
    _, first = poll(connector)
    assert first.cursor is not None
    late = fake.add_mention("indexed late", created_at=base - timedelta(seconds=90))
    fake.requests.clear()
    found, second = poll(connector, first.cursor)
    assert late["uri"] in [m.external_id for m in found]
    assert second.requests == 1, "the re-read asks for no parent text and fits the first page"
    (listed,) = fake.calls("listNotifications")
    assert listed.query["limit"] == ["100"]


def test_a_mention_dated_well_before_the_cursor_is_read_and_paging_still_stops(fake: FakeBluesky) -> None:
    """A phone whose clock is slow, or a backdated post, sorts far below what the last poll read
    (`indexedAt` is the earlier of `createdAt` and the indexing time): on a page that is read, it
    is handed on, not dropped for its time, back to 24 hours. Paging stops at the page that
    reaches the cursor; a first poll reads back 24 hours only, and no later poll hands on what is
    older (a second poll of a new account must not card months-old notifications)."""
    base = datetime.now(UTC) - timedelta(minutes=20)
    old = [fake.add_mention(f"old {n}", created_at=base - timedelta(days=2, minutes=n)) for n in range(150)]
    first_mention = fake.add_mention("first", created_at=base)
    connector = connect(fake)
    found, first = poll(connector)
    assert [m.external_id for m in found] == [first_mention["uri"]], "older than 24 hours: not read"
    assert len(fake.calls("listNotifications")) == 1
    slow = fake.add_mention(
        "@agencypolice.bsky.social fire on 5th, my phone clock is slow",
        handle="slow.bsky.social",
        created_at=base - timedelta(minutes=5),
    )
    backdated = fake.add_mention("@agencypolice.bsky.social imported", created_at=base - timedelta(hours=20))
    fake.requests.clear()
    found, second = poll(connector, first.cursor)
    ids = [m.external_id for m in found]
    assert slow["uri"] in ids
    assert backdated["uri"] in ids
    assert second.requests == 1, "one page: it reaches below the cursor, so no further page is asked for"
    assert second.cursor == first.cursor
    assert not {m["uri"] for m in old} & set(ids), "older than 24 hours: never handed on"


def test_a_lone_surrogate_in_one_post_is_replaced_and_the_rest_is_read(fake: FakeBluesky) -> None:
    """A broken escape ("\\ud83d", half an emoji) in one post made the whole page unreadable, so
    every poll failed and the account read nothing again. It becomes U+FFFD instead."""
    base = datetime.now(UTC) - timedelta(minutes=30)
    post = fake.add_post("Road closed \ud83d today", created_at=base)
    good = fake.add_mention("where is the station?", created_at=base + timedelta(minutes=1))
    odd = fake.add_mention(
        "half an emoji \ud83d here", handle="odd.bsky.social", created_at=base + timedelta(minutes=2)
    )
    reply = fake.add_reply(
        post, "which road?", handle="kim.bsky.social", created_at=base + timedelta(minutes=3)
    )
    connector = connect(fake)
    found, first = poll(connector)
    by_id = {m.external_id: m for m in found}
    assert set(by_id) == {good["uri"], odd["uri"], reply["uri"]}
    assert by_id[odd["uri"]].text == "half an emoji \ufffd here"
    assert by_id[reply["uri"]].parent_text == "Road closed \ufffd today"
    later = fake.add_mention("@agencypolice.bsky.social a later question?", created_at=datetime.now(UTC))
    found, _ = poll(connector, first.cursor)
    assert later["uri"] in [m.external_id for m in found]


def test_every_item_on_a_full_page_gets_its_parent_text_25_posts_a_call(fake: FakeBluesky) -> None:
    base = datetime.now(UTC) - timedelta(hours=2)
    posts = [fake.add_post(f"Update number {n}", created_at=base) for n in range(60)]
    for n, post in enumerate(posts):
        fake.add_reply(post, f"question {n}", created_at=base + timedelta(minutes=1, seconds=n))
    fake.add_reply(posts[0], "a second question on the first post", created_at=base + timedelta(minutes=2))
    mentions, outcome = poll(connect(fake))
    assert len(mentions) == 61
    assert {m.parent_text for m in mentions} == {f"Update number {n}" for n in range(60)}
    asked = [len(call.query["uris"]) for call in fake.calls("getPosts")]
    assert sorted(asked) == [10, 25, 25], "60 distinct posts answered: three calls of at most 25"
    assert outcome.requests == 1 + 1 + 3  # login, one page of notifications, the posts answered


@pytest.mark.parametrize(
    "index",
    [{"byteStart": 5, "byteEnd": 99}, {"byteStart": 9, "byteEnd": 4}, {"byteStart": 1, "byteEnd": 2}],
)
def test_a_link_facet_that_does_not_fit_the_text_leaves_the_text_as_posted(index: dict[str, int]) -> None:
    """Out of range, backwards, or cutting a character in two (é is two bytes): not the app's facet."""
    record = {
        "text": "é see x.com/a...",
        "facets": [{"index": index, "features": [{"$type": LINK_FACET, "uri": "https://x.com/abc"}]}],
    }
    assert full_links(record) == "é see x.com/a..."
