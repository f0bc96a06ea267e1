"""The Facebook connector: real facebook-sdk against the fake Graph API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    PollOutcome,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.facebook import FacebookConnector
from domain import Mention
from tests.support.fakes.graph_api import FakeGraph, graph_error, rate_limited
from tests.support.fakes.server import Response

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with FakeGraph(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeGraph, *, timeout: float = 2.0, version: str = "v25.0") -> FacebookConnector:
    return FacebookConnector(
        base_url=fake.url,
        version=version,
        timeout=timeout,
        page_id=fake.page["id"],
        page_token=fake.page_token,
        lookback_days=3,
    )


def poll(
    connector: FacebookConnector,
    cursor: str | None = None,
    progress: dict[str, str] | None = None,
    now: datetime = NOW,
) -> tuple[list[Mention], int, PollOutcome]:
    """One poll as the bot runs it: each page's progress is kept in `progress` as it arrives."""
    outcome = PollOutcome()
    kept = progress if progress is not None else {}
    mentions: list[Mention] = []
    skipped = 0
    for page in connector.fetch(cursor, now, outcome, dict(kept)):
        mentions += page.mentions
        skipped += page.skipped
        for key, value in page.progress.items():
            if value is None:
                kept.pop(key, None)
            else:
                kept[key] = value
    return mentions, skipped, outcome


PAGE_PATH = r"^/v25\.0/104857600000001$"  # the Page object, with its feed and tagged edges expanded


def test_identify_reads_the_page_with_the_configured_graph_version(fake: FakeGraph) -> None:
    """The library's own version check is bypassed: requests go to /v25.0/, on FACEBOOK_GRAPH_URL."""
    identity = connect(fake, version="v24.0").identify()
    assert (identity.platform, identity.external_id, identity.name) == (
        "facebook",
        fake.page["id"],
        "Agency Police",
    )
    (request,) = fake.requests
    assert request.path == f"/v24.0/{fake.page['id']}"
    assert request.query["fields"] == ["id,name"]
    assert request.query["access_token"] == [fake.page_token]


def test_identify_of_an_unknown_page_is_a_definite_refusal(fake: FakeGraph) -> None:
    connector = FacebookConnector(
        base_url=fake.url, version="v25.0", timeout=2, page_id="999", page_token=fake.page_token
    )
    with pytest.raises(Rejected):
        connector.identify()


def test_first_poll_reads_recent_comments_on_every_watched_post_including_replies(fake: FakeGraph) -> None:
    old_post = fake.add_post("Last week's update", created_at=NOW - timedelta(days=5))
    late = fake.add_comment(old_post, "late comment on an old post")
    fake.add_comment(old_post, "from before the first-poll window", created_at=NOW - timedelta(days=4))
    post = fake.add_post("Road closure on Main St today")
    question = fake.add_comment(post, "Is the bridge open?", author="Jane Doe")
    answer = fake.add_comment(post, "I think so", author="Sam Roe", parent=question)
    fake.add_page_comment(post, "Yes, it is open.", parent=question)
    mentions, skipped, outcome = poll(connect(fake))
    by_id = {m.external_id: m for m in mentions}
    assert set(by_id) == {question["id"], answer["id"], late["id"]}
    assert skipped == 0
    top = by_id[question["id"]]
    assert top.author.name == "Jane Doe"
    assert top.parent_id == post["id"]
    assert top.parent_text == "Road closure on Main St today"
    assert top.conversation_id == post["id"]
    assert top.url == question["permalink_url"]
    assert top.explicit_mention is True
    reply = by_id[answer["id"]]
    assert reply.parent_id == question["id"]
    assert reply.parent_text == "Is the bridge open?"
    listing = fake.calls(PAGE_PATH)[0]
    watch = int((NOW - timedelta(days=90)).timestamp())
    assert listing.query["fields"][0].startswith(f"feed.since({watch}).limit(100){{id,message,created_time,")
    assert "tagged.limit(25){" in listing.query["fields"][0]
    comments_request = fake.calls("/comments$")[0]
    assert comments_request.query["filter"] == ["stream"]
    assert comments_request.query["order"] == ["reverse_chronological"]
    assert outcome.cursor == (NOW - timedelta(hours=1)).isoformat()


def test_comment_paging_follows_next_links_and_stops_at_the_cursor(fake: FakeGraph) -> None:
    """250 new comments take three pages; the next poll reads only back to the cursor minus overlap."""
    post = fake.add_post(created_at=NOW - timedelta(hours=6))
    for n in range(250):
        fake.add_comment(post, f"comment {n}", created_at=NOW - timedelta(hours=5) + timedelta(minutes=n))
    progress: dict[str, str] = {}
    mentions, _, outcome = poll(connect(fake), progress=progress)
    assert len({m.external_id for m in mentions}) == 250
    assert len(fake.calls("/comments$")) == 3
    assert outcome.requests == 4
    fake.requests.clear()
    newer = fake.add_comment(post, "one more", created_at=NOW - timedelta(minutes=1))
    mentions, _, outcome = poll(connect(fake), outcome.cursor, progress)
    ids = [m.external_id for m in mentions]
    assert newer["id"] in ids
    assert len(ids) < 20  # only the overlap window is re-read
    assert len(fake.calls("/comments$")) == 1
    assert outcome.cursor == (NOW - timedelta(minutes=1)).isoformat()


def test_a_comment_listed_late_is_read_by_the_next_poll_then_the_post_settles(fake: FakeGraph) -> None:
    """Graph can list a comment a little after it moved the post's updated_time: a post active
    shortly before a read is read once more; after that a quiet Page costs one request."""
    post = fake.add_post(created_at=NOW - timedelta(hours=2))
    fake.add_comment(post, "first", created_at=NOW - timedelta(minutes=1))
    progress: dict[str, str] = {}
    _, _, outcome = poll(connect(fake), progress=progress)
    late = fake.add_comment(post, "delivered late", created_at=NOW - timedelta(minutes=2))
    mentions, _, outcome = poll(connect(fake), outcome.cursor, progress, now=NOW + timedelta(minutes=2))
    assert late["id"] in {m.external_id for m in mentions}
    mentions, _, outcome = poll(connect(fake), outcome.cursor, progress, now=NOW + timedelta(minutes=15))
    assert (mentions, outcome.requests) == ([], 1)


@pytest.mark.parametrize("typed", ["", None])
def test_a_photo_or_sticker_comment_without_words_is_kept(fake: FakeGraph, typed: str | None) -> None:
    """A comment that is only a photo (Graph: an `attachment`, and `message` empty or absent) is
    somebody talking to the Page, and so is a visitor's photo posted without a caption."""
    post = fake.add_post("Missing child, please share")
    photo = fake.add_comment(post, typed or "", photo=True, omit=() if typed == "" else ("message",))
    visitor = fake.add_post("", author="Neighbour")
    del fake.posts[visitor["id"]]["message"]
    mentions, skipped, _ = poll(connect(fake))
    found = {m.external_id: m for m in mentions}
    assert (set(found), skipped) == ({photo["id"], visitor["id"]}, 0)
    assert found[photo["id"]].text == found[visitor["id"]].text == ""
    assert found[photo["id"]].url == photo["permalink_url"]
    assert found[photo["id"]].raw["comment"]["attachment"]["type"] == "photo"


@pytest.mark.parametrize("missing", ["id", "created_time"])
def test_a_comment_missing_a_field_is_skipped_and_the_rest_kept(fake: FakeGraph, missing: str) -> None:
    post = fake.add_post()
    good = fake.add_comment(post, "fine")
    fake.add_comment(post, "broken", omit=(missing,))
    mentions, skipped, _ = poll(connect(fake))
    assert [m.external_id for m in mentions] == [good["id"]]
    assert skipped == 1


def test_emoji_rtl_combining_and_a_10000_character_comment_survive(fake: FakeGraph) -> None:
    post = fake.add_post()
    text = "שלום 👋🏿 Ma\u0308dchen " + "x" * 9970
    fake.add_comment(post, text)
    (mention,), _, _ = poll(connect(fake))
    assert mention.text == text


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (graph_error(190, "Error validating access token"), AuthFailed),
        (graph_error(10, "(#10) Requires pages_read_engagement permission", status=403), AuthFailed),
        (graph_error(4, "(#4) Application request limit reached", status=403), RateLimited),
        (graph_error(17, "(#17) User request limit reached", status=403), RateLimited),
        (graph_error(32, "(#32) Page request limit reached", status=403), RateLimited),
        (graph_error(613, "(#613) Calls to this api have exceeded the rate limit.", status=403), RateLimited),
        (Response(500, {"error": {"message": "An unknown error occurred", "code": 1}}), TransientError),
        (Response(502, "<html>Bad Gateway</html>"), TransientError),
        (Response(200, b'{"data": [', headers={"content-type": "application/json"}), TransientError),
        (Response(200, {"no": "data"}), TransientError),
        (Response(200, {"data": []}, delay=1.0), TransientError),
    ],
)
def test_read_failures_map_to_connector_errors(
    fake: FakeGraph, fault: Response, error: type[ConnectorError]
) -> None:
    fake.add_post()
    fake.fail_next(PAGE_PATH, fault)
    with pytest.raises(error) as raised:
        poll(connect(fake, timeout=0.3))
    assert fake.page_token not in str(raised.value)


def test_a_revoked_token_is_an_auth_failure(fake: FakeGraph) -> None:
    fake.add_post()
    fake.revoke()
    with pytest.raises(AuthFailed, match="190"):
        poll(connect(fake))


def test_reply_comments_on_the_comment_and_like_likes_it(fake: FakeGraph) -> None:
    post = fake.add_post()
    comment = fake.add_comment(post, "Where do I pick up my report?")
    (mention,), _, _ = poll(connect(fake))
    posted = connect(fake).reply(mention, "Records window, 9-5 weekdays.")
    connect(fake).like(mention)
    (request,) = fake.calls(rf"^/v25.0/{comment['id']}/comments$", "POST")
    assert request.form["message"] == "Records window, 9-5 weekdays."
    assert fake.comment_replies == [
        {"object_id": comment["id"], "message": "Records window, 9-5 weekdays.", "id": posted.external_id}
    ]
    assert posted.url == f"https://www.facebook.com/{posted.external_id}"
    assert fake.likes == [comment["id"]]


def test_an_answer_to_a_reply_goes_to_its_top_level_comment(fake: FakeGraph) -> None:
    """Facebook threads are one level deep, so the answer joins the thread the reply is in."""
    post = fake.add_post()
    question = fake.add_comment(post, "Is the bridge open?", created_at=NOW - timedelta(minutes=5))
    follow_up = fake.add_comment(post, "And the tunnel?", parent=question)
    mentions, _, _ = poll(connect(fake))
    (reply,) = [m for m in mentions if m.external_id == follow_up["id"]]
    connect(fake).reply(reply, "Both are open.")
    assert fake.comment_replies[0]["object_id"] == question["id"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (graph_error(100, "(#100) Invalid parameter"), Rejected),
        (graph_error(190, "Error validating access token"), AuthFailed),
        (graph_error(32, "(#32) Page request limit reached", status=403), RateLimited),
        (graph_error(341, "(#341) Feed action request limit reached"), RateLimited),
        (
            Response(
                400,
                {
                    "error": {
                        "message": "We limit how often you can post, comment or do other things",
                        "code": 368,
                        "error_subcode": 1390008,
                    }
                },
            ),
            RateLimited,
        ),
        (
            graph_error(368, "The action attempted has been deemed abusive or is otherwise disallowed"),
            Rejected,
        ),
        (Response(500, {"error": {"message": "An unknown error occurred", "code": 1}}), AmbiguousOutcome),
        (Response(503, "<html>unavailable</html>"), AmbiguousOutcome),
        (Response(200, {"id": "1_2"}, delay=1.0), AmbiguousOutcome),
        (Response(200, b"{", headers={"content-type": "application/json"}), AmbiguousOutcome),
    ],
)
def test_reply_failures_say_whether_the_comment_may_exist(
    fake: FakeGraph, fault: Response, error: type[ConnectorError]
) -> None:
    post = fake.add_post()
    fake.add_comment(post, "hello")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("/comments$", fault)
    with pytest.raises(error):
        connect(fake, timeout=0.3).reply(mention, "Hi!")


@pytest.mark.parametrize(
    "fault",
    [
        None,  # the comment really is gone from the fake
        graph_error(100, "Unsupported post request. Object with ID '1_2' does not exist"),
        Response(400, {"error": {"message": "(#100) Whatever", "code": 100, "error_subcode": 33}}),
    ],
)
def test_a_reply_to_a_deleted_comment_says_it_is_gone(fake: FakeGraph, fault: Response | None) -> None:
    post = fake.add_post()
    comment = fake.add_comment(post, "when does the road reopen?")
    (mention,), _, _ = poll(connect(fake))
    if fault is None:
        del fake.comments[comment["id"]]
    else:
        fake.fail_next("/comments$", fault)
    with pytest.raises(PostGone, match="no longer exists"):
        connect(fake).reply(mention, "Tomorrow at 6.")


def test_a_bad_parameter_is_not_taken_for_a_deleted_comment(fake: FakeGraph) -> None:
    """Code 100 also means a malformed request: sending a fixed reply could still work."""
    post = fake.add_post()
    fake.add_comment(post, "hello")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("/comments$", graph_error(100, "(#100) Invalid parameter"))
    with pytest.raises(Rejected) as raised:
        connect(fake).reply(mention, "Hi!")
    assert not isinstance(raised.value, PostGone)


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_a_rate_limited_reply_says_when_graph_lets_the_page_in_again(fake: FakeGraph, code: int) -> None:
    """Graph's usage header estimates the minutes until access returns (12 in the fake)."""
    post = fake.add_post()
    fake.add_comment(post, "hello")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("/comments$", rate_limited(code))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as raised:
        connect(fake).reply(mention, "Hi!")
    reset_at = raised.value.reset_at
    assert reset_at is not None
    assert before + timedelta(minutes=12) <= reset_at <= datetime.now(UTC) + timedelta(minutes=12)


def test_a_rate_limit_without_an_estimate_has_no_reset_time(fake: FakeGraph) -> None:
    post = fake.add_post()
    fake.add_comment(post, "hello")
    (mention,), _, _ = poll(connect(fake))
    fake.fail_next("/comments$", graph_error(613, "(#613) Calls to this api have exceeded the rate limit."))
    with pytest.raises(RateLimited) as raised:
        connect(fake).reply(mention, "Hi!")
    assert raised.value.reset_at is None


@pytest.mark.parametrize("created", ["yesterday", "2026-11-20T14:00:00"])  # no offset: ambiguous
def test_a_comment_with_an_unreadable_time_is_skipped_and_the_rest_kept(
    fake: FakeGraph, created: object
) -> None:
    post = fake.add_post()
    good = fake.add_comment(post, "fine")
    odd = fake.add_comment(post, "when was this")
    fake.comments[odd["id"]]["created_time"] = created
    mentions, skipped, _ = poll(connect(fake))
    assert [m.external_id for m in mentions] == [good["id"]]
    assert skipped == 1


def test_a_post_whose_comments_cannot_be_read_does_not_block_the_others(fake: FakeGraph) -> None:
    """A post deleted since it was listed answers code 100; its neighbours are still read."""
    gone, kept = fake.add_post("deleted a moment ago"), fake.add_post("still here")
    fake.add_comment(gone, "on the deleted post")
    comment = fake.add_comment(kept, "a question about the parade")
    fake.fail_next(rf"/{gone['id']}/comments$", graph_error(100, "Object does not exist"), times=5)
    mentions, _, outcome = poll(connect(fake))
    assert [m.external_id for m in mentions] == [comment["id"]]
    assert outcome.cursor is not None
    assert any(gone["id"] in note and "100" in note for note in outcome.notes)


def test_a_post_graph_cannot_serve_now_does_not_keep_the_others_from_staff(fake: FakeGraph) -> None:
    """Graph can fail one post's comments poll after poll (HTTP 500, "service temporarily
    unavailable"): the other posts are read, the poll says it is partial and keeps the cursor,
    and the post's comments come once Graph serves them."""
    older = fake.add_post("older post", created_at=NOW - timedelta(hours=5))
    urgent = fake.add_comment(older, "man with a gun at the school", created_at=NOW - timedelta(hours=2))
    busy = fake.add_post("busy post", created_at=NOW - timedelta(hours=1))
    late = fake.add_comment(busy, "when is the parade", created_at=NOW - timedelta(minutes=30))
    unavailable = Response(500, {"error": {"message": "Service temporarily unavailable", "code": 2}})
    fake.fail_next(rf"/{busy['id']}/comments$", unavailable)
    progress: dict[str, str] = {}
    mentions, _, outcome = poll(connect(fake), "2026-11-20T10:00:00+00:00", progress)
    assert [m.external_id for m in mentions] == [urgent["id"]]
    assert outcome.partial
    assert outcome.cursor == "2026-11-20T10:00:00+00:00"
    assert any(busy["id"] in note for note in outcome.notes)
    mentions, _, outcome = poll(connect(fake), outcome.cursor, progress, now=NOW + timedelta(minutes=1))
    assert late["id"] in {m.external_id for m in mentions}
    assert not outcome.partial


def test_comments_graph_finds_too_big_to_serve_are_asked_for_in_smaller_pages(fake: FakeGraph) -> None:
    """Long comments or heavy attachments make Graph refuse a page at its size ("please reduce
    the amount of data you're asking for"), every time: asking again for the same page with
    fewer items reads every comment in the same poll, instead of none, poll after poll."""
    post = fake.add_post("Photos from the parade", created_at=NOW - timedelta(hours=2))
    comments = [
        fake.add_comment(post, f"comment {n} " + "so long " * 100, created_at=NOW - timedelta(minutes=n))
        for n in range(30)
    ]
    fake.heavy[f"{post['id']}/comments"] = 20
    mentions, _, outcome = poll(connect(fake), "2026-11-20T10:00:00+00:00")
    assert {m.external_id for m in mentions} == {c["id"] for c in comments}
    assert not outcome.partial
    asked = [int(r.param("limit") or 0) for r in fake.calls(rf"/{post['id']}/comments$")]
    assert asked[:4] == [100, 50, 25, 12]
    assert all(limit == 12 for limit in asked[4:])


def test_a_post_too_big_to_serve_even_in_small_pages_waits_without_holding_up_the_others(
    fake: FakeGraph,
) -> None:
    """At five items a page Graph still refusing gives up on that post for this poll only."""
    heavy = fake.add_post("Bodycam release", created_at=NOW - timedelta(hours=1))
    fake.add_comment(heavy, "a very long comment", created_at=NOW - timedelta(minutes=20))
    calm = fake.add_post("Road closure", created_at=NOW - timedelta(hours=2))
    kept = fake.add_comment(calm, "which lanes are closed", created_at=NOW - timedelta(minutes=30))
    fake.heavy[f"{heavy['id']}/comments"] = 2
    mentions, _, outcome = poll(connect(fake), "2026-11-20T10:00:00+00:00")
    assert [m.external_id for m in mentions] == [kept["id"]]
    assert outcome.partial
    assert outcome.cursor == "2026-11-20T10:00:00+00:00"
    assert any(heavy["id"] in note and "reduce the amount of data" in note for note in outcome.notes)
    assert int(fake.calls(rf"/{heavy['id']}/comments$")[-1].param("limit") or 0) == 5


def test_a_feed_too_big_to_serve_is_listed_in_smaller_pages(fake: FakeGraph) -> None:
    """Long posts can make the Page's feed itself too big: the listing, and every later page of
    it, is asked for with fewer posts, and a visitor's post three pages down is still read."""
    visitor = fake.add_post("my car was stolen on 5th", author="Kim Lee", created_at=NOW - timedelta(hours=3))
    for n in range(12):
        fake.add_post(f"update {n}", created_at=NOW - timedelta(hours=2, minutes=n))
    fake.heavy[f"{fake.page['id']}/feed"] = 6
    connector = connect(fake)
    connector.page_size = 10
    mentions, _, _ = poll(connector)
    assert visitor["id"] in {m.external_id for m in mentions}
    listings = [f for r in fake.calls(rf"/{fake.page['id']}$") if "feed" in (f := r.param("fields") or "")]
    assert [f.split("{")[0].rsplit(".", 1)[-1] for f in listings] == ["limit(10)", "limit(5)"]
    assert [r.param("limit") for r in fake.calls(r"/feed$")] == ["5", "5"]


@pytest.mark.parametrize("bare", [False, True])
def test_later_pages_of_the_feed_and_of_tagging_posts_keep_their_fields(fake: FakeGraph, bare: bool) -> None:
    """Graph is not documented to repeat an expanded edge's fields and `since` in `paging.next`:
    without `from` a visitor post on the feed's second page would never be seen as one."""
    fake.bare_next = bare
    visitor = fake.add_post("my car was stolen on 5th", author="Kim Lee", created_at=NOW - timedelta(hours=3))
    for n in range(3):
        fake.add_post(f"update {n}", created_at=NOW - timedelta(hours=2, minutes=n))
    tags = [
        fake.add_tagged_post(f"thanks @Agency Police {n}", created_at=NOW - timedelta(hours=n))
        for n in range(30)
    ]
    connector = connect(fake)
    connector.page_size = 2
    mentions, _, _ = poll(connector)
    found = {m.external_id for m in mentions}
    assert visitor["id"] in found
    assert {t["id"] for t in tags} <= found
    assert all(r.param("fields") for r in fake.calls(r"/(feed|tagged)$"))


@pytest.mark.parametrize(
    "fault",
    [
        graph_error(100, "(#100) Tried accessing nonexisting field"),
        Response(503, "<html>Service Unavailable</html>"),
    ],
)
def test_when_no_post_can_be_read_the_poll_fails_and_keeps_the_cursor(
    fake: FakeGraph, fault: Response
) -> None:
    for _ in range(2):
        fake.add_comment(fake.add_post(), "hello")
    fake.fail_next(r"/comments$", fault, times=5)
    outcome = PollOutcome()
    with pytest.raises(TransientError, match="any post"):
        list(connect(fake).fetch("2026-11-20T13:00:00+00:00", NOW, outcome))
    assert outcome.cursor is None


def test_a_token_graph_quotes_back_is_redacted(fake: FakeGraph) -> None:
    fake.add_post()
    fake.fail_next(PAGE_PATH, graph_error(190, f"Malformed access token {fake.page_token}"))
    with pytest.raises(AuthFailed) as raised:
        poll(connect(fake))
    assert fake.page_token not in str(raised.value)
    assert "[redacted]" in str(raised.value)


def test_a_next_link_that_never_changes_stops_reading_that_post_only(fake: FakeGraph) -> None:
    """Graph looping on one post must neither hang the poll nor cost the other posts."""
    looping_post, other = fake.add_post("looping"), fake.add_post("fine")
    fake.add_comment(looping_post, "hello")
    kept = fake.add_comment(other, "a question about the parade")
    looping = {"data": [], "paging": {"next": f"{fake.url}/v25.0/{looping_post['id']}/comments?after=same"}}
    fake.fail_next(rf"/{looping_post['id']}/comments$", Response(200, looping), times=300)
    mentions, _, outcome = poll(connect(fake))
    assert [m.external_id for m in mentions] == [kept["id"]]
    assert len(fake.calls(rf"/{looping_post['id']}/comments$")) == 2
    assert any("kept paging" in note and looping_post["id"] in note for note in outcome.notes)
