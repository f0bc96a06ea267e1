"""`/twoway connect` end to end: signed Slack requests, the real Bolt app, fake X, Graph and Slack.

The secrets used here are distinctive strings, so any leak (a Slack call, a log line, an audit
detail, the database in clear) is found by plain substring search.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, select, text

from bot.admin import connect
from bot.admin.connect import modal
from bot.app.startup import secrets_of
from bot.core.crypto import unseal
from bot.core.logs import RedactingFilter
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
from tests.support.fakes.server import Recorded, Response
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


@pytest.mark.parametrize("field", ["api_secret", "access_token_secret"])
def test_a_wrong_x_secret_is_refused_by_x_at_connect_and_nothing_is_saved_or_posted(
    env: Env, engine: Engine, field: str
) -> None:
    """The key and token are right but a secret is not: X cannot verify the request's signature
    (401, code 32), so the form says X refused the keys, and nothing is saved or posted."""
    wrong = {**X_KEYS, field: f"{X_KEYS[field]}-WRONG"}
    result = env.submit("x", wrong)
    assert result.json == {
        "response_action": "errors",
        "errors": {"api_key": registry.spec("x").refused},
    }
    assert "Check all four values" in result.json["errors"]["api_key"]
    (asked,) = env.x.calls(r"^/2/users/me$")
    assert asked.headers["authorization"].startswith("OAuth ")
    assert env.accounts() == []
    assert env.x.calls(r"^/2/tweets$", "POST") == []
    assert env.x.replies == []
    assert wrong[field] not in everything_stored(engine)
    assert wrong[field] not in result.body
    assert env.submit("x", X_KEYS).json["response_action"] == "update"  # the right secret connects
    (confirmation,) = wait_for(lambda: env.slack.ephemerals_for(ADMIN))  # for the right keys only
    assert "Connected X account @agency" in confirmation["text"]


def test_a_wrong_bearer_token_is_refused_even_with_good_user_keys(env: Env, engine: Engine) -> None:
    """Polls read mentions with the bearer token: a wrong one must not be saved as "Connected"."""
    result = env.submit("x", {**X_KEYS, "bearer_token": "xbearer-SECRET-wrong"})
    assert result.json["response_action"] == "errors"
    assert list(result.json["errors"]) == ["bearer_token"]  # the form marks the field at fault
    assert "refused the bearer token" in result.json["errors"]["bearer_token"]
    assert env.accounts() == []
    assert "xbearer-SECRET-wrong" not in everything_stored(engine)
    assert "xbearer-SECRET-wrong" not in result.body
    right = env.submit("x", {**X_KEYS, "bearer_token": env.x.bearer_token})
    assert right.json["response_action"] == "update"


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


def test_x_rate_limiting_the_check_says_when_to_try_again(env: Env, clock: FakeClock) -> None:
    """X's reset header names the end of its 15-minute window: the form says so."""
    reset = int((clock.now() + timedelta(minutes=14, seconds=10)).timestamp())
    env.x.fail_next(
        r"^/2/users/me$", Response(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})
    )
    error = env.submit("x", X_KEYS).json["errors"]["api_key"]
    assert error == "X is rate limiting this app right now; try again in 15 minutes."


def test_reconnecting_replaces_the_sealed_keys_of_the_same_account(env: Env) -> None:
    env.submit("x", X_KEYS)
    newer = {**X_KEYS, "api_secret": "xsecret-SECRET-rotated"}
    env.x.api_secret = newer["api_secret"]  # the admin regenerated the app's secret on X
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
        ({"page_id": "104857600000001"}, "page_token", "Paste the Page access token"),
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


# -- ids typed in other digits, and submissions Slack would never send ----------------------------------


@pytest.mark.parametrize(
    ("platform", "values", "field", "says"),
    [
        (
            "facebook",
            {
                "page_id": "１０４８５７６００００００００１",
                "page_token": PAGE_TOKEN,
            },  # as a Japanese IME types it
            "page_id",
            "The Page ID is a number, such as 104857600000001.",
        ),
        ("facebook", {"page_id": "²", "page_token": PAGE_TOKEN}, "page_id", "The Page ID is a number"),
        (
            "instagram",
            {"page_id": "104857600000001", "page_token": PAGE_TOKEN, "account_id": "１７８４１"},
            "account_id",
            "The Instagram account ID is a number",
        ),
        (
            "threads",
            {"token": THREADS_TOKEN, "user_id": "１７８９"},
            "user_id",
            "The Threads user ID is a number",
        ),
    ],
)
def test_ids_in_non_ascii_digits_get_the_field_error_without_asking_the_platform(
    env: Env, platform: str, values: dict[str, str], field: str, says: str
) -> None:
    result = env.submit(platform, values)
    assert result.json["response_action"] == "errors"
    assert result.json["errors"][field].startswith(says)
    assert "did not answer in time" not in result.body
    assert env.graph.requests == []
    assert env.threads.requests == []
    assert env.accounts() == []


@pytest.mark.parametrize(
    "values",
    [
        {"api_key": "xkey-as-a-bare-string"},  # the block is a string, not {action_id: element}
        {"api_key": [{"type": "plain_text_input", "value": "x"}]},
        {"api_key": {"value": ["xkey-in-a-list"]}},  # the element is a list
        {"api_key": {"value": {"type": "plain_text_input", "value": 12345678}}},  # the value is a number
    ],
)
def test_a_field_of_the_wrong_type_gets_its_field_error_not_a_generic_failure(
    env: Env, values: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    state = {**{k: {"value": {"type": "plain_text_input", "value": v}} for k, v in X_KEYS.items()}, **values}
    result = env.sender.submit_view("connect_x", state, json.dumps({"channel": CHANNEL}), user_id=ADMIN)
    assert result.status == 200
    assert result.json == {
        "response_action": "errors",
        "errors": {"api_key": "TwoWay could not read the API key; paste it again."},
    }
    assert env.x.calls(r"^/2/") == []
    assert env.accounts() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_form_values_that_are_not_an_object_name_every_field(env: Env) -> None:
    result = env.sender.submit_view("connect_facebook", ["page_id"], "{}", user_id=ADMIN)  # type: ignore[arg-type]
    assert result.json["response_action"] == "errors"
    assert set(result.json["errors"]) == {"page_id", "page_token"}
    assert env.accounts() == []


def test_unreadable_metadata_still_connects_and_confirms_by_dm(env: Env) -> None:
    state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in X_KEYS.items()}
    result = env.sender.submit_view("connect_x", state, '["C0REVIEW01"]', user_id=ADMIN)
    assert result.json["response_action"] == "update"
    (dm,) = wait_for(lambda: env.slack.dms(ADMIN))
    assert "Connected X account @agency" in dm.text


# -- credentials from the form never reach logs or stored error text -------------------------------------


def test_credentials_typed_into_the_form_are_scrubbed_by_the_log_filter_set_up_at_start(env: Env) -> None:
    redactor = RedactingFilter(secrets_of(env.ctx.settings))  # what start-up installed: env secrets only
    keys = {**X_KEYS, "api_secret": f"xsecret-{uuid.uuid4().hex}", "access_token_secret": uuid.uuid4().hex}
    env.x.api_secret, env.x.access_token_secret = keys["api_secret"], keys["access_token_secret"]
    assert env.submit("x", keys).json["response_action"] == "update"
    said = f"X said: key={keys['api_key']} {keys['api_secret']} {keys['access_token_secret']}"
    assert redactor.scrub(said) == "X said: key=[redacted] [redacted] [redacted]"
    assert redactor.scrub("x account 1000 @agency") == "x account 1000 @agency"  # ids and handles stay


def test_a_platform_error_echoing_credentials_is_stored_and_shown_without_them(
    env: Env, engine: Engine
) -> None:
    """A proxy answers 500 with the request's Authorization header in its error text."""
    from bot.intake.polling import poll_all_once

    assert env.submit("x", X_KEYS).json["response_action"] == "update"
    original = env.x.dispatch

    def echo(recorded: Recorded) -> Response:
        original(recorded)
        seen = recorded.headers.get("authorization", "").replace('"', "")  # no pattern matches it
        return Response(500, {"title": "Internal", "detail": f"upstream refused {seen}"})

    env.x.dispatch = echo  # type: ignore[method-assign]
    (summary,) = poll_all_once(env.ctx)
    assert summary.status == "error"
    (account,) = env.accounts()
    shown = env.command("status").text + env.command("accounts").text
    for seen in (summary.error or "", account.last_error or "", account.status_reason or "", shown):
        assert [key for key, secret in X_KEYS.items() if secret in seen] == []
    assert "[redacted]" in (account.last_error or "")


@pytest.mark.parametrize("platform", registry.names())
@pytest.mark.parametrize("user", [None, {}, {"id": None}, {"id": ["U0ADMIN01"]}, "U0ADMIN01"])
def test_a_submission_that_names_no_user_is_refused_in_the_form(
    env: Env, platform: str, user: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack always says who submitted; a crafted form without it gets an answer, not a traceback."""
    values = {field.key: "1234567890" for field in registry.spec(platform).fields}
    state = {key: {"value": {"type": "plain_text_input", "value": v}} for key, v in values.items()}
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": connect.callback_id(platform),
        "state": {"values": state},
    }
    payload: dict[str, object] = {"type": "view_submission", "team": {"id": "T0TWOWAY"}, "view": view}
    if user is not None:
        payload["user"] = user
    result = env.sender.post(urlencode({"payload": json.dumps(payload)}))
    assert result.status == 200
    first = registry.spec(platform).fields[0].key
    assert result.json == {"response_action": "errors", "errors": {first: connect.NO_USER}}
    assert "could not tell who sent this form" in connect.NO_USER
    assert env.accounts() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
