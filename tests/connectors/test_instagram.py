"""The Instagram connector: real facebook-sdk against the fake Instagram Graph API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthFailed, PollOutcome, RateLimited, Rejected, TransientError
from connectors.graph import parse_time
from connectors.instagram import OVERLAP, InstagramConnector
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


def connect(
    fake: FakeInstagram, account_id: str | None = None, timeout: float = 2.0, **limits: int
) -> InstagramConnector:
    return InstagramConnector(
        base_url=fake.url,
        version="v25.0",
        timeout=timeout,
        page_id=fake.page["id"],
        page_token=fake.page_token,
        account_id=account_id,
        **limits,
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


def test_a_media_graph_cannot_serve_now_does_not_keep_the_others_from_staff(fake: FakeInstagram) -> None:
    """One media's comments failing (HTTP 500) leaves the others read, the poll partial and its
    cursor kept; that media's comments come at the next poll. Every read failing fails the poll."""
    busy, calm = fake.add_media("busy"), fake.add_media("calm", created_at=NOW - timedelta(hours=3))
    late = fake.add_ig_comment(busy, "when is the parade", created_at=NOW - timedelta(minutes=30))
    urgent = fake.add_ig_comment(calm, "man with a gun at the school", created_at=NOW - timedelta(hours=2))
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    reader.cursor = "2026-11-20T10:00:00+00:00"
    fake.fail_next(rf"/{busy['id']}/comments$", Response(500, {"error": {"message": "reduce", "code": 1}}))
    mentions, outcome = reader.poll()
    assert [m.external_id for m in mentions] == [urgent["id"]]
    assert (outcome.partial, outcome.cursor) == (True, "2026-11-20T10:00:00+00:00")
    assert any(busy["id"] in note for note in outcome.notes)
    mentions, outcome = reader.poll(NOW + timedelta(minutes=1))
    assert late["id"] in {m.external_id for m in mentions}
    fake.add_ig_comment(busy, "one more", created_at=NOW + timedelta(minutes=2))
    fake.fail_next(r"/comments$", Response(503, "<html>Service Unavailable</html>"), times=5)
    with pytest.raises(TransientError, match="any media"):
        reader.poll(NOW + timedelta(minutes=3))


def test_a_comment_without_words_is_kept(fake: FakeInstagram) -> None:
    """A GIF or sticker comment carries no words: empty `text`, or none at all."""
    media = fake.add_media("Meet Rex, our new K9 officer")
    empty = fake.add_ig_comment(media, "", username="kim.lee")
    bare = fake.add_ig_comment(media, "", username="sam.roe")
    del fake.ig_comments[bare["id"]]["text"]
    mentions, _ = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert {m.external_id: m.text for m in mentions} == {empty["id"]: "", bare["id"]: ""}


def test_media_pages_are_followed_and_malformed_comments_skipped(fake: FakeInstagram) -> None:
    items = [fake.add_media(f"m{n}", created_at=NOW - timedelta(hours=n)) for n in range(60)]
    good = fake.add_ig_comment(items[55], "found it")
    bad = fake.add_ig_comment(items[55], "no time")
    fake.ig_comments[bad["id"]]["timestamp"] = "yesterday"
    mentions, _ = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert [m.external_id for m in mentions] == [good["id"]]
    assert len(fake.calls(r"/media$")) == 2


def delete_comment(fake: FakeInstagram, comment: dict[str, object]) -> None:
    """What Instagram does when someone deletes their comment: gone, and the count one lower."""
    gone = fake.ig_comments.pop(str(comment["id"]))
    fake.media[gone["_media"]]["comments_count"] -= 1


def test_a_new_reply_to_an_older_comment_is_read_at_once(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=5))
    oldest = fake.add_ig_comment(media, "oldest comment", created_at=NOW - timedelta(hours=4))
    fake.add_ig_comment(media, "middle comment", created_at=NOW - timedelta(hours=3))
    fake.add_ig_comment(media, "newest comment", created_at=NOW - timedelta(hours=2))
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    assert len(reader.poll()[0]) == 3
    reply = fake.add_ig_comment(
        media,
        "@agencypolice my car was just broken into",
        parent=oldest,
        created_at=NOW + timedelta(minutes=1),
    )
    mentions, outcome = reader.poll(NOW + timedelta(minutes=2))
    by_id = {m.external_id: m for m in mentions}  # the overlap re-reads the newest comment too
    assert by_id[reply["id"]].parent_id == oldest["id"]
    assert outcome.requests == 2
    assert reader.poll(NOW + timedelta(minutes=4))[1].requests == 1  # idle again


def test_a_count_that_grew_reads_on_until_the_new_replies_are_found(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=8))
    comments = [
        fake.add_ig_comment(media, f"comment {n}", created_at=NOW - timedelta(hours=7 - n)) for n in range(6)
    ]
    reader = Reader(connect(fake, account_id=fake.ig["id"], page_size=2))
    assert len(reader.poll()[0]) == 6
    # A new top-level comment is on the first page: read down to the overlap below the last read.
    top = fake.add_ig_comment(media, "new comment", created_at=NOW + timedelta(minutes=1))
    mentions, outcome = reader.poll(NOW + timedelta(minutes=2))
    assert top["id"] in {m.external_id for m in mentions}
    assert outcome.requests == 1 + 2  # not the 4 pages of the whole media
    # A new reply under the oldest comment is on the last page: read on until it is found.
    reply = fake.add_ig_comment(
        media, "help, someone is following me", parent=comments[0], created_at=NOW + timedelta(minutes=3)
    )
    mentions, outcome = reader.poll(NOW + timedelta(minutes=4))
    assert reply["id"] in {m.external_id for m in mentions}
    assert outcome.requests == 1 + 4  # 7 top-level comments, 2 a page
    assert reader.poll(NOW + timedelta(minutes=6))[1].requests == 1


def test_a_comment_added_while_another_was_deleted_is_found_by_the_sweep(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=5))
    spam = fake.add_ig_comment(media, "buy followers", username="spam", created_at=NOW - timedelta(hours=2))
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    assert len(reader.poll()[0]) == 1
    delete_comment(fake, spam)
    late = fake.add_ig_comment(
        media, "Someone is following me home right now, help", created_at=NOW + timedelta(minutes=1)
    )
    for minutes in (10, 20):  # the count did not move: nothing says the media changed
        mentions, outcome = reader.poll(NOW + timedelta(minutes=minutes))
        assert (mentions, outcome.requests) == ([], 1)
    mentions, outcome = reader.poll(NOW + timedelta(minutes=31))  # the sweep reads it whole
    assert [m.external_id for m in mentions] == [late["id"]]
    assert outcome.requests == 2
    assert reader.poll(NOW + timedelta(minutes=33))[1].requests == 1


def test_the_sweep_skips_older_media_and_media_without_comments(fake: FakeInstagram) -> None:
    old = fake.add_media("Last month", created_at=NOW - timedelta(days=30))
    fake.add_ig_comment(old, "nice", created_at=NOW - timedelta(days=29))
    fake.add_media("No comments", created_at=NOW - timedelta(hours=3))
    young = fake.add_media("Today", created_at=NOW - timedelta(hours=2))
    fake.add_ig_comment(young, "nice")
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    assert reader.poll()[1].requests == 3  # the listing and the two media with comments
    assert reader.poll(NOW + timedelta(minutes=5))[1].requests == 1
    swept = len(fake.calls(r"/comments$"))
    assert reader.poll(NOW + timedelta(minutes=31))[1].requests == 2  # the young media only
    assert [r.path for r in fake.calls(r"/comments$")[swept:]] == [f"/v25.0/{young['id']}/comments"]


def test_comment_pages_are_budgeted_and_a_cut_read_resumes(fake: FakeInstagram) -> None:
    big = fake.add_media("Viral", created_at=NOW - timedelta(hours=6))
    big_comments = [
        fake.add_ig_comment(big, f"comment {n}", created_at=NOW - timedelta(hours=5, minutes=-n))
        for n in range(20)
    ]
    small = [fake.add_media(f"post {n}", created_at=NOW - timedelta(hours=5 - n)) for n in range(4)]
    small_comments = [fake.add_ig_comment(item, "question?") for item in small]
    reader = Reader(connect(fake, account_id=fake.ig["id"], page_size=2, max_comment_pages=5))
    found: list[Mention] = []
    polls = 0
    outcome = PollOutcome(partial=True)
    while outcome.partial:
        mentions, outcome = reader.poll(NOW + timedelta(minutes=polls))
        found += mentions
        assert outcome.requests <= 1 + 5
        assert (reader.cursor is None) == outcome.partial  # the cursor moves once all is read
        polls += 1
        assert polls < 10
    assert polls == 3  # 4 + 10 pages, 5 a poll
    assert {m.external_id for m in found} == {c["id"] for c in big_comments + small_comments}
    assert len(found) == len({m.external_id for m in found})  # a resumed read does not re-read
    assert reader.poll(NOW + timedelta(minutes=5))[1].requests == 1
    # The next sweep is budgeted the same way, and a media whose count moved goes first.
    late = fake.add_ig_comment(small[0], "urgent", created_at=NOW + timedelta(minutes=40))
    mentions, outcome = reader.poll(NOW + timedelta(minutes=41))
    assert late["id"] in {m.external_id for m in mentions}
    assert (outcome.requests, outcome.partial) == (1 + 5, True)
    assert "continue next poll" in outcome.notes[-1]


def test_an_expired_cursor_reads_the_media_again(fake: FakeInstagram) -> None:
    media = fake.add_media("Viral", created_at=NOW - timedelta(hours=6))
    comments = [
        fake.add_ig_comment(media, f"comment {n}", created_at=NOW - timedelta(hours=5, minutes=-n))
        for n in range(6)
    ]
    reader = Reader(connect(fake, account_id=fake.ig["id"], page_size=2, max_comment_pages=2))
    assert reader.poll()[1].partial
    fake.fail_next(r"/comments$", graph_error(100, "(#100) The after cursor is invalid or has expired"))
    _, outcome = reader.poll(NOW + timedelta(minutes=1))
    assert "cursor expired" in outcome.notes[0]
    found: list[Mention] = []
    for minutes in (2, 3):
        found += reader.poll(NOW + timedelta(minutes=minutes))[0]
    assert {m.external_id for m in found} >= {comments[0]["id"], comments[1]["id"]}
    assert not reader.poll(NOW + timedelta(minutes=4))[1].partial


def add_thread(
    fake: FakeInstagram, media: dict[str, object], replies: int, *, start: datetime, text: str = "comment"
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A top-level comment at `start` and its `replies` replies, a minute apart, oldest first."""
    comment = fake.add_ig_comment(media, text, created_at=start)
    thread = [
        fake.add_ig_comment(
            media,
            f"{text} reply {n}",
            username=f"user{n}",
            parent=comment,
            created_at=start + timedelta(minutes=n + 1),
        )
        for n in range(replies)
    ]
    return comment, thread


def overlap(read: list[dict[str, object]]) -> set[object]:
    """The ids of the comments read again: as new as the newest one read before, less the overlap."""
    stop = max(parse_time(c["timestamp"]) for c in read) - OVERLAP
    return {c["id"] for c in read if parse_time(c["timestamp"]) >= stop}


def test_a_long_reply_thread_is_read_past_its_inline_page(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=6))
    comment, thread = add_thread(fake, media, 30, start=NOW - timedelta(hours=5))  # 25 inline, 5 after
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    mentions, outcome = reader.poll()
    assert {m.external_id for m in mentions} == {comment["id"]} | {r["id"] for r in thread}
    assert all(m.parent_id == comment["id"] and m.parent_text == "comment" for m in mentions[1:])
    assert outcome.requests == 1 + 1 + 1  # the listing, the comments, the thread's second page
    (second,) = fake.calls(r"/replies$", method="GET")
    assert second.path == f"/v25.0/{comment['id']}/replies"
    assert second.param("after")
    assert reader.poll(NOW + timedelta(minutes=2))[1].requests == 1  # idle: the listing only
    # The newest reply of a long thread is past the inline page: the count moved, it is read.
    late = fake.add_ig_comment(
        media, "@agencypolice help, please", parent=comment, created_at=NOW + timedelta(minutes=3)
    )
    mentions, outcome = reader.poll(NOW + timedelta(minutes=4))
    by_id = {m.external_id: m for m in mentions}
    assert by_id[late["id"]].parent_id == comment["id"]
    assert set(by_id) == {late["id"]} | overlap(thread)  # older replies are below the stop
    assert outcome.requests == 1 + 1 + 1
    assert reader.poll(NOW + timedelta(minutes=6))[1].requests == 1  # idle again


def test_comments_and_replies_graph_finds_too_big_are_read_in_smaller_pages() -> None:
    """Graph refuses a page of long comments or replies ("please reduce the amount of data
    you're asking for", HTTP 500) at its size, every time: the same pages asked for with fewer
    items read every comment and reply in this poll."""
    with FakeInstagram(now=NOW - timedelta(hours=1), reply_page=5) as fake:
        read_heavy_pages(fake)


def read_heavy_pages(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=6))
    comment, thread = add_thread(fake, media, 30, start=NOW - timedelta(hours=5))
    others = [
        fake.add_ig_comment(media, f"question {n}", created_at=NOW - timedelta(minutes=n)) for n in range(20)
    ]
    fake.heavy[f"{media['id']}/comments"] = 8
    fake.heavy[f"{comment['id']}/replies"] = 6
    mentions, outcome = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert {m.external_id for m in mentions} == {c["id"] for c in [comment, *thread, *others]}
    assert not outcome.partial
    assert all(int(r.param("limit") or 0) <= 8 for r in fake.calls(r"/comments$")[-3:])
    assert int(fake.calls(r"/replies$", method="GET")[-1].param("limit") or 0) <= 6


def test_a_comment_without_more_replies_costs_no_reply_request(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=6))
    add_thread(fake, media, 25, start=NOW - timedelta(hours=5))  # all inline
    mentions, outcome = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert len(mentions) == 26
    assert outcome.requests == 2
    assert not fake.calls(r"/replies$", method="GET")


def test_reply_pages_are_budgeted_and_a_cut_thread_resumes() -> None:
    fake = FakeInstagram(now=NOW - timedelta(hours=1), reply_page=2)
    with fake:
        media = fake.add_media("Viral", created_at=NOW - timedelta(hours=6))
        first, first_thread = add_thread(fake, media, 6, start=NOW - timedelta(hours=5), text="first")
        second, second_thread = add_thread(fake, media, 5, start=NOW - timedelta(hours=4), text="second")
        everything = {c["id"] for c in [first, second, *first_thread, *second_thread]}
        # 1 page of comments; 4 more replies of `first` and 3 of `second`, 2 a page: 5 pages.
        reader = Reader(connect(fake, account_id=fake.ig["id"], page_size=2, max_comment_pages=2))
        found: list[Mention] = []
        costs: list[int] = []
        for minutes in range(3):
            mentions, outcome = reader.poll(NOW + timedelta(minutes=minutes))
            found += mentions
            costs.append(outcome.requests)
            assert (reader.cursor is None) == outcome.partial  # the cursor moves once all is read
        assert costs == [1 + 2, 1 + 2, 1 + 1]
        assert not outcome.partial
        assert {m.external_id for m in found} == everything
        assert len(found) == len(everything)  # a resumed thread goes on where it stopped
        assert reader.poll(NOW + timedelta(minutes=5))[1].requests == 1
        # One more reply, last in the first comment's thread: the count moved, so the threads are
        # read over polls (6 pages, 2 a poll) until it turns up, and it alone is new.
        late = fake.add_ig_comment(media, "new", parent=first, created_at=NOW + timedelta(minutes=6))
        found, costs = [], []
        for minutes in (7, 8, 9):
            mentions, outcome = reader.poll(NOW + timedelta(minutes=minutes))
            found += mentions
            costs.append(outcome.requests)
        assert costs == [1 + 2, 1 + 2, 1 + 2]
        assert not outcome.partial
        assert {m.external_id for m in found} == {late["id"]} | overlap([second, *second_thread])
        assert reader.poll(NOW + timedelta(minutes=10))[1].requests == 1


def test_an_expired_reply_cursor_reads_the_thread_again(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=6))
    _, thread = add_thread(fake, media, 30, start=NOW - timedelta(hours=5))
    fake.fail_next(r"/replies$", graph_error(100, "(#100) The after cursor is invalid or has expired"))
    mentions, outcome = Reader(connect(fake, account_id=fake.ig["id"])).poll()
    assert {m.external_id for m in mentions} >= {r["id"] for r in thread}
    assert "reading its replies again" in outcome.notes[0]
    assert outcome.requests == 1 + 1 + 2


def test_a_cut_thread_resumes_before_the_next_page_of_comments() -> None:
    fake = FakeInstagram(now=NOW - timedelta(hours=1), reply_page=2)
    with fake:
        media = fake.add_media("Viral", created_at=NOW - timedelta(hours=9))
        everything: set[object] = set()
        for n in range(5):  # 3 pages of comments, 2 a page; 2 reply pages for each comment
            comment, thread = add_thread(fake, media, 6, start=NOW - timedelta(hours=8 - n), text=f"c{n}")
            everything |= {comment["id"]} | {r["id"] for r in thread}
        reader = Reader(connect(fake, account_id=fake.ig["id"], page_size=2, max_comment_pages=3))
        found: list[Mention] = []
        costs: list[int] = []
        outcome = PollOutcome(partial=True)
        while outcome.partial and len(costs) < 10:
            mentions, outcome = reader.poll(NOW + timedelta(minutes=len(costs)))
            found += mentions
            costs.append(outcome.requests)
        assert costs == [1 + 3] * 4 + [1 + 1]  # 3 pages of comments and 10 of replies
        assert {m.external_id for m in found} == everything
        assert len(found) == len(everything)


def test_a_count_triggered_read_stops_in_the_thread_where_the_new_reply_is(fake: FakeInstagram) -> None:
    media = fake.add_media("Post", created_at=NOW - timedelta(hours=6))
    add_thread(fake, media, 30, start=NOW - timedelta(hours=5), text="older")
    newer, _ = add_thread(fake, media, 30, start=NOW - timedelta(hours=4), text="newer")
    reader = Reader(connect(fake, account_id=fake.ig["id"]))
    assert reader.poll()[1].requests == 1 + 1 + 2
    late = fake.add_ig_comment(media, "help", parent=newer, created_at=NOW + timedelta(minutes=1))
    mentions, outcome = reader.poll(NOW + timedelta(minutes=2))
    assert late["id"] in {m.external_id for m in mentions}
    assert outcome.requests == 1 + 1 + 1  # not the older comment's thread: the count is accounted for
    assert fake.calls(r"/replies$", method="GET")[-1].path == f"/v25.0/{newer['id']}/replies"
    assert reader.poll(NOW + timedelta(minutes=4))[1].requests == 1
