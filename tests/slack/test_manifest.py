"""The Slack app manifest agrees with the app: its command, URLs, events and least-privilege scopes."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, select

from bot.slack.commands import COMMAND
from bot.slack.serve import EVENTS_PATH
from storage.models import AuditEvent
from tests.conftest import REPO, FakeClock
from tests.support.admin_app import running_app

MANIFEST = json.loads((REPO / "slack" / "manifest.json").read_text())

# Every Web API method TwoWay may call, and the bot scopes it needs (per Slack's method docs).
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "chat_getPermalink": set(),
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_open": {"im:write"},
    "views_open": set(),
    "views_update": set(),
    "views_push": set(),
    "users_info": {"users:read"},
    "files_upload_v2": {"files:write"},
}
# Web API methods as slack_sdk names them: `namespace_camelCase`, sometimes `_v2`.
CALL = re.compile(
    r"\.((?:auth|chat|conversations|views|users|files|reactions|pins|usergroups|team|bookmarks)_[a-zA-Z]+(?:_v2)?)\("
)


def methods_called() -> dict[str, list[str]]:
    """Web API methods called anywhere in the shipped code, with where."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "bot").rglob("*.py")):
        for match in CALL.finditer(path.read_text()):
            found.setdefault(match.group(1), []).append(str(path.relative_to(REPO)))
    return found


def test_every_url_points_at_the_apps_route() -> None:
    settings = MANIFEST["settings"]
    urls = [
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    assert len(urls) == 3
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https"
        assert parts.path == EVENTS_PATH


def test_the_command_is_the_one_the_app_listens_to_with_mentions_escaped() -> None:
    """`should_escape` is what makes `@name` arrive as `<@U123|name>` for `/twoway role`."""
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is True
    assert command["usage_hint"].startswith("help")


def test_http_mode_with_interactivity_is_the_default() -> None:
    settings = MANIFEST["settings"]
    assert MANIFEST["_metadata"]["major_version"] == 2
    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["token_rotation_enabled"] is False
    assert MANIFEST["features"]["bot_user"]["display_name"] == "TwoWay"


def test_display_texts_are_within_slacks_limits() -> None:
    info = MANIFEST["display_information"]
    assert info["name"] == "TwoWay"
    assert len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000


def test_scopes_are_exactly_what_the_code_calls_for() -> None:
    """Least privilege: a scope no call needs is refused, and so is a call without its scope."""
    called = methods_called()
    unknown = {m: where for m, where in called.items() if m not in METHOD_SCOPES}
    assert unknown == {}, "add these methods and their scopes to METHOD_SCOPES and the manifest"
    needed = {"commands"}.union(*(METHOD_SCOPES[m] for m in called))
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed
    assert "chat:write.public" not in needed  # the bot is invited to its channel instead


def _event(kind: str) -> dict[str, Any]:
    return {
        "token": "deprecated",
        "team_id": "T0TWOWAY",
        "api_app_id": "A0TWOWAY",
        "type": "event_callback",
        "event_id": f"Ev{kind}",
        "event_time": int(time.time()),
        "event": {"type": kind, "tokens": {"bot": ["U0TWOWAYBOT"]}},
    }


@pytest.mark.parametrize("kind", MANIFEST["settings"]["event_subscriptions"]["bot_events"])
def test_every_subscribed_event_is_handled(db_url: str, engine: Engine, clock: FakeClock, kind: str) -> None:
    with running_app(db_url, engine, clock) as env:
        result = env.sender.post(json.dumps(_event(kind)), content_type="application/json")
        unhandled = env.sender.post(json.dumps(_event("reaction_added")), content_type="application/json")
        assert result.status == 200
        assert unhandled.status == 404  # the check can fail: Bolt refuses what nobody handles
        assert env.app.wait_idle(), "the audit row is written after the ack"
        with env.ctx.transaction() as session:
            assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == f"slack_{kind}"))
