"""OAuth 1.0a signatures: real tweepy against the fake X, which checks them as X does.

X refuses a request signed with a wrong API secret or access-token secret (401, code 32 "Could
not authenticate you."), even though the key and token it names are right. The fake checks the
signature with its own RFC 5849 code, so these tests also prove that code agrees with oauthlib's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
import requests
from oauthlib.oauth1 import Client

from connectors.base import AuthFailed, PollOutcome
from connectors.x import XConnector
from tests.support.fakes.server import Recorded
from tests.support.fakes.x_api import FakeX, oauth_signature

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
WRONG = {"api_secret": "xsecret-SECRET-wrong", "access_token_secret": "xats-SECRET-wrong"}


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(now=NOW - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def user_connector(fake: FakeX, **override: str) -> XConnector:
    """User credentials only, so reads are signed too; `override` swaps some of them."""
    creds = {**fake.user_credentials, **override}
    return XConnector(
        base_url=fake.url, timeout=2, account_id=fake.me["id"], handle=fake.me["username"], **creds
    )


@pytest.mark.parametrize("field", sorted(WRONG))
def test_a_wrong_secret_is_refused_by_x_and_nothing_is_posted(fake: FakeX, field: str) -> None:
    """The key and token are right, only a secret is wrong: every signed request is refused."""
    mention = fake.add_mention("where do I get a permit?")
    (page,) = user_connector(fake).fetch(None, NOW, PollOutcome())
    (ours,) = page.mentions
    assert ours.external_id == mention["id"]

    wrong = user_connector(fake, **{field: WRONG[field]})
    with pytest.raises(AuthFailed, match="Could not authenticate you") as identified:
        wrong.identify()
    with pytest.raises(AuthFailed, match="Could not authenticate you"):
        list(wrong.fetch(None, NOW, PollOutcome()))
    with pytest.raises(AuthFailed, match="Could not authenticate you"):
        wrong.reply(ours, "Permits are at city hall, window 3.")
    with pytest.raises(AuthFailed):
        wrong.like(ours)
    assert fake.replies == []
    assert fake.likes == []
    assert len(fake.calls("^/2/tweets$", "POST")) == 1  # it reached X, which refused it
    assert WRONG[field] not in str(identified.value)


def test_a_request_signed_for_another_port_is_refused(fake: FakeX) -> None:
    """The signature covers the URL the client asked for, port included: one signed for another
    address (a proxy rewriting the host after signing) is refused, as X would refuse it."""
    creds = fake.user_credentials
    client = Client(
        creds["api_key"],
        client_secret=creds["api_secret"],
        resource_owner_key=creds["access_token"],
        resource_owner_secret=creds["access_token_secret"],
    )
    port = int(urlsplit(fake.url).port or 0)
    for url, status in ((fake.url, 200), (f"http://127.0.0.1:{port + 1}", 401)):
        _, headers, _ = client.sign(f"{url}/2/users/me?user.fields=name,username")
        answer = requests.get(f"{fake.url}/2/users/me?user.fields=name,username", headers=headers, timeout=2)
        assert answer.status_code == status
    assert answer.json() == {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


def test_the_fakes_signature_check_agrees_with_oauthlib_on_queries_and_form_bodies() -> None:
    """Query and form-encoded body parameters are signed, JSON bodies are not (RFC 5849 3.4.1.3)."""
    client = Client("key", client_secret="s&cret ü", resource_owner_key="tok", resource_owner_secret="t~s/")
    query = urlencode({"q": "a b+c,d", "empty": "", "é": "☃"})
    form = urlencode({"status": "Hello, world! 100%", "a": "z"})
    url = f"http://127.0.0.1:8123/2/path?{query}"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    json_type = {"Content-Type": "application/json"}
    for body, headers, sent in ((None, {}, ""), (form, form_type, form), (None, json_type, '{"text": "hi"}')):
        _, signed, _ = client.sign(url, "POST", body, headers)
        recorded = Recorded(
            method="POST",
            path="/2/path",
            query=parse_qs(query, keep_blank_values=True),
            headers={"host": "127.0.0.1:8123", **{k.lower(): v for k, v in headers.items()}},
            body=sent.encode(),
        )
        pairs = (p.split("=", 1) for p in signed["Authorization"].removeprefix("OAuth ").split(", "))
        oauth = {k: unquote(v.strip('"')) for k, v in pairs}
        assert oauth_signature(recorded, oauth, "s&cret ü", "t~s/") == oauth["oauth_signature"]
        assert oauth_signature(recorded, oauth, "s&cret ü", "other") != oauth["oauth_signature"]
        if body:
            tampered = Recorded(**{**recorded.__dict__, "body": b"status=Hello&a=z"})
            assert oauth_signature(tampered, oauth, "s&cret ü", "t~s/") != oauth["oauth_signature"]
