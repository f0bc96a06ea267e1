"""Threads and Bluesky accounts from the environment: registered, polled with one line each, their
refreshed token or login session kept sealed in the database and reused after a restart, and a
person alerted when a token cannot be refreshed or an app password is revoked.

Real clients (requests, atproto) against the fakes; SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.core.context import Context
from bot.core.crypto import unseal
from bot.intake.accounts import register_env_accounts
from bot.intake.alerts import sync_account_alerts
from bot.intake.polling import poll_all_once
from storage import settings as stored_settings
from storage import staff
from storage.models import Account, AuditEvent, Mention
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.bluesky_api import FakeBluesky
from tests.support.fakes.slack_api import FakeSlack
from tests.support.fakes.threads_api import FakeThreads

KEY = "test-secret-key-0123456789"
CHANNEL = "C0REVIEW01"


@pytest.fixture
def threads(clock: FakeClock) -> Iterator[FakeThreads]:
    with FakeThreads(now=clock.now() - timedelta(hours=1), clock=clock.now) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def bluesky(clock: FakeClock) -> Iterator[FakeBluesky]:
    with FakeBluesky(now=clock.now() - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def configure(ctx: Context, threads: FakeThreads | None = None, bluesky: FakeBluesky | None = None) -> None:
    values = {"DATABASE_URL": ctx.settings.database_url, "TWOWAY_SECRET_KEY": KEY}
    if threads is not None:
        values.update(
            THREADS_API_URL=threads.url, THREADS_USER_ID=threads.profile["id"], THREADS_TOKEN=threads.token
        )
    if bluesky is not None:
        values.update(
            BLUESKY_SERVICE_URL=bluesky.url,
            BLUESKY_HANDLE=bluesky.handle,
            BLUESKY_APP_PASSWORD=bluesky.app_password,
        )
    ctx.settings = make_settings(**values)
    ctx.forget_state()  # as a new process would start: no cached connectors


def account(ctx: Context, platform: str) -> Account:
    with ctx.transaction() as session:
        found = session.scalar(select(Account).where(Account.platform == platform))
        assert found is not None
        return found


def test_both_are_registered_and_polled_with_one_line_each(
    ctx: Context, threads: FakeThreads, bluesky: FakeBluesky
) -> None:
    post = threads.add_post("Coffee with a cop on Saturday")
    question = threads.add_reply(post, "What time does it start?", username="kim.lee")
    mention = bluesky.add_mention("@agencypolice.bsky.social the light on 5th is out")
    configure(ctx, threads, bluesky)
    assert sorted(a.platform for a in register_env_accounts(ctx)) == ["bluesky", "threads"]
    lines = [s.line() for s in poll_all_once(ctx)]
    assert "threads @agencypolice: 1 new, 0 skipped, 5 requests, ok" in lines
    assert "bluesky @agencypolice.bsky.social: 1 new, 0 skipped, 1 requests, ok" in lines
    with ctx.transaction() as session:
        stored = {m.platform: m for m in session.scalars(select(Mention))}
    assert stored["threads"].external_id == question["id"]
    assert stored["bluesky"].external_id == mention["uri"]  # an AT-URI, longer than 64 characters
    assert len(mention["uri"]) > 64
    lines = [s.line() for s in poll_all_once(ctx)]
    assert "threads @agencypolice: 0 new, 0 skipped, 4 requests, ok" in lines  # the young post is read
    assert "bluesky @agencypolice.bsky.social: 0 new, 0 skipped, 1 requests, ok" in lines


def test_the_bluesky_session_is_kept_sealed_and_reused_after_a_restart(
    ctx: Context, bluesky: FakeBluesky
) -> None:
    configure(ctx, bluesky=bluesky)
    register_env_accounts(ctx)
    poll_all_once(ctx)
    row = account(ctx, "bluesky")
    assert row.session is not None
    assert "accessJwt" not in row.session
    assert bluesky.app_password not in row.session
    kept = json.loads(unseal(KEY, row.session)["session"])
    assert kept["login"] == bluesky.handle
    for _ in range(3):  # three restarts, each registering and polling again
        configure(ctx, bluesky=bluesky)
        register_env_accounts(ctx)
        poll_all_once(ctx)
    assert len(bluesky.logins) == 1, "one login in all: the session is reused across restarts"


def test_a_revoked_app_password_needs_attention_and_puts_up_one_alert_card(
    ctx: Context, bluesky: FakeBluesky, clock: FakeClock
) -> None:
    configure(ctx, bluesky=bluesky)
    register_env_accounts(ctx)
    poll_all_once(ctx)
    bluesky.revoke_app_password()
    (summary,) = poll_all_once(ctx)
    assert summary.status == "needs_attention"
    assert "refused" in (summary.error or "")
    with FakeSlack() as slack:
        alerts = posted_alerts(ctx, slack, clock)
        assert len(alerts) == 1
        assert "Bluesky @agencypolice.bsky.social needs attention" in str(alerts[0].blocks)
        assert "/twoway connect bluesky" in str(alerts[0].blocks)


def test_the_refreshed_threads_token_is_kept_sealed_and_used_after_a_restart(
    ctx: Context, threads: FakeThreads, clock: FakeClock
) -> None:
    configure(ctx, threads)
    register_env_accounts(ctx)
    poll_all_once(ctx)
    row = account(ctx, "threads")
    state = json.loads(unseal(KEY, row.session or "")["session"])
    assert state["token"] != threads.token
    assert state["token"] in threads.tokens
    assert threads.token not in (row.session or "")
    # Months later the pasted token has long expired; the kept one (refreshed since) still works.
    threads.tokens[threads.token]["expires"] = clock.now()
    clock.advance(days=1)
    configure(ctx, threads)
    register_env_accounts(ctx)
    (summary,) = poll_all_once(ctx)
    assert summary.status == "ok", summary.line()


def test_a_token_threads_will_not_refresh_puts_up_an_alert_while_polling_goes_on(
    ctx: Context, threads: FakeThreads, clock: FakeClock
) -> None:
    threads.refusing_refresh = "(#10) The user has not granted threads_basic"
    configure(ctx, threads)
    register_env_accounts(ctx)
    poll_all_once(ctx)
    clock.advance(hours=25)
    threads.add_mention("@agencypolice still reading", created_at=clock.now())
    (summary,) = poll_all_once(ctx)
    assert (summary.status, summary.new) == ("ok", 1)
    row = account(ctx, "threads")
    assert row.attention is not None
    assert "would not refresh" in row.attention
    with FakeSlack() as slack:
        (alert,) = posted_alerts(ctx, slack, clock)
        assert "Threads @agencypolice needs attention" in str(alert.blocks)
        assert "would not refresh" in str(alert.blocks)
        threads.refusing_refresh = None
        clock.advance(hours=2)
        poll_all_once(ctx)
        assert account(ctx, "threads").attention is None
        sync_account_alerts(ctx)
        assert any("works again" in m.text for m in slack.replies(CHANNEL, alert.ts))
    with ctx.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.account_id == row.id)))
    assert actions.count("account_warned") == 1


def posted_alerts(ctx: Context, slack: FakeSlack, clock: FakeClock) -> list:  # type: ignore[type-arg]
    ctx.slack = WebClient(token="xoxb-alerts-test", base_url=slack.api_url, timeout=2)
    with ctx.transaction() as session:
        stored_settings.put(session, "channel", CHANNEL, "test", clock.now())
        staff.set_role(session, "U0ADMIN01", "admin", by="test", now=clock.now())
    sync_account_alerts(ctx)
    sync_account_alerts(ctx)  # a second sweep adds nothing
    return [m for m in slack.messages(CHANNEL, top_level=True)]
