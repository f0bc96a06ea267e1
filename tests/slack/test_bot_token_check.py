"""`twoway run` checks SLACK_BOT_TOKEN with Slack's auth.test at start-up: a wrong or revoked
token is one line naming the variable and Slack's error code, and never shows the token."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace
from typing import Any

import pytest

from bot.slack import serve as serving
from bot.slack.client import make_web_client
from tests.conftest import make_settings
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack

TOKEN = "xoxb-0000-start-up-check-secret-token"
SIGNING_SECRET = "start-up-signing-secret-0123456789"


class RefusingSlack(FakeSlack):
    """Slack answering auth.test with one error code."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def api_auth_test(self, args: dict[str, Any]) -> Response:
        return self.error(self.code)


def _start_http_mode(api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve_forever` in HTTP mode as far as its start-up check; waitress is not started."""
    settings = make_settings(
        DATABASE_URL="sqlite:///unused.db",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
    )
    served: list[bool] = []
    monkeypatch.setattr(serving, "make_wsgi", lambda *args, **kwargs: None)
    monkeypatch.setattr(serving, "serve", lambda *args, **kwargs: served.append(True))
    slack = SimpleNamespace(client=make_web_client(settings), close=lambda: None)
    with socket.socket() as listener:
        serving.serve_forever(SimpleNamespace(settings=settings), slack, listener=listener)  # type: ignore[arg-type]
    assert served == [True]  # TwoWay still serves: requests retry the token


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "bot.slack.serve"]


@pytest.mark.parametrize("code", ["invalid_auth", "account_inactive", "not_authed"])
def test_a_refused_token_is_one_line_naming_the_variable_and_slacks_code(
    code: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.serve")
    slack = RefusingSlack(code)
    with slack:
        _start_http_mode(slack.api_url, monkeypatch)
    refused = [record for record in _lines(caplog) if record.levelno >= logging.WARNING]
    assert len(refused) == 1
    line = refused[0].getMessage()
    assert refused[0].levelno == logging.ERROR
    assert "SLACK_BOT_TOKEN" in line
    assert f"auth.test: {code}" in line
    assert TOKEN not in caplog.text
    assert "start-up-check-secret" not in caplog.text
    assert "\n" not in line


def test_a_revoked_token_names_token_revoked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.serve")
    slack = FakeSlack()
    with slack:
        slack.revoked_tokens.add(TOKEN)
        _start_http_mode(slack.api_url, monkeypatch)
    [line] = [record.getMessage() for record in _lines(caplog) if record.levelno >= logging.WARNING]
    assert line.startswith("SLACK_BOT_TOKEN was refused by Slack at start-up (auth.test: token_revoked)")
    assert TOKEN not in caplog.text


def test_another_error_code_is_named_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.serve")
    slack = RefusingSlack("team_access_not_granted")
    with slack:
        _start_http_mode(slack.api_url, monkeypatch)
    [record] = [record for record in _lines(caplog) if record.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING
    assert "SLACK_BOT_TOKEN" in record.getMessage()
    assert "auth.test: team_access_not_granted" in record.getMessage()
    assert TOKEN not in caplog.text


def test_a_good_token_says_who_twoway_is(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.serve")
    slack = FakeSlack()
    with slack:
        _start_http_mode(slack.api_url, monkeypatch)
    assert [r for r in _lines(caplog) if r.levelno >= logging.WARNING] == []
    assert any(r.getMessage().startswith("connected to Slack as ") for r in _lines(caplog))
