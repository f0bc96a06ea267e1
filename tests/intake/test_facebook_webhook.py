"""Facebook, nothing unseen, through the bot: per-post progress in the database, the Page `feed`
webhook at /facebook/events signed with the app secret, and polling as the backstop.

Real facebook-sdk against the fake Graph API; the webhook is posted over HTTP to the real WSGI
app; every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.app.wiring import web_routes
from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from bot.intake.polling import poll_account
from bot.intake.webhooks import PollNow
from bot.slack.serve import HttpServer, start_http_server
from storage import progress
from storage.models import Mention
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.server import Response

APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY = "verify-token-0123456789"


@pytest.fixture
def fake_graph(clock: FakeClock) -> Iterator[FakeGraph]:
    with FakeGraph(now=clock.now() - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def page(ctx: Context, fake_graph: FakeGraph) -> int:
    ctx.settings = make_settings(
        DATABASE_URL=ctx.settings.database_url,
        TWOWAY_SECRET_KEY="test-secret-key-0123456789",
        FACEBOOK_GRAPH_URL=fake_graph.url,
        FACEBOOK_PAGE_ID=fake_graph.page["id"],
        FACEBOOK_PAGE_TOKEN=fake_graph.page_token,
        FACEBOOK_APP_SECRET=APP_SECRET,
        FACEBOOK_VERIFY_TOKEN=VERIFY,
    )
    ctx.forget_state()
    (account,) = register_env_accounts(ctx)
    return account.id


@pytest.fixture
def server(ctx: Context, page: int) -> Iterator[HttpServer]:
    http = start_http_server(ctx, None, routes=web_routes(ctx))
    yield http
    http.stop()


def stored(ctx: Context) -> set[str]:
    with ctx.transaction() as session:
        return set(session.scalars(select(Mention.external_id)))


def delivery(page_id: str, post_id: str, comment_id: str) -> dict[str, Any]:
    """A Page `feed` change as Meta delivers it."""
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": 1763650800,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": "2709821847", "name": "Jane Doe"},
                            "post_id": post_id,
                            "comment_id": comment_id,
                            "created_time": 1763650800,
                            "item": "comment",
                            "parent_id": post_id,
                            "verb": "add",
                            "message": "is there one this year?",
                        },
                    }
                ],
            }
        ],
    }


def post_signed(server: HttpServer, body: bytes, secret: str = APP_SECRET) -> requests.Response:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{server.url}/facebook/events",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        timeout=5,
    )


def test_a_comment_on_a_30_day_old_post_is_stored_by_polling_alone(
    ctx: Context, page: int, fake_graph: FakeGraph, clock: FakeClock
) -> None:
    """Without any webhook: the watch window is swept, and the old post's new comment is found."""
    old = fake_graph.add_post(
        "Missing person: have you seen Ann?", created_at=clock.now() - timedelta(days=30)
    )
    poll_account(ctx, page)
    clock.advance(minutes=5)
    tip = fake_graph.add_comment(old, "I saw her at the bus station", created_at=clock.now())
    for _ in range(20):  # every two minutes for 40 minutes
        clock.advance(minutes=2)
        summary = poll_account(ctx, page)
        assert summary.status == "ok"
    assert tip["id"] in stored(ctx)


def test_a_poll_that_stops_early_resumes_from_the_database(
    ctx: Context, page: int, fake_graph: FakeGraph, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress is committed with each page, so the next poll continues instead of starting over."""
    monkeypatch.setattr("connectors.facebook.MAX_COMMENT_PAGES", 2)
    monkeypatch.setattr("connectors.facebook.PAGE_SIZE", 10)
    ctx.forget_state()  # connectors are built again with the smaller pages
    post = fake_graph.add_post(created_at=clock.now() - timedelta(hours=3))
    comments = [
        fake_graph.add_comment(post, f"c{n}", created_at=clock.now() - timedelta(hours=2, seconds=-n))
        for n in range(45)
    ]
    first = poll_account(ctx, page)
    assert (first.new, first.requests) == (20, 3)
    assert "next poll continues" in first.line()
    with ctx.transaction() as session:
        assert f"post:{post['id']}" in progress.load(session, page)
    clock.advance(minutes=2)
    second = poll_account(ctx, page)
    assert second.new == 20
    clock.advance(minutes=2)
    poll_account(ctx, page)
    assert stored(ctx) == {c["id"] for c in comments}


def test_the_signed_feed_webhook_names_an_old_post_and_asks_for_a_poll_now(
    ctx: Context, page: int, server: HttpServer, fake_graph: FakeGraph, clock: FakeClock
) -> None:
    ancient = fake_graph.add_post("Last year's safety fair", created_at=clock.now() - timedelta(days=400))
    poll_account(ctx, page)
    comment = fake_graph.add_comment(ancient, "is there one this year?", created_at=clock.now())
    asked: list[int] = []
    ctx.state(PollNow).request = asked.append
    answer = post_signed(
        server, json.dumps(delivery(fake_graph.page["id"], ancient["id"], comment["id"])).encode()
    )
    assert answer.status_code == 200
    assert asked == [page]
    clock.advance(seconds=5)
    poll_account(ctx, page)
    assert comment["id"] in stored(ctx)


@pytest.mark.parametrize("secret", ["", "some-other-secret-0123456789"])
def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_changes_nothing(
    ctx: Context, page: int, server: HttpServer, fake_graph: FakeGraph, secret: str
) -> None:
    post = fake_graph.add_post(created_at=fake_graph.now - timedelta(days=400))
    body = json.dumps(delivery(fake_graph.page["id"], post["id"], "1_2")).encode()
    if secret:
        answer = post_signed(server, body, secret)
    else:
        answer = requests.post(f"{server.url}/facebook/events", data=body, timeout=5)
    assert answer.status_code == 401
    with ctx.transaction() as session:
        assert progress.load(session, page) == {}


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "page"}'])
def test_a_malformed_signed_delivery_is_a_clear_400(
    ctx: Context, page: int, server: HttpServer, body: bytes
) -> None:
    assert post_signed(server, body).status_code == 400


def test_the_subscription_check_echoes_the_challenge_only_with_the_verify_token(
    ctx: Context, page: int, server: HttpServer
) -> None:
    url = f"{server.url}/facebook/events"
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    answer = requests.get(url, params=good, timeout=5)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    answer = requests.get(url, params={**good, "hub.verify_token": "guess"}, timeout=5)
    assert answer.status_code == 403
    answer = requests.get(url, params={**good, "hub.verify_token": "é"}, timeout=5)
    assert answer.status_code == 403


def test_a_signature_with_a_non_ascii_character_is_refused_not_an_error(
    ctx: Context, page: int, server: HttpServer, fake_graph: FakeGraph
) -> None:
    post = fake_graph.add_post(created_at=fake_graph.now - timedelta(days=400))
    body = json.dumps(delivery(fake_graph.page["id"], post["id"], "1_2")).encode()
    headers = {"X-Hub-Signature-256": "sha256=zz\u00e9".encode().decode("latin-1")}
    answer = requests.post(f"{server.url}/facebook/events", data=body, headers=headers, timeout=5)
    assert answer.status_code == 401
    with ctx.transaction() as session:
        assert progress.load(session, page) == {}


def test_without_the_app_secret_the_route_does_not_exist(ctx: Context, fake_graph: FakeGraph) -> None:
    ctx.settings = make_settings(DATABASE_URL=ctx.settings.database_url)
    http = start_http_server(ctx, None, routes=web_routes(ctx))
    try:
        assert requests.post(f"{http.url}/facebook/events", data=b"{}", timeout=5).status_code == 404
    finally:
        http.stop()


def test_a_signed_delivery_over_a_megabyte_is_taken(
    ctx: Context, page: int, server: HttpServer, fake_graph: FakeGraph
) -> None:
    """Meta batches up to 1,000 changes in one delivery, non-ASCII text escaped: a burst on a busy
    post passes 1 MB, and a refused delivery is retried for 36 hours, then dropped."""
    post = fake_graph.add_post("Road closed on Main St")
    one = delivery(fake_graph.page["id"], post["id"], "1_2")
    change = one["entry"][0]["changes"][0]
    change["value"]["message"] = "شكرا لكم على المساعدة " * 60
    one["entry"][0]["changes"] = [change] * 200
    body = json.dumps(one).encode()
    assert len(body) > 1_000_000
    assert post_signed(server, body).status_code == 200
    with ctx.transaction() as session:
        assert any(post["id"] in key for key in progress.load(session, page))


def behind_newer_posts(ctx: Context, fake_graph: FakeGraph, clock: FakeClock, mp: pytest.MonkeyPatch) -> Any:
    """An old post that only a webhook can point to: pages of two posts stand for a Page whose
    feed holds a hundred newer ones."""
    mp.setattr("connectors.facebook.PAGE_SIZE", 2)
    ctx.forget_state()  # connectors are built again with the smaller pages
    ancient = fake_graph.add_post("Last year's safety fair", created_at=clock.now() - timedelta(days=400))
    for n in range(3):
        fake_graph.add_post(f"older news {n}", created_at=clock.now() - timedelta(days=5 + n))
    return ancient


def test_two_comments_in_the_same_second_on_an_old_post_are_both_stored(
    ctx: Context,
    page: int,
    server: HttpServer,
    fake_graph: FakeGraph,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each webhook hint stands for its comment: the second, which Graph lists a little late, is
    not given up because the first (made in the same second) was read."""
    ancient = behind_newer_posts(ctx, fake_graph, clock, monkeypatch)
    poll_account(ctx, page)
    first = fake_graph.add_comment(ancient, "is there one this year?", created_at=clock.now())
    for comment_id in (first["id"], f"{first['id']}9"):
        body = delivery(fake_graph.page["id"], ancient["id"], comment_id)
        body["entry"][0]["changes"][0]["value"]["created_time"] = int(clock.now().timestamp())
        assert post_signed(server, json.dumps(body).encode()).status_code == 200
    clock.advance(seconds=5)
    poll_account(ctx, page)
    assert first["id"] in stored(ctx)
    second = fake_graph.add_comment(ancient, "and where?", created_at=clock.now() - timedelta(seconds=5))
    fake_graph.comments[second["id"]]["id"] = f"{first['id']}9"  # the id its delivery named
    clock.advance(minutes=2)
    poll_account(ctx, page)
    assert f"{first['id']}9" in stored(ctx)


def test_a_hinted_post_graph_cannot_serve_does_not_stop_the_others(
    ctx: Context,
    page: int,
    server: HttpServer,
    fake_graph: FakeGraph,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Graph failing the old post a delivery named (HTTP 500) leaves the poll partial, not failed:
    a new post's comment still comes, and the hinted comment comes once Graph serves its post."""
    ancient = behind_newer_posts(ctx, fake_graph, clock, monkeypatch)
    poll_account(ctx, page)
    tip = fake_graph.add_comment(ancient, "is there one this year?", created_at=clock.now())
    hint = delivery(fake_graph.page["id"], ancient["id"], tip["id"])
    hint["entry"][0]["changes"][0]["value"]["created_time"] = int(clock.now().timestamp())
    answer = post_signed(server, json.dumps(hint).encode())
    assert answer.status_code == 200
    reduce = Response(500, {"error": {"message": "Please reduce the amount of data", "code": 1}})
    fake_graph.fail_next(rf"/{ancient['id']}$", reduce, times=3)
    fresh = fake_graph.add_post("Road closed on Main St", created_at=clock.now())
    question = fake_graph.add_comment(fresh, "until when?", created_at=clock.now())
    for _ in range(3):
        clock.advance(minutes=2)
        summary = poll_account(ctx, page)
        assert summary.status == "ok"
        assert question["id"] in stored(ctx)
    clock.advance(minutes=2)
    poll_account(ctx, page)
    assert tip["id"] in stored(ctx)
