"""Polling into the database: cursors, de-duplication, account health and env registration.

Real tweepy and facebook-sdk talk to the fake X and Graph servers; every test runs on SQLite and,
when TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.core.config import ConfigError
from bot.core.context import Context
from bot.core.retry import backoff
from bot.intake.accounts import connector_for, register_env_accounts, save_connected_account
from bot.intake.health import health_line
from bot.intake.polling import PollSummary, poll_account, poll_all_once
from domain import AccountIdentity
from storage import accounts, progress
from storage.mentions import to_domain
from storage.models import (
    ACCOUNT_ERROR,
    ACCOUNT_NEEDS_ATTENTION,
    ACCOUNT_OK,
    ACCOUNT_RATE_LIMITED,
    NEW,
    Account,
    AuditEvent,
    Mention,
)
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.graph_api import FakeGraph, graph_error
from tests.support.fakes.server import Recorded, Response
from tests.support.fakes.x_api import FakeX, error

SECRET = "test-secret-key-0123456789"


@pytest.fixture
def fake_x(clock: FakeClock) -> Iterator[FakeX]:
    with FakeX(now=clock.now() - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def fake_graph(clock: FakeClock) -> Iterator[FakeGraph]:
    with FakeGraph(now=clock.now() - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def x_env(fake: FakeX) -> dict[str, str]:
    creds = fake.user_credentials
    return {
        "X_API_URL": fake.url,
        "X_BEARER_TOKEN": fake.bearer_token,
        "X_API_KEY": creds["api_key"],
        "X_API_SECRET": creds["api_secret"],
        "X_ACCESS_TOKEN": creds["access_token"],
        "X_ACCESS_TOKEN_SECRET": creds["access_token_secret"],
    }


def graph_env(fake: FakeGraph) -> dict[str, str]:
    return {
        "FACEBOOK_GRAPH_URL": fake.url,
        "FACEBOOK_PAGE_ID": fake.page["id"],
        "FACEBOOK_PAGE_TOKEN": fake.page_token,
    }


def configure(ctx: Context, **env: Any) -> Context:
    values = {"DATABASE_URL": ctx.settings.database_url, "TWOWAY_SECRET_KEY": SECRET, **env}
    ctx.settings = make_settings(**values)
    ctx.forget_state()
    return ctx


def register_x(ctx: Context, fake: FakeX, **env: Any) -> int:
    configure(ctx, **x_env(fake), **env)
    (account,) = register_env_accounts(ctx)
    fake.requests.clear()
    return account.id


def stored(ctx: Context) -> list[Mention]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Mention).order_by(Mention.external_id)))


def account_row(ctx: Context, account_id: int) -> Account:
    with ctx.transaction() as session:
        row = accounts.get(session, account_id)
        assert row is not None
        return row


def audit_actions(ctx: Context, action: str) -> list[AuditEvent]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# -- registration --------------------------------------------------------------------------


def test_env_x_account_is_registered_from_users_me(ctx: Context, fake_x: FakeX) -> None:
    configure(ctx, **x_env(fake_x))
    (account,) = register_env_accounts(ctx)
    assert (account.platform, account.external_id, account.handle, account.source) == (
        "x",
        "1000",
        "agency",
        "env",
    )
    assert account.credentials is None
    assert len(audit_actions(ctx, "account_connected")) == 1
    register_env_accounts(ctx)  # a restart does not duplicate it
    with ctx.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 1


def test_env_facebook_page_is_registered(ctx: Context, fake_graph: FakeGraph) -> None:
    configure(ctx, **graph_env(fake_graph))
    (account,) = register_env_accounts(ctx)
    assert (account.platform, account.external_id, account.name) == (
        "facebook",
        fake_graph.page["id"],
        "Agency Police",
    )


def test_a_refused_env_token_at_start_up_does_not_crash_and_flags_the_account(
    ctx: Context, fake_x: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.revoke()
    assert [a.id for a in register_env_accounts(ctx)] == [account_id]
    row = account_row(ctx, account_id)
    assert row.status == ACCOUNT_NEEDS_ATTENTION
    assert "401" in (row.status_reason or "")
    assert any("could not be checked" in r.getMessage() for r in caplog.records)
    assert fake_x.bearer_token not in caplog.text


def test_an_unreachable_platform_at_start_up_is_one_log_line(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    configure(ctx, X_API_URL="http://127.0.0.1:9", X_BEARER_TOKEN="tok-123456789", TWOWAY_HTTP_TIMEOUT=1)
    assert register_env_accounts(ctx) == []
    assert "connection failed" in caplog.text


def test_slack_connected_credentials_are_sealed_and_used(ctx: Context, fake_graph: FakeGraph) -> None:
    configure(ctx, FACEBOOK_GRAPH_URL=fake_graph.url)
    identity = AccountIdentity("facebook", fake_graph.page["id"], "Agency Police", "Agency Police")
    with ctx.transaction() as session:
        account = save_connected_account(
            session, ctx.settings, identity, fake_graph.credentials, "U0ADMIN", ctx.clock.now()
        )
    assert account.source == "slack"
    assert fake_graph.page_token not in (account.credentials or "")
    post = fake_graph.add_post()
    fake_graph.add_comment(post, "hello from Slack-connected page")
    summary = poll_account(ctx, account.id)
    assert (summary.new, summary.status) == (1, ACCOUNT_OK)
    first = connector_for(ctx, account_row(ctx, account.id))
    assert connector_for(ctx, account_row(ctx, account.id)) is first  # cached
    with ctx.transaction() as session:
        save_connected_account(
            session, ctx.settings, identity, {**fake_graph.credentials}, "U0ADMIN", ctx.clock.now()
        )
    assert connector_for(ctx, account_row(ctx, account.id)) is not first  # new credentials, new connector


def test_saving_credentials_without_a_secret_key_is_a_clear_error(ctx: Context) -> None:
    ctx.settings = make_settings(DATABASE_URL=ctx.settings.database_url)
    identity = AccountIdentity("x", "1000", "agency")
    with ctx.transaction() as session, pytest.raises(ConfigError, match="TWOWAY_SECRET_KEY"):
        save_connected_account(
            session, ctx.settings, identity, {"bearer_token": "t"}, "U0ADMIN", ctx.clock.now()
        )


# -- polling -------------------------------------------------------------------------------


def test_first_poll_stores_new_mentions_with_audit_and_cursor(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.add_mention("too old", created_at=clock.now() - timedelta(hours=25))
    recent = [fake_x.add_mention(f"question {n}?") for n in range(3)]
    summary = poll_account(ctx, account_id)
    assert summary.line() == "x @agency: 3 new, 0 skipped, 1 requests, ok"
    rows = stored(ctx)
    assert [r.external_id for r in rows] == sorted(t["id"] for t in recent)
    assert {r.state for r in rows} == {NEW}
    assert len(audit_actions(ctx, "ingested")) == 3
    row = account_row(ctx, account_id)
    assert row.cursor == recent[-1]["id"]
    assert (row.status, row.last_success_at, row.consecutive_failures) == (ACCOUNT_OK, clock.now(), 0)


def test_posts_read_again_use_up_no_item_numbers(ctx: Context, fake_x: FakeX, clock: FakeClock) -> None:
    """A poll that reads stored posts again (a lost cursor here; Bluesky re-reads a page every poll)
    stores only the new one, and its item number follows the last: on PostgreSQL an insert that
    meets a conflict still takes a number, so staff would see #4, then #45."""
    account_id = register_x(ctx, fake_x)
    for n in range(3):
        fake_x.add_mention(f"question {n}?")
    poll_account(ctx, account_id)
    for _ in range(3):
        with ctx.transaction() as session:
            progress.forget(session, account_id)
            session.execute(update(Account).where(Account.id == account_id).values(cursor=None))
        assert poll_account(ctx, account_id).line().startswith("x @agency: 0 new")
    fake_x.add_mention("and one more question?")
    with ctx.transaction() as session:
        progress.forget(session, account_id)
        session.execute(update(Account).where(Account.id == account_id).values(cursor=None))
    assert poll_account(ctx, account_id).line().startswith("x @agency: 1 new")
    assert sorted(r.id for r in stored(ctx)) == [1, 2, 3, 4]


def test_half_an_emoji_in_a_post_does_not_stop_the_poll(ctx: Context, fake_x: FakeX) -> None:
    """A lone surrogate escape ("\\ud83d", an emoji cut in half) is valid JSON but no database
    takes it: the post is stored with U+FFFD in its place, and the posts after it too."""
    account_id = register_x(ctx, fake_x)
    broken = fake_x.add_mention("Thank you officers \ud83d so much")
    fake_x.add_mention("where do I pick up my towed car?")
    summary = poll_account(ctx, account_id)
    assert summary.line() == "x @agency: 2 new, 0 skipped, 1 requests, ok"
    rows = {r.external_id: r for r in stored(ctx)}
    assert rows[broken["id"]].text.endswith("Thank you officers \ufffd so much")
    assert rows[broken["id"]].raw["tweet"]["text"].endswith("Thank you officers \ufffd so much")
    assert len(rows) == 2


def test_incremental_polls_store_only_what_is_new_and_never_duplicate(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.add_mention("one")
    poll_account(ctx, account_id)
    clock.advance(minutes=2)
    idle = poll_account(ctx, account_id)
    assert (idle.new, idle.requests) == (0, 1)
    fake_x.add_mention("two")
    fake_x.add_mention("three")
    clock.advance(minutes=2)
    assert poll_account(ctx, account_id).new == 2
    assert len(stored(ctx)) == 3
    assert len(audit_actions(ctx, "ingested")) == 3


def test_a_stored_mention_reads_back_as_the_domain_type(ctx: Context, fake_x: FakeX) -> None:
    account_id = register_x(ctx, fake_x)
    ours = fake_x.add_tweet("Our update", author="agency")
    tweet = fake_x.add_mention("thanks!", author="jane", reply_to=ours)
    poll_account(ctx, account_id)
    with ctx.transaction() as session:
        mention = to_domain(session.scalars(select(Mention)).one())
    assert mention.external_id == tweet["id"]
    assert mention.account_external_id == "1000"
    assert mention.author.handle == "jane"
    assert mention.parent_text == "Our update"
    assert mention.created_at.tzinfo is not None
    assert mention.raw["tweet"]["id"] == tweet["id"]


def test_pagination_stores_every_page(ctx: Context, fake_x: FakeX) -> None:
    account_id = register_x(ctx, fake_x)
    for n in range(230):
        fake_x.add_mention(f"m {n}")
    summary = poll_account(ctx, account_id)
    assert (summary.new, summary.requests) == (230, 3)
    assert len(stored(ctx)) == 230


def test_a_failure_between_pages_keeps_stored_pages_and_the_old_cursor(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    """Page 1 is committed, page 2 fails: the cursor stays put, and the retry completes without duplicates."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("before")
    poll_account(ctx, account_id)
    for n in range(150):
        fake_x.add_mention(f"burst {n}")
    fake_x.fail_next_page(Response(503, {"title": "Service Unavailable"}))
    clock.advance(minutes=2)
    failed = poll_account(ctx, account_id)
    assert (failed.new, failed.status) == (100, ACCOUNT_ERROR)
    assert account_row(ctx, account_id).cursor == first["id"]
    assert len(stored(ctx)) == 101
    clock.advance(minutes=5)
    retried = poll_account(ctx, account_id)
    assert (retried.new, retried.status) == (50, ACCOUNT_OK)
    assert len(stored(ctx)) == 151
    assert account_row(ctx, account_id).cursor == fake_x.timeline[-1]


def test_a_crash_while_storing_page_two_keeps_page_one_and_the_old_cursor(
    ctx: Context, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """TwoWay itself failing mid-batch (a database error, a bug) is an account error, not a lost batch."""
    import bot.intake.polling

    account_id = register_x(ctx, fake_x)
    for n in range(150):
        fake_x.add_mention(f"burst {n}")
    real_store = bot.intake.polling.store_page
    calls = []

    def store_then_crash(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full while writing access_token=EAAB-not-a-real-token")
        return real_store(*args)

    monkeypatch.setattr(bot.intake.polling, "store_page", store_then_crash)
    summary = poll_account(ctx, account_id)
    assert (summary.new, summary.status) == (100, ACCOUNT_ERROR)
    assert summary.error == "internal error (RuntimeError)"
    assert account_row(ctx, account_id).cursor is None
    assert "EAAB-not-a-real-token" not in caplog.text
    monkeypatch.setattr(bot.intake.polling, "store_page", real_store)
    ctx.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert poll_account(ctx, account_id).new == 50
    assert len(stored(ctx)) == 150


def test_duplicates_within_one_store_are_ignored(ctx: Context, fake_x: FakeX, clock: FakeClock) -> None:
    """The same posts arriving twice (overlap, a repeated page) keep one row and one audit event each."""
    account_id = register_x(ctx, fake_x)
    fake_x.add_mention("a")
    fake_x.add_mention("b")
    poll_account(ctx, account_id)
    with ctx.transaction() as session:
        session.execute(update(Account).values(cursor=None))
    clock.advance(minutes=2)
    assert poll_account(ctx, account_id).new == 0
    assert len(stored(ctx)) == 2
    assert len(audit_actions(ctx, "ingested")) == 2


def test_a_rate_limit_waits_for_the_reset_without_polling(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    account_id = register_x(ctx, fake_x)
    reset = clock.now() + timedelta(minutes=7)
    fake_x.rate_limit_next(int(reset.timestamp()))
    limited = poll_account(ctx, account_id)
    assert limited.status == ACCOUNT_RATE_LIMITED
    row = account_row(ctx, account_id)
    assert row.status == ACCOUNT_RATE_LIMITED
    assert row.retry_after == reset + timedelta(seconds=1)
    clock.advance(minutes=3)
    # A restart, or the next `twoway poll --once` from cron, checks the env keys again: that
    # proves the keys, not that the limit has passed, so the wait stands.
    register_env_accounts(ctx)
    waiting = poll_account(ctx, account_id)
    assert (waiting.status, waiting.requests) == ("waiting", 0)
    assert len(fake_x.calls("/mentions$")) == 1
    clock.advance(minutes=3, seconds=58)  # three seconds before the reset: X would answer 429 again
    assert poll_account(ctx, account_id).status == "waiting"
    assert len(fake_x.calls("/mentions$")) == 1
    clock.advance(seconds=4)
    assert poll_account(ctx, account_id).status == ACCOUNT_OK
    assert account_row(ctx, account_id).status == ACCOUNT_OK


def test_a_rate_limited_account_does_not_hold_up_the_others(
    ctx: Context, fake_x: FakeX, fake_graph: FakeGraph
) -> None:
    configure(ctx, **x_env(fake_x), **graph_env(fake_graph))
    register_env_accounts(ctx)
    post = fake_graph.add_post()
    fake_graph.add_comment(post, "still arrives")
    fake_x.rate_limit_next(int((ctx.clock.now() + timedelta(minutes=15)).timestamp()))
    summaries = {s.account: s for s in poll_all_once(ctx)}
    assert summaries["x @agency"].status == ACCOUNT_RATE_LIMITED
    assert summaries["facebook Agency Police"].new == 1


@pytest.mark.parametrize(
    "fault",
    [
        Response(500, {"title": "Internal Server Error"}),
        Response(200, b'{"data": [{"id": ', headers={"content-type": "application/json"}),
        Response(200, {"meta": {"result_count": 0}}, delay=1.5),
    ],
    ids=["500", "malformed-json", "timeout"],
)
def test_transient_failures_back_off_and_recover(
    ctx: Context, fake_x: FakeX, clock: FakeClock, fault: Response
) -> None:
    account_id = register_x(ctx, fake_x, TWOWAY_HTTP_TIMEOUT=1)
    fake_x.add_mention("waiting to be read")
    fake_x.fail_next("/mentions$", fault, times=2)
    first = poll_account(ctx, account_id)
    assert first.status == ACCOUNT_ERROR
    row = account_row(ctx, account_id)
    assert (row.consecutive_failures, row.retry_after) == (1, clock.now() + timedelta(seconds=120))
    assert row.last_error
    clock.advance(seconds=120)
    poll_account(ctx, account_id)
    row = account_row(ctx, account_id)
    assert (row.consecutive_failures, row.retry_after) == (2, clock.now() + timedelta(seconds=240))
    assert stored(ctx) == []
    clock.advance(seconds=240)
    recovered = poll_account(ctx, account_id)
    assert (recovered.status, recovered.new) == (ACCOUNT_OK, 1)
    assert account_row(ctx, account_id).consecutive_failures == 0


@pytest.mark.parametrize(
    ("failures", "seconds"), [(1, 120), (2, 240), (3, 480), (5, 1920), (6, 3600), (40, 3600)]
)
def test_backoff_doubles_per_failure_up_to_an_hour(failures: int, seconds: int) -> None:
    assert backoff(failures, 120) == timedelta(seconds=seconds)


def test_a_revoked_x_token_needs_attention_and_stops_hammering(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.revoke()
    summary = poll_account(ctx, account_id)
    assert summary.status == ACCOUNT_NEEDS_ATTENTION
    assert "401" in (summary.error or "")
    row = account_row(ctx, account_id)
    assert row.status == ACCOUNT_NEEDS_ATTENTION
    assert "401" in (row.status_reason or "")
    for _ in range(5):
        clock.advance(minutes=2)
        assert poll_account(ctx, account_id).status == "waiting"
    assert len(fake_x.calls("/mentions$")) == 1
    assert len(audit_actions(ctx, "account_needs_attention")) == 1
    fake_x.revoked = False
    clock.advance(hours=1)
    assert poll_account(ctx, account_id).status == ACCOUNT_OK
    assert len(audit_actions(ctx, "account_recovered")) == 1


def test_checking_env_keys_again_polls_at_once_but_only_a_working_poll_clears_the_trouble(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    """The keys identify the account (users/me works) while the mentions endpoint refuses them:
    each `poll --once` from cron checks the keys and polls, and the audit says so once."""
    account_id = register_x(ctx, fake_x)
    refused = error(403, "Client Forbidden", "This app is not enrolled for this endpoint.")
    for _ in range(3):
        fake_x.fail_next(r"/mentions$", refused)
        clock.advance(minutes=5)
        register_env_accounts(ctx)
        assert poll_account(ctx, account_id).status == ACCOUNT_NEEDS_ATTENTION
    assert len(fake_x.calls("/mentions$")) == 3
    assert len(audit_actions(ctx, "account_needs_attention")) == 1
    assert audit_actions(ctx, "account_recovered") == []
    clock.advance(minutes=5)
    register_env_accounts(ctx)
    assert account_row(ctx, account_id).status == ACCOUNT_NEEDS_ATTENTION  # nothing proven yet
    assert poll_account(ctx, account_id).status == ACCOUNT_OK
    assert len(audit_actions(ctx, "account_recovered")) == 1


def test_a_graph_code_190_needs_attention(ctx: Context, fake_graph: FakeGraph) -> None:
    configure(ctx, **graph_env(fake_graph))
    (account,) = register_env_accounts(ctx)
    fake_graph.add_post()
    fake_graph.fail_next(
        rf"^/v25.0/{fake_graph.page['id']}$",
        graph_error(190, "Error validating access token: session invalidated"),
    )
    summary = poll_account(ctx, account.id)
    assert summary.status == ACCOUNT_NEEDS_ATTENTION
    assert "190" in (account_row(ctx, account.id).status_reason or "")


def test_a_graph_rate_limit_backs_off(ctx: Context, fake_graph: FakeGraph, clock: FakeClock) -> None:
    configure(ctx, **graph_env(fake_graph))
    (account,) = register_env_accounts(ctx)
    fake_graph.fail_next(
        rf"^/v25.0/{fake_graph.page['id']}$", graph_error(32, "(#32) Page request limit reached", status=403)
    )
    assert poll_account(ctx, account.id).status == ACCOUNT_RATE_LIMITED
    assert account_row(ctx, account.id).retry_after == clock.now() + timedelta(seconds=120)


def test_a_post_graph_would_not_serve_is_logged_and_kept_in_the_audit_trail(
    ctx: Context, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    """Its comments may be lost for good, so the skip must leave a trace someone can find."""
    configure(ctx, **graph_env(fake_graph))
    (account,) = register_env_accounts(ctx)
    gone, kept = fake_graph.add_post("deleted a moment ago"), fake_graph.add_post("still here")
    fake_graph.add_comment(kept, "a question about the parade")
    fake_graph.fail_next(rf"/{gone['id']}/comments$", graph_error(100, "Object does not exist"), times=5)
    summary = poll_account(ctx, account.id)
    assert (summary.status, summary.new) == (ACCOUNT_OK, 1)
    [event] = audit_actions(ctx, "poll_notes")
    assert gone["id"] in str(event.details)
    assert any(gone["id"] in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_own_posts_and_page_comments_are_never_stored(
    ctx: Context, fake_x: FakeX, fake_graph: FakeGraph
) -> None:
    configure(ctx, **x_env(fake_x), **graph_env(fake_graph))
    register_env_accounts(ctx)
    fake_x.add_mention("self-mention @agency", author="agency")
    post = fake_graph.add_post()
    fake_graph.add_page_comment(post, "The Page answering")
    citizen = fake_graph.add_comment(post, "A resident")
    poll_all_once(ctx)
    assert [r.external_id for r in stored(ctx)] == [citizen["id"]]


def test_hard_unicode_and_a_10000_character_text_are_stored_exactly(ctx: Context, fake_x: FakeX) -> None:
    account_id = register_x(ctx, fake_x)
    texts = [
        "@agency 🚓🚨 thank you 🙏🏾 👨‍👩‍👧",
        "@agency مرحبا، هل الطريق مغلق؟",
        "@agency Zoe\u0308 and Ame\u0301lie said cafe\u0301",
        "@agency " + "long text " * 999 + "!!",
        "@agency NUL\x00 inside",
    ]
    for text in texts:
        fake_x.add_mention(text)
    assert poll_account(ctx, account_id).new == 5
    kept = {r.text for r in stored(ctx)}
    assert set(texts[:4]) <= kept
    assert len(texts[3]) == 10_000
    assert "@agency NUL inside" in kept  # PostgreSQL cannot store NUL; it is dropped, nothing else


def test_an_item_missing_fields_is_skipped_and_the_batch_stored(ctx: Context, fake_x: FakeX) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.add_mention("good 1")
    fake_x.add_mention("no author", omit=("author_id",))
    fake_x.add_mention("good 2")
    summary = poll_account(ctx, account_id)
    assert (summary.new, summary.skipped) == (2, 1)
    assert "1 skipped" in summary.line()


def test_a_backlog_gap_is_recorded_for_the_admins(ctx: Context, fake_x: FakeX, clock: FakeClock) -> None:
    account_id = register_x(ctx, fake_x)
    fake_x.add_mention("seen")
    poll_account(ctx, account_id)
    for n in range(850):
        fake_x.add_mention(f"flood {n}")
    clock.advance(hours=3)
    summary = poll_account(ctx, account_id)
    assert summary.gap is True
    assert "backlog gap" in summary.line()
    assert account_row(ctx, account_id).backlog_gap_at == clock.now()
    (event,) = audit_actions(ctx, "backlog_gap")
    assert "800" in event.details["notes"][0]


def test_paused_and_unknown_accounts_are_not_polled(ctx: Context, fake_x: FakeX, clock: FakeClock) -> None:
    account_id = register_x(ctx, fake_x)
    with ctx.transaction() as session:
        assert accounts.set_enabled(session, account_id, False, by="U0ADMIN", now=clock.now())
    assert poll_all_once(ctx) == []
    assert poll_account(ctx, account_id).status == "paused"
    assert poll_account(ctx, 999).status == "missing"
    assert fake_x.calls("/mentions$") == []
    assert len(audit_actions(ctx, "account_paused")) == 1


def test_an_env_account_whose_credentials_were_removed_needs_attention(ctx: Context, fake_x: FakeX) -> None:
    account_id = register_x(ctx, fake_x)
    configure(ctx)  # the X variables are gone
    summary = poll_account(ctx, account_id)
    assert summary.status == ACCOUNT_NEEDS_ATTENTION
    assert "environment" in (summary.error or "")


def test_summary_line_reports_errors_and_gaps() -> None:
    summary = PollSummary(
        "facebook Agency Police", new=0, requests=1, status=ACCOUNT_ERROR, error="Graph request timed out"
    )
    assert (
        summary.line()
        == "facebook Agency Police: 0 new, 0 skipped, 1 requests, error (Graph request timed out)"
    )


def test_an_edited_x_post_keeps_its_one_card_and_the_edit_is_recorded(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    """X gives an edited post a new id; it is the same post to the agency (one card, replies to
    the version staff saw), and the public record keeps each version's text."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("where do I pick up my impounded car", created_at=clock.now())
    poll_account(ctx, account_id)
    clock.advance(minutes=3)
    second = fake_x.edit(first, first["text"] + "? gray Civic, towed from Main St")
    third = fake_x.edit(second, second["text"] + ", plate 8ABC123")
    for _ in range(3):
        clock.advance(minutes=2)
        poll_account(ctx, account_id)
    (row,) = stored(ctx)
    assert row.external_id == first["id"]
    assert row.text == third["text"]  # the card and triage read what the author says now
    (edit,) = audit_actions(ctx, "edited")
    assert (edit.mention_id, edit.details["previous_text"]) == (row.id, first["text"])
    assert edit.details["text"] == third["text"]


def test_versions_of_one_post_served_together_are_one_mention_and_one_edit(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    """Both versions in the timeline, each listing the whole chain: the older one is not taken
    for an edit of the newer, whichever page or poll brings it."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("is the 405 closed tonight", created_at=clock.now())
    poll_account(ctx, account_id)
    second = fake_x.edit(first, first["text"] + "? northbound", keep_old=True)
    for _ in range(3):
        clock.advance(minutes=2)
        poll_account(ctx, account_id)
    fake_x.timeline.remove(second["id"])  # a poll that reads the old version alone
    clock.advance(minutes=2)
    poll_account(ctx, account_id)
    (row,) = stored(ctx)
    assert row.external_id == first["id"]
    (edit,) = audit_actions(ctx, "edited")
    assert (edit.details["previous_text"], edit.details["text"]) == (first["text"], second["text"])


def test_a_version_between_two_edits_read_again_is_no_edit_back(
    ctx: Context, fake_x: FakeX, clock: FakeClock
) -> None:
    """v1 on record, edited twice, X still serving v2: the newest text stays on record whether v2
    comes on a later page of the same poll or alone in a later poll."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("where is the lost and found", created_at=clock.now())
    poll_account(ctx, account_id)
    clock.advance(minutes=2)
    second = fake_x.edit(first, first["text"] + " at Hollywood", keep_old=True)
    fake_x.timeline.remove(first["id"])
    for n in range(100):
        fake_x.add_mention(f"busy night on the boulevard {n}")
    third = fake_x.edit(second, second["text"] + " station", keep_old=True)
    poll_account(ctx, account_id)  # v3 on the first page, v2 on the second
    fake_x.timeline.remove(third["id"])
    with ctx.transaction() as session:  # a later poll that reads v2 alone (the cursor went back)
        session.execute(update(Account).values(cursor=None))
    clock.advance(minutes=2)
    poll_account(ctx, account_id)
    (row,) = [r for r in stored(ctx) if "lost and found" in r.text]
    assert row.external_id == first["id"]
    edits = [(e.details["previous_text"], e.details["text"]) for e in audit_actions(ctx, "edited")]
    assert edits == [(first["text"], third["text"])]


def test_a_post_edited_before_the_first_poll_is_one_mention(ctx: Context, fake_x: FakeX) -> None:
    """Both versions in one page: the first is on record, the second its edit."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("where is the lost and found")
    second = fake_x.edit(first, first["text"] + " at the Hollywood station", keep_old=True)
    poll_account(ctx, account_id)
    (row,) = stored(ctx)
    assert (row.external_id, row.text) == (first["id"], second["text"])
    (edit,) = audit_actions(ctx, "edited")
    assert (edit.details["previous_text"], edit.details["text"]) == (first["text"], second["text"])


def test_an_older_version_on_a_later_page_is_no_second_mention(ctx: Context, fake_x: FakeX) -> None:
    """A busy account: the edit is on the first page (newest first), the old version on another."""
    account_id = register_x(ctx, fake_x)
    first = fake_x.add_mention("where is the lost and found")
    for n in range(100):
        fake_x.add_mention(f"busy night on the boulevard {n}")
    second = fake_x.edit(first, first["text"] + " at the Hollywood station", keep_old=True)
    poll_account(ctx, account_id)
    rows = [r for r in stored(ctx) if "lost and found" in r.text]
    assert [(r.external_id, r.text) for r in rows] == [(second["id"], second["text"])]
    assert len(stored(ctx)) == 101


def test_an_edited_comment_is_recorded_once_and_the_text_as_ingested_kept_in_the_audit(
    ctx: Context, fake_graph: FakeGraph, clock: FakeClock
) -> None:
    """Public records need the edit history: the overlap re-read notices a changed comment."""
    configure(ctx, **graph_env(fake_graph))
    (account,) = register_env_accounts(ctx)
    post = fake_graph.add_post()
    comment = fake_graph.add_comment(post, "Officer Diaz was rude to me", created_at=clock.now())
    poll_account(ctx, account.id)
    fake_graph.comments[comment["id"]]["message"] = (
        "Officer Diaz was rude to me. Never mind, it was sorted out."
    )
    for _ in range(3):  # the edit is inside the overlap of every following poll
        clock.advance(minutes=2)
        poll_account(ctx, account.id)
    (row,) = stored(ctx)
    assert row.text == "Officer Diaz was rude to me. Never mind, it was sorted out."
    (edit,) = audit_actions(ctx, "edited")
    assert edit.mention_id == row.id
    assert edit.details["previous_text"] == "Officer Diaz was rude to me"
    assert edit.details["text"].endswith("it was sorted out.")


# -- credentials never reach an account's stored error -----------------------------------------------


def test_credentials_from_the_database_are_scrubbed_from_the_error_a_poll_stores(
    ctx: Context, clock: FakeClock
) -> None:
    """A proxy answers 500 echoing the Authorization header, unquoted so no token pattern matches."""
    bearer, key, token = (f"{kind}-{uuid.uuid4().hex}" for kind in ("AAAA", "xkey", "1000"))
    with FakeX(
        now=clock.now() - timedelta(hours=1), bearer_token=bearer, api_key=key, access_token=token
    ) as fake:
        configure(ctx, X_API_URL=fake.url)
        creds = {**fake.user_credentials, "bearer_token": bearer}  # type: ignore[attr-defined]
        identity = AccountIdentity("x", "1000", "agency", "Agency Police")
        with ctx.transaction() as session:
            account_id = save_connected_account(
                session, ctx.settings, identity, creds, "U0ADMIN", clock.now()
            ).id
        answer = fake.dispatch  # type: ignore[attr-defined]

        def echo(recorded: Recorded) -> Response:
            answer(recorded)
            seen = recorded.headers.get("authorization", "").replace('"', "").removeprefix("Bearer ")
            return Response(500, {"title": "Internal", "detail": f"upstream refused {seen}"})

        fake.dispatch = echo  # type: ignore[attr-defined]
        summary = poll_account(ctx, account_id)
    row = account_row(ctx, account_id)
    assert row.status == ACCOUNT_ERROR
    assert "[redacted]" in (row.last_error or "")
    shown = health_line(row, 120, clock.now())
    for text in (summary.error or "", row.last_error or "", row.status_reason or "", shown):
        assert [c for c in (bearer, key, token, creds["api_secret"]) if c in text] == []


def test_an_error_stored_before_scrubbing_is_shown_without_its_token(ctx: Context, clock: FakeClock) -> None:
    row = Account(platform="x", external_id="1000", handle="agency", name="Agency", source="slack")
    row.status, row.created_at = ACCOUNT_ERROR, clock.now()
    row.status_reason = row.last_error = 'X answered HTTP 500: oauth_consumer_key="xkey-old-leak-0001"'
    row.last_error_at = clock.now()
    shown = health_line(row, 120, clock.now())
    assert "xkey-old-leak-0001" not in shown
    assert 'oauth_consumer_key="[redacted]"' in shown
