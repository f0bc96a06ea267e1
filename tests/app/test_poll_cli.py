"""`twoway poll --once` as an operator runs it: a real process against the fake platforms."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.models import OPEN, Account, Mention
from tests.conftest import REPO
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack
from tests.support.fakes.x_api import FakeX


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    # The CLI runs on the real clock, so the fake's posts are recent in real time.
    with FakeX(now=datetime.now(UTC) - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    with FakeGraph(now=datetime.now(UTC) - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def env_for(db_url: str, x: FakeX | None = None, graph: FakeGraph | None = None) -> dict[str, str]:
    env = {"DATABASE_URL": db_url, "TWOWAY_HTTP_TIMEOUT": "2"}
    if x is not None:
        creds = x.user_credentials
        env |= {
            "X_API_URL": x.url,
            "X_BEARER_TOKEN": x.bearer_token,
            "X_API_KEY": creds["api_key"],
            "X_API_SECRET": creds["api_secret"],
            "X_ACCESS_TOKEN": creds["access_token"],
            "X_ACCESS_TOKEN_SECRET": creds["access_token_secret"],
        }
    if graph is not None:
        env |= {
            "FACEBOOK_GRAPH_URL": graph.url,
            "FACEBOOK_PAGE_ID": graph.page["id"],
            "FACEBOOK_PAGE_TOKEN": graph.page_token,
        }
    return env


def poll_once(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    prefixes = ("SLACK_", "X_", "FACEBOOK_", "INSTAGRAM_", "THREADS_", "BLUESKY_", "TWOWAY_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "poll", "--once"],
        env={**base, **env, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_poll_once_stores_triages_and_prints_one_line_per_account(
    db_url: str, engine: Engine, tmp_path: Path, fake_x: FakeX, fake_graph: FakeGraph
) -> None:
    fake_x.add_mention("Thank you officers for the quick help!", author="jane")
    fake_x.add_mention("How do I get a copy of my accident report?", author="sam")
    post = fake_graph.add_post("Road closure on Main St")
    fake_graph.add_comment(post, "Is the bridge open?")
    result = poll_once(env_for(db_url, fake_x, fake_graph), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "x @agency: 2 new, 0 skipped, 1 requests, ok",
        "facebook Agency Police: 1 new, 0 skipped, 2 requests, ok",
    ]
    with Session(engine) as session:
        states = list(session.scalars(select(Mention.state)))
    assert states == [OPEN, OPEN, OPEN]  # triaged by the pipeline, not left as 'new'
    assert fake_x.bearer_token not in result.stderr
    assert fake_graph.page_token not in result.stderr


def test_poll_once_posts_cards_when_slack_is_configured(db_url: str, tmp_path: Path, fake_x: FakeX) -> None:
    fake_x.add_mention("Is the road by the school closed today?", author="jane")
    with FakeSlack() as slack:
        slack.set_channel("C0REVIEW")
        env = env_for(db_url, fake_x) | {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": slack.api_url,
            "TWOWAY_CHANNEL": "C0REVIEW",
        }
        result = poll_once(env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == ["x @agency: 1 new, 0 skipped, 1 requests, ok"]
        (card,) = slack.messages("C0REVIEW", top_level=True)
    assert "school" in card.text or "school" in str(card.blocks)


def test_poll_once_without_accounts_says_none_are_connected(db_url: str, tmp_path: Path) -> None:
    result = poll_once(env_for(db_url), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No accounts are connected")


def test_an_env_account_that_cannot_be_identified_is_named_and_fails_the_run(
    db_url: str, tmp_path: Path, fake_x: FakeX, fake_graph: FakeGraph
) -> None:
    """X_BEARER_TOKEN is set: saying "no accounts are connected" and exiting 0 would mislead."""
    fake_x.fail_next("^/2/users/me$", Response(503, {"title": "Service Unavailable"}))
    result = poll_once(env_for(db_url, fake_x, fake_graph), tmp_path)
    assert result.returncode == 1, result.stderr
    fb_line, x_line = result.stdout.splitlines()
    assert fb_line.startswith("facebook Agency Police: 0 new")
    assert x_line.startswith("x (from the environment): not polled, could not be identified (X answered")
    assert "503" in x_line
    assert "No accounts are connected" not in result.stdout
    assert "Traceback" not in result.stderr
    assert fake_x.bearer_token not in result.stdout + result.stderr

    result = poll_once(env_for(db_url, fake_x, fake_graph), tmp_path)  # X answers again
    assert result.returncode == 0, result.stderr
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {
        "x @agency",
        "facebook Agency Police",
    }


def test_an_account_error_is_reported_in_its_line_not_as_a_crash(
    db_url: str, engine: Engine, tmp_path: Path, fake_x: FakeX, fake_graph: FakeGraph
) -> None:
    env = env_for(db_url, fake_x, fake_graph)
    assert poll_once(env, tmp_path).returncode == 0  # both registered
    fake_x.revoke()
    post = fake_graph.add_post()
    fake_graph.add_comment(post, "hello")
    result = poll_once(env, tmp_path)
    assert result.returncode == 0, result.stderr
    x_line, fb_line = result.stdout.splitlines()
    assert x_line.startswith("x @agency: 0 new")
    assert "needs_attention" in x_line
    assert "401" in x_line
    assert fb_line.startswith("facebook Agency Police: 1 new")
    assert "Traceback" not in result.stderr
    with Session(engine) as session:
        statuses = {a.platform: a.status for a in session.scalars(select(Account))}
    assert statuses == {"x": "needs_attention", "facebook": "ok"}


def test_threads_and_bluesky_print_a_line_each_and_cron_runs_log_in_to_bluesky_once(
    tmp_path: Path, db_url: str
) -> None:
    from tests.support.fakes.bluesky_api import FakeBluesky
    from tests.support.fakes.threads_api import FakeThreads

    now = datetime.now(UTC)
    with (
        FakeThreads(now=now - timedelta(hours=1)) as threads,
        FakeBluesky(now=now - timedelta(hours=1)) as bluesky,
    ):
        threads.add_reply(threads.add_post("Road work on 5th"), "Until when?", username="kim.lee")  # type: ignore[attr-defined]
        bluesky.add_mention("@agencypolice.bsky.social hello")  # type: ignore[attr-defined]
        env = {
            "DATABASE_URL": db_url,
            "TWOWAY_SECRET_KEY": "cli-secret-key-0123456789",
            "THREADS_API_URL": threads.url,
            "THREADS_USER_ID": threads.profile["id"],  # type: ignore[attr-defined]
            "THREADS_TOKEN": threads.token,  # type: ignore[attr-defined]
            "BLUESKY_SERVICE_URL": bluesky.url,
            "BLUESKY_HANDLE": bluesky.handle,  # type: ignore[attr-defined]
            "BLUESKY_APP_PASSWORD": bluesky.app_password,  # type: ignore[attr-defined]
        }
        first = poll_once(env, tmp_path)
        assert first.returncode == 0, first.stderr
        assert "threads @agencypolice: 1 new, 0 skipped, 5 requests, ok" in first.stdout.splitlines()
        assert (
            "bluesky @agencypolice.bsky.social: 1 new, 0 skipped, 1 requests, ok" in first.stdout.splitlines()
        )
        second = poll_once(env, tmp_path)
        assert (
            "bluesky @agencypolice.bsky.social: 0 new, 0 skipped, 1 requests, ok"
            in second.stdout.splitlines()
        )
        assert len(bluesky.logins) == 1  # type: ignore[attr-defined]
        for secret in (threads.token, bluesky.app_password):  # type: ignore[attr-defined]
            assert secret not in first.stdout + first.stderr
