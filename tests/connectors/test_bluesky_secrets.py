"""A Bluesky error that quotes the session's tokens or the app password never passes them on;
a reply over the post's byte cap is refused with a reason before it is sent.

The service's error `message` is shown in the account's health (`accounts.last_error`, then
`/twoway accounts` in Slack) and logged; a PDS or proxy that echoes the request's bearer token
would otherwise put a live session (access and refresh JWT) into both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from bot.intake.polling import poll_account
from connectors.base import ConnectorError, PollOutcome, Rejected
from connectors.bluesky_client import BlueskyConnector
from connectors.registry import spec
from domain import Mention
from handlers.text import fits, too_long
from storage import accounts
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.bluesky_api import FakeBluesky, xrpc_error

SECRET_KEY = "test-secret-key-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(now=datetime.now(UTC) - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def connect(fake: FakeBluesky) -> BlueskyConnector:
    return BlueskyConnector(
        service_url=fake.url, timeout=2.0, handle=fake.handle, app_password=fake.app_password
    )


def secrets_of(fake: FakeBluesky) -> list[str]:
    """Every token the fake ever issued, and the app password."""
    return [*fake.access, *fake.refresh, fake.app_password]


def echo(fake: FakeBluesky) -> str:
    """What a careless PDS says back: the whole session, and its JWTs cut short and bare."""
    tokens = [*fake.access, *fake.refresh]
    halves = [t.split(".")[1] for t in tokens]  # a JWT's payload alone, as a log line may quote it
    return f"bad session {' / '.join(tokens)} (payloads {' '.join(halves)}) for {fake.app_password}"


def assert_clean(text: str, fake: FakeBluesky) -> None:
    for secret in secrets_of(fake):
        assert secret not in text
        for part in secret.split("."):
            if len(part) > 12:
                assert part not in text, "a piece of a token was passed on"


def poll(fake: FakeBluesky, connector: BlueskyConnector) -> None:
    _mentions(connector)


def identify(fake: FakeBluesky, connector: BlueskyConnector) -> None:
    connector.identify()


def reply(fake: FakeBluesky, connector: BlueskyConnector) -> None:
    post = fake.add_mention("@agencypolice.bsky.social hello")
    (mention,) = [m for m in _mentions(connector) if m.external_id == post["uri"]]
    connector.reply(mention, "Thanks, we are on it.")


def _mentions(connector: BlueskyConnector) -> list[Mention]:
    found: list[Mention] = []
    for page in connector.fetch(None, datetime.now(UTC), PollOutcome()):
        found += page.mentions
    return found


@pytest.mark.parametrize(
    ("path", "status", "error", "call"),
    [
        ("listNotifications", 400, "InvalidRequest", poll),  # TransientError
        ("listNotifications", 401, "AuthenticationRequired", poll),  # logged, one login, then again
        ("listNotifications", 500, "InternalServerError", poll),
        ("createRecord", 400, "InvalidRequest", reply),  # Rejected
        ("createRecord", 500, "InternalServerError", reply),  # AmbiguousOutcome
        ("getProfile", 400, "ExpiredToken", identify),  # logged, then a login
    ],
)
def test_an_error_quoting_the_session_passes_no_token_on(
    fake: FakeBluesky,
    caplog: pytest.LogCaptureFixture,
    path: str,
    status: int,
    error: str,
    call: Callable[[FakeBluesky, BlueskyConnector], None],
) -> None:
    connector = connect(fake)
    connector.identify()  # logged in: a session to quote
    caplog.set_level(logging.DEBUG)
    fake.fail_next(path + "$", xrpc_error(status, error, echo(fake)), times=2)
    said = ""
    try:
        call(fake, connector)
    except ConnectorError as exc:
        said = str(exc)
    assert said or caplog.records, "the fault was not reached"
    assert_clean(said, fake)
    assert_clean(caplog.text, fake)
    assert "[redacted]" in said + caplog.text  # what the service said is still there, minus secrets


def test_a_refused_login_quoting_the_app_password_does_not_pass_it_on(fake: FakeBluesky) -> None:
    fake.fail_next(
        r"createSession$",
        xrpc_error(401, "AuthenticationRequired", f"Invalid password {fake.app_password}"),
    )
    with pytest.raises(ConnectorError) as refused:
        connect(fake).identify()
    assert fake.app_password not in str(refused.value)
    assert "AuthenticationRequired" in str(refused.value)


def test_the_account_health_and_the_log_keep_no_token(
    ctx: Context, fake: FakeBluesky, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ctx.settings = make_settings(
        DATABASE_URL=ctx.settings.database_url,
        TWOWAY_SECRET_KEY=SECRET_KEY,
        BLUESKY_SERVICE_URL=fake.url,
        BLUESKY_HANDLE=fake.handle,
        BLUESKY_APP_PASSWORD=fake.app_password,
    )
    ctx.forget_state()
    (account,) = register_env_accounts(ctx)
    caplog.set_level(logging.DEBUG)
    for status, error in ((400, "InvalidRequest"), (401, "InvalidToken")):
        fake.fail_next(r"listNotifications$", xrpc_error(status, error, echo(fake)), times=2)
        poll_account(ctx, account.id)
        with ctx.transaction() as session:
            row = accounts.get(session, account.id)
            assert row is not None
            assert row.last_error or row.status_reason
            assert_clean(f"{row.last_error} {row.status_reason}", fake)
        clock.advance(hours=2)
    assert_clean(caplog.text, fake)


# -- the post's byte cap (app.bsky.feed.post: 300 graphemes and 3,000 UTF-8 bytes) -----------------

FAMILY = "👨🏻\u200d👩🏻\u200d👧🏻\u200d👦🏻"  # one grapheme, 11 code points, 41 bytes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a" * 300, None),
        ("a" * 301, "301/300"),
        ("👍" * 300, None),  # 1,200 bytes
        ("\u00e9" * 300, None),
        (FAMILY * 73, None),  # 2,993 bytes
        (FAMILY * 74, "3,034/3,000 bytes"),  # 74 graphemes
        (FAMILY * 300, "12,300/3,000 bytes"),  # 300 graphemes, 3,300 code points
    ],
)
def test_the_reply_form_refuses_a_text_over_either_cap(text: str, reason: str | None) -> None:
    rules = spec("bluesky").rules
    said = too_long(text, rules)
    assert fits(text, rules) is (reason is None)
    assert (said is None) is (reason is None)
    if reason is not None:
        assert (said or "").startswith(reason)


@pytest.mark.parametrize("count", [74, 300])
def test_the_connector_refuses_a_post_over_the_byte_cap_before_sending(fake: FakeBluesky, count: int) -> None:
    connector = connect(fake)
    post = fake.add_mention("@agencypolice.bsky.social hello")
    (mention,) = [m for m in _mentions(connector) if m.external_id == post["uri"]]
    with pytest.raises(Rejected) as refused:
        connector.reply(mention, FAMILY * count)
    assert "3,000" in str(refused.value)
    assert FAMILY not in str(refused.value)
    assert fake.calls("createRecord$") == []
