"""`/twoway connect` end to end: signed Slack requests, the real Bolt app, fake X, Graph and Slack.

The secrets used here are distinctive strings, so any leak (a Slack call, a log line, an audit
detail, the database in clear) is found by plain substring search.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from bot.admin import connect
from bot.admin.connect import modal
from bot.core.crypto import unseal
from connectors import registry
from storage import staff
from storage.models import AuditEvent
from tests.conftest import FakeClock
from tests.support.admin_app import (
    ADMIN,
    BLUESKY_PASSWORD,
    CHANNEL,
    OFFICER,
    PAGE_TOKEN,
    SECRET_KEY,
    THREADS_TOKEN,
    X_KEYS,
    Env,
    running_app,
    wait_for,
)
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack


@pytest.fixture
def env(db_url: str, engine: Engine, clock: FakeClock) -> Iterator[Env]:
    with running_app(db_url, engine, clock) as running:
        with running.ctx.transaction() as session:
            staff.set_role(session, OFFICER, "officer", by="test", now=clock.now())
        yield running


def everything_stored(engine: Engine) -> str:
    """Every row of the tables an account connection touches, as text."""
    with engine.connect() as connection:
        rows = [
            *connection.execute(text("SELECT * FROM accounts")),
            *connection.execute(text("SELECT * FROM audit_events")),
        ]
    return "\n".join(repr(tuple(row)) for row in rows)


def slack_traffic(slack: FakeSlack) -> str:
    return "\n".join(f"{r.path} {r.query} {r.headers} {r.body!r}" for r in slack.requests)


# -- X ------------------------------------------------------------------------------------------------


def test_valid_x_keys_are_checked_with_x_and_stored_encrypted_never_echoed(
    env: Env, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = env.submit("x", X_KEYS)
    assert result.status == 200
    answer = result.json
    assert answer["response_action"] == "update"
    assert "Connected X account @agency" in json.dumps(answer["view"])
    assert env.x.calls(r"^/2/users/me$")

    (account,) = env.accounts()
    assert (account.platform, account.external_id, account.handle, account.source) == (
        "x",
        "1000",
        "agency",
        "slack",
    )
    assert account.credentials is not None
    assert unseal(SECRET_KEY, account.credentials) == X_KEYS

    confirmation = wait_for(lambda: env.slack.ephemerals_for(ADMIN))
    assert confirmation[0]["channel"] == CHANNEL
    assert "Connected X account @agency" in confirmation[0]["text"]

    stored = everything_stored(engine)
    debug_logs = "\n".join(record.getMessage() for record in caplog.records)
    logs = "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.INFO)
    for secret in X_KEYS.values():
        assert secret not in stored
        assert secret not in slack_traffic(env.slack)
        assert secret not in result.body
        assert secret not in logs
    # The signing secrets never leave TwoWay, so they must not appear even at DEBUG.
    assert X_KEYS["api_secret"] not in debug_logs
    assert X_KEYS["access_token_secret"] not in debug_logs
    with env.ctx.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.account_id == account.id)))
    assert "account_connected" in actions


def test_refused_x_keys_get_an_error_on_the_form_and_nothing_is_stored(env: Env, engine: Engine) -> None:
    wrong = {**X_KEYS, "access_token": "1000-SECRET-wrong-token"}
    result = env.submit("x", wrong)
    assert result.json["response_action"] == "errors"
    assert "X refused these keys" in result.json["errors"]["api_key"]
    assert env.accounts() == []
    assert "1000-SECRET-wrong-token" not in everything_stored(engine)
    assert "1000-SECRET-wrong-token" not in result.body


def test_missing_and_malformed_fields_are_named_without_asking_x(env: Env) -> None:
    result = env.submit(
        "x", {"api_key": "has a space", "api_secret": "  ", "access_token": X_KEYS["access_token"]}
    )
    errors = result.json["errors"]
    assert set(errors) == {"api_key", "api_secret", "access_token_secret"}
    assert "spaces" in errors["api_key"]
    assert env.x.calls(r"^/2/") == []
    assert env.accounts() == []


def test_x_too_slow_to_answer_is_reported_within_slacks_window(env: Env) -> None:
    env.x.fail_next(
        r"^/2/users/me$", Response(200, {"data": {"id": "1000", "username": "agency"}}, delay=4.0)
    )
    result = env.submit("x", X_KEYS)
    assert result.status == 200
    assert "did not answer in time" in result.json["errors"]["api_key"]
    assert env.accounts() == []


def test_the_whole_check_has_a_deadline_even_when_each_socket_wait_is_allowed_longer(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connect, "VALIDATE_SECONDS", 10.0)
    env.x.fail_next(
        r"^/2/users/me$", Response(200, {"data": {"id": "1000", "username": "agency"}}, delay=4.0)
    )
    result = env.submit("x", X_KEYS)
    assert "did not answer in time" in result.json["errors"]["api_key"]
    assert env.accounts() == []


def test_x_rate_limiting_the_check_is_explained(env: Env) -> None:
    env.x.fail_next(
        r"^/2/users/me$", Response(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": "1"})
    )
    result = env.submit("x", X_KEYS)
    assert "rate limiting" in result.json["errors"]["api_key"]


def test_reconnecting_replaces_the_sealed_keys_of_the_same_account(env: Env) -> None:
    env.submit("x", X_KEYS)
    newer = {**X_KEYS, "api_secret": "xsecret-SECRET-rotated"}
    assert env.submit("x", newer).json["response_action"] == "update"
    (account,) = env.accounts()
    assert account.credentials is not None
    assert unseal(SECRET_KEY, account.credentials)["api_secret"] == "xsecret-SECRET-rotated"


def test_no_x_key_reaches_a_debug_log_line(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env.submit("x", X_KEYS)
    wait_for(lambda: env.slack.ephemerals_for(ADMIN))
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert [key for key, secret in X_KEYS.items() if secret in logs] == []


# -- Facebook -----------------------------------------------------------------------------------------


def test_valid_facebook_page_token_is_stored_encrypted(
    env: Env, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = env.submit("facebook", env.graph.credentials)
    assert result.json["response_action"] == "update"
    assert "Connected Facebook Page Agency Police" in json.dumps(result.json["view"])
    (account,) = env.accounts()
    assert (account.platform, account.external_id) == ("facebook", "104857600000001")
    assert account.credentials is not None
    assert unseal(SECRET_KEY, account.credentials) == env.graph.credentials
    assert PAGE_TOKEN not in everything_stored(engine)
    wait_for(lambda: env.slack.ephemerals_for(ADMIN))
    assert PAGE_TOKEN not in slack_traffic(env.slack)
    assert PAGE_TOKEN not in "\n".join(record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("values", "field", "complaint"),
    [
        (
            {"page_id": "104857600000001", "page_token": "EAAB-SECRET-revoked"},
            "page_token",
            "refused this token",
        ),
        ({"page_id": "999999", "page_token": PAGE_TOKEN}, "page_id", "did not accept this Page ID"),
        ({"page_id": "agency-police", "page_token": PAGE_TOKEN}, "page_id", "is a number"),
        ({"page_id": "104857600000001"}, "page_token", "Paste the page access token"),
    ],
)
def test_facebook_refusals_point_at_the_field(
    env: Env, values: dict[str, str], field: str, complaint: str
) -> None:
    result = env.submit("facebook", values)
    assert result.json["response_action"] == "errors"
    assert complaint in result.json["errors"][field]
    assert env.accounts() == []


# -- who may connect -----------------------------------------------------------------------------------


def test_a_non_admin_submission_is_refused_with_the_role_and_who_grants_it(env: Env) -> None:
    result = env.submit("x", X_KEYS, user=OFFICER)
    view_text = json.dumps(result.json["view"])
    assert "admin role" in view_text
    assert f"<@{ADMIN}>" in view_text
    assert env.x.calls(r"^/2/") == []
    assert env.accounts() == []


@pytest.mark.parametrize("platform", registry.names())
def test_each_platform_has_a_form_asking_for_its_connectors_credentials(platform: str) -> None:
    """The form is built from the connector's own fields, so it cannot drift from what it reads."""
    view = modal(platform, CHANNEL)
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [f.key for f in registry.spec(platform).fields]
    assert len(view["title"]["text"]) <= 24
    assert view["callback_id"] == f"connect_{platform}"


# -- Instagram -------------------------------------------------------------------------------------------


def test_instagram_is_found_from_the_page_checked_and_stored_encrypted(env: Env, engine: Engine) -> None:
    page = {"page_id": env.graph.page["id"], "page_token": PAGE_TOKEN}
    started = time.monotonic()
    result = env.submit("instagram", page)
    assert time.monotonic() - started < 3  # inside Slack's window
    assert result.json["response_action"] == "update"
    assert "Connected Instagram account @agencypolice" in json.dumps(result.json["view"])
    (account,) = env.accounts()
    assert (account.platform, account.external_id, account.handle) == (
        "instagram",
        env.graph.ig["id"],
        "agencypolice",
    )
    assert account.credentials is not None
    assert unseal(SECRET_KEY, account.credentials) == page
    assert PAGE_TOKEN not in everything_stored(engine)


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"page_id": "104857600000001", "page_token": "EAAB-wrong"}, "page_token", "refused this token"),
        (
            {"page_id": "104857600000001", "page_token": PAGE_TOKEN, "account_id": "12ab"},
            "account_id",
            "is a number",
        ),
        (
            {"page_id": "104857600000001", "page_token": PAGE_TOKEN, "account_id": "178414999"},
            "account_id",
            "no Instagram professional account",
        ),
    ],
)
def test_instagram_refusals_are_put_next_to_the_field_at_fault(
    env: Env, values: dict[str, str], field: str, says: str
) -> None:
    result = env.submit("instagram", values)
    assert result.json["response_action"] == "errors"
    assert says in result.json["errors"][field]
    assert env.accounts() == []


# -- Threads and Bluesky --------------------------------------------------------------------------------


def test_threads_is_checked_within_slacks_window_and_stored_encrypted(env: Env, engine: Engine) -> None:
    started = time.monotonic()
    result = env.submit("threads", {"token": THREADS_TOKEN})
    assert time.monotonic() - started < 3
    assert result.json["response_action"] == "update"
    assert "Connected Threads profile @agencypolice" in json.dumps(result.json["view"])
    (account,) = env.accounts()
    assert (account.platform, account.external_id, account.handle) == (
        "threads",
        env.threads.profile["id"],
        "agencypolice",
    )
    assert unseal(SECRET_KEY, account.credentials or "") == {"token": THREADS_TOKEN}
    assert THREADS_TOKEN not in everything_stored(engine)
    assert THREADS_TOKEN not in slack_traffic(env.slack)


def test_bluesky_logs_in_once_and_the_first_poll_reuses_that_session(env: Env, engine: Engine) -> None:
    from bot.intake.polling import poll_all_once

    started = time.monotonic()
    result = env.submit("bluesky", {"handle": env.bluesky.handle, "app_password": BLUESKY_PASSWORD})
    assert time.monotonic() - started < 3
    assert "Connected Bluesky account @agencypolice.bsky.social" in json.dumps(result.json["view"])
    (account,) = env.accounts()
    assert account.external_id == env.bluesky.did
    assert unseal(SECRET_KEY, account.credentials or "")["app_password"] == BLUESKY_PASSWORD
    assert account.session is not None
    stored = everything_stored(engine)
    assert BLUESKY_PASSWORD not in stored
    assert "accessJwt" not in stored
    assert "eyJ" not in stored
    env.bluesky.add_mention("@agencypolice.bsky.social hello")
    (summary,) = poll_all_once(env.ctx)
    assert (summary.status, summary.new) == ("ok", 1)
    assert len(env.bluesky.logins) == 1, "the session the check opened is the one polled with"


@pytest.mark.parametrize(
    ("platform", "values", "field", "says"),
    [
        ("threads", {"token": "THAA-expired-or-wrong"}, "token", "Threads refused this token"),
        ("threads", {"token": THREADS_TOKEN, "user_id": "1789"}, "user_id", "no profile with that user id"),
        ("threads", {"token": THREADS_TOKEN, "user_id": "17x"}, "user_id", "is a number"),
        (
            "bluesky",
            {"handle": "agencypolice.bsky.social", "app_password": "nope-nope-nope-nope"},
            "handle",
            "refused",
        ),
        ("bluesky", {"handle": "agencypolice.bsky.social"}, "app_password", "Paste the app password"),
    ],
)
def test_threads_and_bluesky_refusals_are_put_next_to_the_field_at_fault(
    env: Env, platform: str, values: dict[str, str], field: str, says: str
) -> None:
    result = env.submit(platform, values)
    assert result.json["response_action"] == "errors"
    assert says in result.json["errors"][field]
    assert env.accounts() == []
