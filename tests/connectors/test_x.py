"""The X connector: real tweepy against the fake X API v2 on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    Duplicate,
    PollOutcome,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.x import XConnector
from domain import Mention
from tests.support.fakes.server import Response
from tests.support.fakes.x_api import FakeX

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
HARD_TEXT = "Thanks 👮🏽‍♀️ شكرا لكم — e\u0301te\u0301 ok ✅"


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeX, *, bearer: bool = True, user: bool = True, timeout: float = 2.0) -> XConnector:
    creds: dict[str, Any] = fake.user_credentials if user else {}
    return XConnector(
        base_url=fake.url,
        timeout=timeout,
        bearer_token=fake.bearer_token if bearer else None,
        account_id=fake.me["id"],
        handle=fake.me["username"],
        **creds,
    )


def poll(connector: XConnector, cursor: str | None = None) -> tuple[list[Mention], int, PollOutcome]:
    outcome = PollOutcome()
    pages = list(connector.fetch(cursor, NOW, outcome))
    return [m for p in pages for m in p.mentions], sum(p.skipped for p in pages), outcome


def test_identify_asks_users_me_on_the_configured_host() -> None:
    """The account's id and handle come from GET /2/users/me, sent to X_API_URL, not api.twitter.com."""
    with FakeX(user_id="4242", username="CityPD", name="City Police") as fake:
        connector = XConnector(base_url=fake.url, timeout=2, **fake.user_credentials)
        identity = connector.identify()
    assert (identity.external_id, identity.handle, identity.name) == ("4242", "CityPD", "City Police")
    (request,) = fake.calls(r"^/2/users/me$")
    assert request.headers["authorization"].startswith("OAuth ")


def test_first_poll_reaches_back_only_the_first_poll_window(fake: FakeX) -> None:
    """A new install reads the last 24 hours of mentions, not the account's whole history."""
    fake.add_mention("old news", created_at=NOW - timedelta(hours=30))
    recent = fake.add_mention("fresh question?", created_at=NOW - timedelta(hours=2))
    mentions, _, outcome = poll(connect(fake))
    assert [m.external_id for m in mentions] == [recent["id"]]
    (request,) = fake.calls("/mentions$")
    assert request.query["start_time"] == ["2026-11-19T15:00:00Z"]
    assert "since_id" not in request.query
    assert request.headers["authorization"] == f"Bearer {fake.bearer_token}"
    assert outcome.cursor == recent["id"]
    assert outcome.requests == 1


def test_pages_are_yielded_one_at_a_time_and_the_cursor_comes_last(fake: FakeX) -> None:
    """Each page is handed over before the next request, so it can be stored first."""
    for n in range(250):
        fake.add_mention(f"mention {n}")
    outcome = PollOutcome()
    pages = connect(fake).fetch(None, NOW, outcome)
    first = next(pages)
    assert len(first.mentions) == 100
    assert len(fake.calls("/mentions$")) == 1
    assert outcome.cursor is None
    rest = list(pages)
    assert [len(p.mentions) for p in rest] == [100, 50]
    assert outcome.requests == 3
    assert outcome.cursor == fake.timeline[-1]
    tokens = [r.query.get("pagination_token") for r in fake.calls("/mentions$")]
    assert tokens[0] is None
    assert tokens[1]
    assert tokens[2]
    everything = [m.external_id for p in [first, *rest] for m in p.mentions]
    assert sorted(everything) == sorted(fake.timeline)


def test_an_idle_poll_is_one_request_that_rereads_only_the_cursor_post(fake: FakeX) -> None:
    """The overlap re-reads the cursor post itself; nothing new costs exactly one request."""
    last = fake.add_mention("hello")
    connector = connect(fake)
    mentions, _, outcome = poll(connector, last["id"])
    assert [m.external_id for m in mentions] == [last["id"]]
    assert outcome.requests == 1
    assert outcome.cursor == last["id"]
    assert fake.calls("/mentions$")[-1].query["since_id"] == [str(int(last["id"]) - 1)]
    newer = fake.add_mention("second")
    mentions, _, outcome = poll(connector, last["id"])
    assert {m.external_id for m in mentions} == {last["id"], newer["id"]}
    assert outcome.cursor == newer["id"]


def test_a_mention_is_mapped_with_author_parent_and_link(fake: FakeX) -> None:
    """Author from includes.users, parent excerpt from includes.tweets, the post's public URL."""
    original = fake.add_tweet("Road closure on Main St until 6pm", author=fake.me["username"])
    reply = fake.add_mention("is the bridge open?", author="jane_doe", reply_to=original)
    (mention,), _, _ = poll(connect(fake))
    assert mention.external_id == reply["id"]
    assert mention.author.handle == "jane_doe"
    assert mention.author.name == "Jane_Doe"
    assert mention.url == f"https://x.com/jane_doe/status/{reply['id']}"
    assert mention.parent_id == original["id"]
    assert mention.parent_text == "Road closure on Main St until 6pm"
    assert mention.conversation_id == original["id"]
    assert mention.explicit_mention is True
    assert mention.created_at == NOW - timedelta(hours=1)
    assert mention.raw["tweet"]["id"] == reply["id"]
    assert mention.raw["author"]["username"] == "jane_doe"


@pytest.mark.parametrize(
    ("kind", "explicit"),
    [("at-mention", True), ("reply without the handle", False), ("quote of our post", True)],
)
def test_explicit_mention_follows_xs_reply_restriction(fake: FakeX, kind: str, explicit: bool) -> None:
    """Only posts that @mention or quote the account may be answered through the API."""
    ours = fake.add_tweet("Our update", author=fake.me["username"])
    if kind == "at-mention":
        fake.add_mention("question for @agency")
    elif kind == "reply without the handle":
        fake.add_mention("nice", mentions_account=False, reply_to=ours)
    else:
        fake.add_mention("look at this", mentions_account=False, quote=ours)
    (mention,), _, _ = poll(connect(fake))
    assert mention.explicit_mention is explicit


def test_the_accounts_own_posts_are_never_ingested(fake: FakeX) -> None:
    fake.add_mention("we posted this ourselves @agency", author=fake.me["username"])
    theirs = fake.add_mention("a citizen's question")
    mentions, skipped, outcome = poll(connect(fake))
    assert [m.external_id for m in mentions] == [theirs["id"]]
    assert skipped == 0
    assert outcome.cursor == fake.timeline[-1]


@pytest.mark.parametrize("missing", ["text", "author_id", "id", "created_at"])
def test_an_item_missing_a_field_is_skipped_and_the_rest_kept(fake: FakeX, missing: str) -> None:
    good = fake.add_mention("fine")
    fake.add_mention("broken", omit=(missing,))
    mentions, skipped, _ = poll(connect(fake))
    assert [m.external_id for m in mentions] == [good["id"]]
    assert skipped == 1


def test_emoji_rtl_combining_and_a_10000_character_text_survive_unchanged(fake: FakeX) -> None:
    long_text = "@agency " + ("ab😀" * 3400)[:9992]
    fake.add_mention(HARD_TEXT)
    fake.add_mention(long_text)
    mentions, _, _ = poll(connect(fake))
    texts = {m.text for m in mentions}
    assert "@agency " + HARD_TEXT in texts
    assert long_text in texts
    assert len(long_text) == 10_000


def test_text_x_sends_html_escaped_is_read_as_its_author_typed_it(fake: FakeX) -> None:
    """X escapes `&`, `<` and `>` in a post's text; the card and the classifier get the typed text,
    a typed "&amp;" included, for the mention and for its parent."""
    typed = "Me & my kids saw it <3 -> is Main & 5th closed? (I typed &amp; myself)"
    parent = fake.add_tweet("Crash at Main & 5th: avoid the area <update>", author=fake.me["username"])
    fake.add_mention(typed, reply_to=parent)
    wire = requests.get(
        f"{fake.url}/2/users/{fake.me['id']}/mentions",
        headers={"Authorization": f"Bearer {fake.bearer_token}"},
        timeout=5,
    ).json()
    assert "Me &amp; my kids saw it &lt;3 -&gt;" in wire["data"][0]["text"]
    (mention,), _, _ = poll(connect(fake))
    assert mention.text == f"@agency {typed}"
    assert mention.parent_text == "Crash at Main & 5th: avoid the area <update>"


def test_a_long_post_is_read_whole_from_note_tweet_not_cut_at_280(fake: FakeX) -> None:
    """X Premium posts run past 280 characters and come cut short in `text`; what matters in
    them (here, that it is happening right now) is often at the end."""
    story = "so this is the third time this month i am writing about the house next door " * 4
    typed = story + "and right now a man is kicking in their back door with a crowbar"
    fake.add_mention(typed)
    (mention,), _, _ = poll(connect(fake))
    assert "note_tweet" in fake.calls("/mentions$")[-1].query["tweet.fields"][0].split(",")
    assert mention.text.endswith("kicking in their back door with a crowbar")
    assert mention.text == f"@agency {typed}"


def test_a_repost_is_not_a_mention_to_answer_but_the_cursor_moves_past_it(fake: FakeX) -> None:
    """A repost of the account's post (or of a post naming it) is in the mentions timeline, but
    its reposter wrote nothing: no card, and no complaint of a malformed item."""
    ours = fake.add_tweet("Road closure on Main St until 6pm", author=fake.me["username"])
    question = fake.add_mention("is the bridge open too?", author="jane")
    fake.add_retweet(ours, author="fan")
    last = fake.add_retweet(question, author="bob")
    mentions, skipped, outcome = poll(connect(fake))
    assert [m.external_id for m in mentions] == [question["id"]]
    assert skipped == 0
    assert outcome.cursor == last["id"]


def test_reading_with_only_user_credentials_signs_with_oauth1(fake: FakeX) -> None:
    fake.add_mention("hi")
    mentions, _, _ = poll(connect(fake, bearer=False))
    assert len(mentions) == 1
    assert fake.calls("/mentions$")[0].headers["authorization"].startswith("OAuth ")


def test_a_backlog_beyond_the_reachable_window_is_reported(fake: FakeX) -> None:
    """900 mentions since the cursor: X serves 800, the cursor post is not reached, so it is a gap."""
    cursor = fake.add_mention("last one we saw")
    for n in range(900):
        fake.add_mention(f"flood {n}")
    mentions, _, outcome = poll(connect(fake), cursor["id"])
    assert len(mentions) == 800
    assert outcome.requests == 8
    assert outcome.backlog_gap is True
    assert "800" in outcome.notes[0]


def test_a_full_window_that_still_reaches_the_cursor_is_not_a_gap(fake: FakeX) -> None:
    cursor = fake.add_mention("last one we saw")
    for n in range(700):
        fake.add_mention(f"busy {n}")
    _, _, outcome = poll(connect(fake), cursor["id"])
    assert outcome.backlog_gap is False


def test_a_batch_just_short_of_the_cap_that_misses_the_cursor_is_a_gap(fake: FakeX) -> None:
    """X's "about 800" is fewer when posts inside its window were deleted: 760 served, 240 lost."""
    cursor = fake.add_mention("last one we saw")
    for n in range(1000):
        fake.add_mention(f"flood {n}")
    fake.reachable = 760
    mentions, _, outcome = poll(connect(fake), cursor["id"])
    assert len(mentions) == 760
    assert outcome.backlog_gap is True
    assert "760" in outcome.notes[0]


def test_a_missing_cursor_post_in_a_small_batch_is_a_deletion_not_a_gap(fake: FakeX) -> None:
    cursor = fake.add_mention("last one we saw, since deleted")
    for n in range(300):
        fake.add_mention(f"busy {n}")
    fake.reachable = 300  # the cursor post is gone: X serves the 300 newer ones only
    _, _, outcome = poll(connect(fake), cursor["id"])
    assert outcome.backlog_gap is False


def _rate_limited(fake: FakeX) -> None:
    fake.rate_limit_next(int(NOW.timestamp()) + 600)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("429", RateLimited),
        ("401", AuthFailed),
        ("500", TransientError),
        ("503-html", TransientError),
        ("bad-json", TransientError),
        ("json-list", TransientError),
        ("no-data-list", TransientError),
        ("timeout", TransientError),
    ],
)
def test_read_failures_map_to_connector_errors(fake: FakeX, fault: str, error: type[ConnectorError]) -> None:
    fake.add_mention("hi")
    faults = {
        "401": Response(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}),
        "500": Response(500, {"title": "Internal Server Error", "status": 500}),
        "503-html": Response(503, "<html>Over capacity</html>"),
        "bad-json": Response(200, b'{"data": [', headers={"content-type": "application/json"}),
        "json-list": Response(200, [1, 2, 3]),
        "no-data-list": Response(200, {"data": {"id": "1"}, "meta": {}}),
        "timeout": Response(200, {"meta": {"result_count": 0}}, delay=1.0),
    }
    if fault == "429":
        _rate_limited(fake)
    else:
        fake.fail_next("/mentions$", faults[fault])
    with pytest.raises(error) as raised:
        poll(connect(fake, timeout=0.3))
    if fault == "429":
        assert isinstance(raised.value, RateLimited)
        assert raised.value.reset_at == NOW + timedelta(minutes=10)
    assert fake.bearer_token not in str(raised.value)


def test_reply_posts_an_in_reply_to_tweet_with_user_context(fake: FakeX) -> None:
    tweet = fake.add_mention("where do I get a permit?")
    (mention,), _, _ = poll(connect(fake))
    posted = connect(fake).reply(mention, "Hi! Permits are at city hall, window 3.")
    (request,) = fake.calls("^/2/tweets$", "POST")
    assert request.json == {
        "text": "Hi! Permits are at city hall, window 3.",
        "reply": {"in_reply_to_tweet_id": tweet["id"]},
    }
    assert request.headers["authorization"].startswith("OAuth ")
    assert posted.external_id == fake.replies[0]["id"]
    assert posted.url == f"https://x.com/agency/status/{posted.external_id}"


def test_like_uses_the_accounts_own_id(fake: FakeX) -> None:
    fake.add_mention("great job")
    (mention,), _, _ = poll(connect(fake))
    connect(fake).like(mention)
    (request,) = fake.calls(r"^/2/users/1000/likes$", "POST")
    assert request.json == {"tweet_id": mention.external_id}
    assert fake.likes == [mention.external_id]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("duplicate", Rejected),
        ("restricted", Rejected),
        ("400", Rejected),
        ("401", AuthFailed),
        ("429", RateLimited),
        ("500", AmbiguousOutcome),
        ("timeout", AmbiguousOutcome),
        ("bad-json", AmbiguousOutcome),
    ],
)
def test_reply_failures_say_whether_the_post_may_exist(
    fake: FakeX, fault: str, error: type[ConnectorError]
) -> None:
    """Definite refusals are Rejected; anything after which the post may exist is AmbiguousOutcome."""
    ours = fake.add_tweet("Our update", author=fake.me["username"])
    fake.add_mention("nice", mentions_account=fault != "restricted", reply_to=ours)
    (mention,), _, _ = poll(connect(fake))
    connector = connect(fake, timeout=0.3)
    if fault == "duplicate":
        connector.reply(mention, "Thank you!")
    faults = {
        "400": Response(400, {"title": "Invalid Request", "detail": "text too long", "status": 400}),
        "401": Response(401, {"title": "Unauthorized", "status": 401}),
        "429": Response(429, {"title": "Too Many Requests"}, headers={"x-rate-limit-reset": "1795000000"}),
        "500": Response(500, {"title": "Internal Server Error"}),
        "timeout": Response(201, {"data": {"id": "1"}}, delay=1.0),
        "bad-json": Response(201, b"{oops", headers={"content-type": "application/json"}),
    }
    if fault in faults:
        fake.fail_next("^/2/tweets$", faults[fault])
    with pytest.raises(error):
        connector.reply(mention, "Thank you!")


def test_a_duplicate_content_refusal_says_how_to_get_the_reply_out(fake: FakeX) -> None:
    """The same template sent to two people: X refuses the second, and staff need to know why."""
    first, second = fake.add_mention("thanks!"), fake.add_mention("thank you all")
    mentions, _, _ = poll(connect(fake))
    by_id = {m.external_id: m for m in mentions}
    connector = connect(fake)
    connector.reply(by_id[first["id"]], "Thank you, we appreciate it.")
    with pytest.raises(Duplicate, match="change a few words and send again"):
        connector.reply(by_id[second["id"]], "Thank you, we appreciate it.")


def test_a_reply_to_a_deleted_post_says_the_post_is_gone(fake: FakeX) -> None:
    """Sending again can never work, so this is told apart from other refusals."""
    tweet = fake.add_mention("where is the station?")
    (mention,), _, _ = poll(connect(fake))
    del fake.tweets[tweet["id"]]
    with pytest.raises(PostGone, match="no longer exists"):
        connect(fake).reply(mention, "On Main Street.")
    assert fake.replies == []


def test_a_post_the_account_can_no_longer_see_is_not_taken_for_deleted(fake: FakeX) -> None:
    """X answers "deleted or not visible to you" when the author blocked the account too; only its
    "Not Found Error" on looking the post up says it is gone."""
    tweet = fake.add_mention("where is the station?")
    (mention,), _, _ = poll(connect(fake))
    fake.hidden.add(tweet["id"])
    with pytest.raises(Rejected, match="blocked the account") as raised:
        connect(fake).reply(mention, "On Main Street.")
    assert not isinstance(raised.value, PostGone)
    assert fake.replies == []
    assert len(fake.calls(rf"^/2/tweets/{tweet['id']}$")) == 1


def test_a_reply_refused_for_other_reasons_is_not_taken_for_a_deleted_post(fake: FakeX) -> None:
    fake.add_mention("hi")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("^/2/tweets$", Response(400, {"title": "Invalid Request", "detail": "text too long"}))
    with pytest.raises(Rejected) as raised:
        connect(fake).reply(mention, "hello")
    assert not isinstance(raised.value, (PostGone, Duplicate))


@pytest.mark.parametrize("cap", ["x-user-limit-24hour", "x-app-limit-24hour"])
def test_a_reply_past_the_daily_cap_waits_for_the_daily_reset(fake: FakeX, cap: str) -> None:
    """X's 15-minute window may reopen hours before the account's (or the app's: a free-tier
    app's few dozen posts a day) 24-hour cap on posts does."""
    fake.add_mention("hi")
    (mention,), _, _ = poll(connect(fake))
    window, day = int(NOW.timestamp()) + 600, int(NOW.timestamp()) + 5 * 3600
    headers = {"x-rate-limit-reset": str(window), f"{cap}-remaining": "0", f"{cap}-reset": str(day)}
    fake.fail_next("^/2/tweets$", Response(429, {"title": "Too Many Requests"}, headers=headers))
    with pytest.raises(RateLimited) as raised:
        connect(fake).reply(mention, "hello")
    assert raised.value.reset_at == NOW + timedelta(hours=5)


def test_check_all_proves_the_bearer_token_that_polls_will_read_with(fake: FakeX) -> None:
    """Good user keys and a wrong bearer token: `identify` (user keys) passes, the connect-time
    `check_all` fails naming the bearer token; polls and start-up make no extra request."""
    connector = XConnector(
        base_url=fake.url, timeout=2, bearer_token="wrong-bearer-token", **fake.user_credentials
    )
    assert connector.identify().external_id == fake.me["id"]
    assert fake.calls(r"/mentions$") == []
    with pytest.raises(AuthFailed, match="bearer token") as raised:
        connector.check_all()
    assert raised.value.field == "bearer_token"
    assert "wrong-bearer-token" not in str(raised.value)
    (request,) = fake.calls(r"/mentions$")
    assert request.headers["authorization"] == "Bearer wrong-bearer-token"
    good = XConnector(base_url=fake.url, timeout=2, bearer_token=fake.bearer_token, **fake.user_credentials)
    good.check_all()


def test_replying_with_only_a_bearer_token_is_refused_before_any_request(fake: FakeX) -> None:
    fake.add_mention("hello")
    (mention,), _, _ = poll(connect(fake, user=False))
    with pytest.raises(Rejected, match="user credentials"):
        connect(fake, user=False).reply(mention, "hi")
    assert fake.calls("^/2/tweets$") == []


def test_an_item_with_a_field_of_the_wrong_type_is_skipped_and_the_rest_kept(fake: FakeX) -> None:
    good = fake.add_mention("fine")
    odd = {**fake.add_mention("odd"), "referenced_tweets": 5}
    body = {"data": [odd, good], "meta": {"newest_id": odd["id"], "result_count": 2}}
    fake.fail_next("/mentions$", Response(200, body))
    mentions, skipped, _ = poll(connect(fake))
    assert [m.external_id for m in mentions] == [good["id"]]
    assert skipped == 1


def test_a_page_whose_user_list_is_not_a_list_keeps_its_mentions(fake: FakeX) -> None:
    tweet = fake.add_mention("who am I")
    body = {"data": [tweet], "includes": {"users": 5}, "meta": {"newest_id": tweet["id"], "result_count": 1}}
    fake.fail_next("/mentions$", Response(200, body))
    (mention,), skipped, _ = poll(connect(fake))
    assert (mention.external_id, mention.author.handle, skipped) == (tweet["id"], "", 0)


@pytest.mark.parametrize("reset", [10**15, 10**12 * 1000])  # milliseconds, or absurd
def test_a_rate_limit_with_a_reset_that_makes_no_sense_is_still_a_rate_limit(fake: FakeX, reset: int) -> None:
    fake.add_mention("hi")
    fake.rate_limit_next(reset)
    with pytest.raises(RateLimited) as raised:
        poll(connect(fake))
    assert raised.value.reset_at is None


@pytest.mark.parametrize("reset", ["soon", "1795000000.5", ""])
def test_a_rate_limit_with_an_unreadable_reset_is_still_a_rate_limit(fake: FakeX, reset: str) -> None:
    """tweepy reads the header with int() before it raises: unreadable, it was a ValueError."""
    limited = Response(429, {"title": "Too Many Requests"}, headers={"x-rate-limit-reset": reset})
    mention = fake.add_mention("hi")
    fake.fail_next("/mentions$", limited)
    with pytest.raises(RateLimited) as raised:
        poll(connect(fake))
    assert raised.value.reset_at is None
    (stored,), _, _ = poll(connect(fake))
    fake.fail_next("^/2/tweets$", limited)
    with pytest.raises(RateLimited):
        connect(fake).reply(stored, "Thanks for reaching out.")
    assert stored.external_id == mention["id"]
    assert fake.replies == []


def test_a_page_token_that_repeats_stops_the_poll_and_keeps_the_cursor(fake: FakeX) -> None:
    loop = Response(200, {"data": [], "meta": {"result_count": 0, "next_token": "again"}})
    fake.fail_next("/mentions$", loop, times=100)
    outcome = PollOutcome()
    with pytest.raises(TransientError, match="kept paging"):
        list(connect(fake).fetch("1500", NOW, outcome))
    assert outcome.cursor is None
    assert len(fake.calls("/mentions$")) == 2


def test_a_like_x_does_not_confirm_is_not_reported_as_done(fake: FakeX) -> None:
    tweet = fake.add_mention("thanks for everything")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("/likes$", Response(200, {"data": {"liked": False}}))
    with pytest.raises(AmbiguousOutcome, match="did not confirm"):
        connect(fake).like(mention)
    assert tweet["id"] not in fake.likes


def test_a_page_of_errors_alone_is_a_failure_not_an_idle_poll(fake: FakeX) -> None:
    fake.add_mention("hi")
    body = {"errors": [{"title": "Forbidden", "detail": "This account is suspended"}]}
    fake.fail_next("/mentions$", Response(200, body))
    outcome = PollOutcome()
    with pytest.raises(TransientError, match="account is suspended"):
        list(connect(fake).fetch(None, NOW, outcome))
    assert outcome.requests == 1, "a refused request is still counted"
