"""Account trouble alerts: one card per problem, one recovery notice, never one per poll."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.core.context import Context
from bot.intake.alerts import EVENT_TYPE, sync_account_alerts
from storage import settings as stored_settings
from storage import staff
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    Account,
    AuditEvent,
)
from tests.conftest import FakeClock
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack

CHANNEL = "C0REVIEW01"
ADMINS = ("U0ADMIN01", "U0ADMIN02")
TOKEN = "xoxb-alerts-test-token"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def alert_ctx(ctx: Context, slack: FakeSlack, clock: FakeClock) -> Context:
    ctx.slack = WebClient(token=TOKEN, base_url=slack.api_url, timeout=2)
    with ctx.transaction() as session:
        stored_settings.put(session, "channel", CHANNEL, "test", clock.now())
        for admin in ADMINS:
            staff.set_role(session, admin, "admin", by="test", now=clock.now())
        staff.set_role(session, "U0OFFICER1", "officer", by="test", now=clock.now())
    return ctx


def add_account(ctx: Context, clock: FakeClock, **values: Any) -> int:
    fields: dict[str, Any] = {
        "platform": "x",
        "external_id": "1000",
        "handle": "agency",
        "source": "slack",
        "created_at": clock.now() - timedelta(days=1),
        "last_success_at": clock.now() - timedelta(minutes=2),
    }
    fields.update(values)
    with ctx.transaction() as session:
        account = Account(**fields)
        session.add(account)
        session.flush()
        return account.id


def change(ctx: Context, account_id: int, **values: Any) -> None:
    with ctx.transaction() as session:
        session.execute(update(Account).where(Account.id == account_id).values(**values))


def row(ctx: Context, account_id: int) -> Account:
    with ctx.transaction() as session:
        found = session.get(Account, account_id)
        assert found is not None
        return found


def revoked(ctx: Context, account_id: int) -> None:
    change(
        ctx,
        account_id,
        status=ACCOUNT_NEEDS_ATTENTION,
        status_reason="X refused the credentials (401) <!channel>",
        last_error="401 Unauthorized",
    )


def test_a_revoked_account_gets_one_alert_however_often_it_is_polled(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    for _ in range(4):
        sync_account_alerts(alert_ctx)
        clock.advance(minutes=10)
    (card,) = slack.messages(CHANNEL)
    for admin in ADMINS:
        assert f"<@{admin}>" in card.text
    assert "<@U0OFFICER1>" not in card.text
    shown = str(card.blocks)
    assert "X @agency needs attention" in shown
    assert "&lt;!channel&gt;" in shown
    assert "<!channel>" not in shown
    assert "/twoway connect x" in shown
    assert card.metadata is not None
    assert card.metadata["event_type"] == EVENT_TYPE
    assert row(alert_ctx, account).alert_ts == card.ts


def test_an_alert_never_shows_a_credential_an_old_stored_error_holds(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    """Errors are scrubbed before they are stored now; a row stored before that is scrubbed when shown."""
    account = add_account(alert_ctx, clock)
    change(
        alert_ctx,
        account,
        status=ACCOUNT_NEEDS_ATTENTION,
        status_reason='401 from proxy: Authorization: Bearer AAAAsecretbearer123 oauth_token="1000-usertoken"',
    )
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    shown = str(card.blocks) + card.text
    assert "AAAAsecretbearer123" not in shown
    assert "1000-usertoken" not in shown
    assert "[redacted]" in shown


def test_a_healed_account_gets_one_recovery_notice_and_the_card_says_so(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    change(
        alert_ctx, account, status=ACCOUNT_OK, status_reason=None, last_success_at=clock.advance(minutes=5)
    )
    for _ in range(3):
        sync_account_alerts(alert_ctx)
        clock.advance(minutes=1)
    (notice,) = slack.replies(CHANNEL, card.ts)
    assert "X @agency works again" in notice.text
    updated = slack.message(CHANNEL, card.ts)
    assert updated.edits
    assert "~X @agency needed attention~" in str(updated.blocks)
    healed = row(alert_ctx, account)
    assert (healed.alert_channel, healed.alert_ts, healed.alert_at) == (None, None, None)
    with alert_ctx.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.account_id == account)))
    assert actions.count("account_alerted") == 1
    assert actions.count("account_recovered") == 1

    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    assert len(slack.messages(CHANNEL, top_level=True)) == 2


@pytest.mark.parametrize("status", [ACCOUNT_RATE_LIMITED, ACCOUNT_ERROR])
def test_rate_limits_and_failures_alert_only_when_they_last(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock, status: str
) -> None:
    account = add_account(alert_ctx, clock, last_success_at=clock.now())
    change(
        alert_ctx,
        account,
        status=status,
        last_error="connection failed",
        retry_after=clock.now() + timedelta(minutes=15),
    )
    sync_account_alerts(alert_ctx)
    clock.advance(minutes=29)
    sync_account_alerts(alert_ctx)
    assert slack.messages(CHANNEL) == []
    clock.advance(minutes=2)
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    assert "no successful poll since" in str(card.blocks).lower()


def test_pausing_a_troubled_account_closes_its_alert_and_raises_none(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    change(alert_ctx, account, enabled=False)
    sync_account_alerts(alert_ctx)
    sync_account_alerts(alert_ctx)
    (notice,) = slack.replies(CHANNEL, card.ts)
    assert "was paused" in notice.text
    assert len(slack.messages(CHANNEL, top_level=True)) == 1


def test_no_channel_means_no_alert_until_one_is_set(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    with alert_ctx.transaction() as session:
        stored_settings.delete(session, "channel", "test", clock.now())
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    assert slack.requests == []
    assert row(alert_ctx, account).alert_channel is None
    with alert_ctx.transaction() as session:
        stored_settings.put(session, "channel", CHANNEL, "test", clock.now())
    sync_account_alerts(alert_ctx)
    assert len(slack.messages(CHANNEL)) == 1


# -- backlog gaps -----------------------------------------------------------------------------------


def test_a_backlog_gap_is_announced_once_per_gap(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    account = add_account(alert_ctx, clock)
    change(alert_ctx, account, backlog_gap_at=clock.now())
    for _ in range(3):
        sync_account_alerts(alert_ctx)
    (notice,) = slack.messages(CHANNEL)
    assert "Some mentions of X @agency may have been missed" in notice.text
    assert f"<@{ADMINS[0]}>" in notice.text
    change(alert_ctx, account, backlog_gap_at=clock.advance(hours=2))
    sync_account_alerts(alert_ctx)
    sync_account_alerts(alert_ctx)
    assert len(slack.messages(CHANNEL)) == 2


def test_an_old_backlog_gap_is_not_news(alert_ctx: Context, slack: FakeSlack, clock: FakeClock) -> None:
    account = add_account(alert_ctx, clock)
    change(alert_ctx, account, backlog_gap_at=clock.now() - timedelta(days=2))
    sync_account_alerts(alert_ctx)
    assert slack.messages(CHANNEL) == []


# -- Slack failures -----------------------------------------------------------------------------------


def test_a_revoked_slack_token_is_logged_once_clearly_and_nothing_is_lost(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    slack.revoked_tokens.add(TOKEN)
    for _ in range(3):
        sync_account_alerts(alert_ctx)  # never raises: the other duties keep running
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "token_revoked" in errors[0].getMessage()
    assert "SLACK_BOT_TOKEN" in errors[0].getMessage()
    assert TOKEN not in caplog.text
    assert row(alert_ctx, account).alert_channel is None  # the claim was given back

    slack.revoked_tokens.clear()
    sync_account_alerts(alert_ctx)
    assert len(slack.messages(CHANNEL)) == 1


def test_a_channel_that_refuses_the_bot_gives_the_claim_back(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack.set_channel(CHANNEL, is_member=False)
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    sync_account_alerts(alert_ctx)
    assert "not_in_channel" in caplog.text
    assert len([r for r in caplog.records if "not_in_channel" in r.getMessage()]) == 1
    assert row(alert_ctx, account).alert_channel is None
    slack.set_channel(CHANNEL, is_member=True)
    sync_account_alerts(alert_ctx)
    assert len(slack.messages(CHANNEL)) == 1


def test_a_post_slack_did_not_answer_is_found_again_not_posted_twice(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    """A timeout after Slack stored the card: the next sweeps adopt it from the channel history."""
    original = slack.api_chat_postMessage

    def slow_once(args: dict[str, Any]) -> Response:
        response = original(args)
        slack.api_chat_postMessage = original  # type: ignore[method-assign]
        return Response(response.status, response.body, response.headers, delay=3.0)

    slack.api_chat_postMessage = slow_once  # type: ignore[method-assign]
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)  # times out after 2 s; the card exists anyway
    (card,) = slack.messages(CHANNEL)
    assert row(alert_ctx, account).alert_ts is None
    sync_account_alerts(alert_ctx)  # the claim is fresh: wait
    clock.advance(minutes=6)
    sync_account_alerts(alert_ctx)  # stale: look it up instead of posting again
    assert slack.messages(CHANNEL) == [card]
    assert row(alert_ctx, account).alert_ts == card.ts
    assert slack.api_calls("conversations.history")


def test_a_post_answered_with_a_server_error_is_found_again_not_posted_twice(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    """A gateway 502 after Slack stored the card is an unknown outcome, not a refusal."""
    original = slack.api_chat_postMessage

    def stored_then_502(args: dict[str, Any]) -> Response:
        original(args)
        slack.api_chat_postMessage = original  # type: ignore[method-assign]
        return Response(502, "<html>Bad Gateway</html>")

    slack.api_chat_postMessage = stored_then_502  # type: ignore[method-assign]
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    assert row(alert_ctx, account).alert_channel == CHANNEL  # the claim stays
    sync_account_alerts(alert_ctx)
    clock.advance(minutes=6)
    sync_account_alerts(alert_ctx)
    assert slack.messages(CHANNEL) == [card]
    assert row(alert_ctx, account).alert_ts == card.ts


def test_a_stale_claim_whose_post_never_happened_is_posted_once(
    alert_ctx: Context, slack: FakeSlack, clock: FakeClock
) -> None:
    """A process died between claiming and posting: after a while the alert is posted after all."""
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    change(alert_ctx, account, alert_channel=CHANNEL, alert_at=clock.now())
    sync_account_alerts(alert_ctx)
    assert slack.messages(CHANNEL) == []
    clock.advance(minutes=6)
    sync_account_alerts(alert_ctx)
    sync_account_alerts(alert_ctx)
    (card,) = slack.messages(CHANNEL)
    assert row(alert_ctx, account).alert_ts == card.ts


def test_concurrent_sweeps_post_one_card(alert_ctx: Context, slack: FakeSlack, clock: FakeClock) -> None:
    """Two processes (here: threads) sweeping at once cannot both win the claim."""
    account = add_account(alert_ctx, clock)
    revoked(alert_ctx, account)
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def sweep() -> None:
        start.wait()
        try:
            sync_account_alerts(alert_ctx)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(slack.messages(CHANNEL)) == 1
