"""Configuration: every variable's contract name, defaults, and one clear line for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import REPO


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO / "tests")  # no .env here
    return load_settings()


def test_defaults_match_the_documented_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset variables take the defaults the README and .env.example promise."""
    settings = _load(monkeypatch)
    assert settings.database_url == "sqlite:///twoway.db"  # type: ignore[attr-defined]
    assert settings.slack_api_url == "https://slack.com/api/"  # type: ignore[attr-defined]
    assert settings.port == 3000  # type: ignore[attr-defined]
    assert settings.twoway_poll_seconds == 120  # type: ignore[attr-defined]
    assert settings.x_api_url == "https://api.x.com"  # type: ignore[attr-defined]
    assert settings.facebook_graph_url == "https://graph.facebook.com"  # type: ignore[attr-defined]
    assert settings.facebook_graph_version.startswith("v")  # type: ignore[attr-defined]


def test_admins_are_comma_separated_user_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, TWOWAY_ADMINS=" U012AB3CD, W045EF6GH ,")
    assert settings.twoway_admins == ["U012AB3CD", "W045EF6GH"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "eighty", "PORT is malformed: expected a TCP port number"),
        ("PORT", "70000", "PORT is malformed"),
        ("TWOWAY_POLL_SECONDS", "2", "TWOWAY_POLL_SECONDS is malformed: expected a whole number of seconds"),
        ("TWOWAY_ADMINS", "U1AA,bob", "TWOWAY_ADMINS is malformed"),
        ("TWOWAY_CHANNEL", "#general", "TWOWAY_CHANNEL is malformed: expected a Slack channel id"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL is malformed"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is malformed"),
        ("FACEBOOK_GRAPH_VERSION", "latest", "FACEBOOK_GRAPH_VERSION is malformed"),
        ("FACEBOOK_PAGE_ID", "my-page", "FACEBOOK_PAGE_ID is malformed"),
        ("TWOWAY_SECRET_KEY", "short", "TWOWAY_SECRET_KEY is malformed"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, **{name: value})
    assert str(caught.value).startswith(says)
    assert "\n" not in str(caught.value)


def test_secret_values_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, TWOWAY_SECRET_KEY="hunter2")
    assert "hunter2" not in str(caught.value)


def test_slack_requirements_name_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, SLACK_BOT_TOKEN="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        settings.require_for_slack()  # type: ignore[attr-defined]


def _twoway(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "TWOWAY_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    """`twoway run` with no .env stops at once with exit 2 and names what is missing."""
    result = _twoway("run", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_env_file_value_exits_2(tmp_path: Path) -> None:
    """A bad value in `.env` (not only the process environment) gets the same clear line."""
    (tmp_path / ".env").write_text("TWOWAY_POLL_SECONDS=soon\n")
    result = _twoway("db", "upgrade", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "twoway: TWOWAY_POLL_SECONDS is malformed: expected a whole number of seconds, at least 10, got 'soon'"
    )
