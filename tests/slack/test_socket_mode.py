"""`twoway run` in Socket Mode: SLACK_APP_TOKEN set, no signing secret, no public URL.

The real process opens a WebSocket to the fake Socket Mode server through slack_sdk's built-in
client, gets `/twoway` commands as envelopes and acknowledges each with the answer the user
sees. The health check still answers on $PORT while `/slack/events` is not served.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage import staff
from tests.conftest import REPO
from tests.support.fakes.slack_api import TEAM_ID, FakeSlack
from tests.support.fakes.socket_mode import FakeSocketMode
from tests.support.process import free_port, healthy, interruptible, wait_for

ADMIN, OFFICER, STRANGER = "U0ADMIN001", "U0OFFICER1", "U0STRANGER"
CHANNEL = "C0REVIEW01"
APP_TOKEN = "xapp-1-A0TWOWAY-socket-secret-123"
BOT_TOKEN = "xoxb-socket-bot-token-456"


@dataclass
class Running:
    slack: FakeSlack
    socket: FakeSocketMode
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def command(self, text: str, user_id: str) -> dict[str, Any]:
        """A `/twoway` slash command envelope; returns the app's acknowledgement."""
        payload = {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "twoway-test",
            "channel_id": CHANNEL,
            "channel_name": "review",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/twoway",
            "text": text,
            "api_app_id": "A0TWOWAY",
            "is_enterprise_install": "false",
            "response_url": f"{self.slack.response_url_base}/{uuid.uuid4().hex}",
            "trigger_id": f"trigger-{uuid.uuid4().hex[:12]}",
        }
        return self.socket.wait_ack(self.socket.send_envelope("slash_commands", payload))

    def click(self, action_id: str, value: str, user_id: str) -> tuple[dict[str, Any], str]:
        """A `block_actions` envelope for a button on a card; returns the ack and the response_url."""
        response_url = f"{self.slack.response_url_base}/{uuid.uuid4().hex}"
        ts = f"{time.time():.6f}"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0TWOWAY",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False},
            "trigger_id": f"trigger-{uuid.uuid4().hex[:12]}",
            "team": {"id": TEAM_ID, "domain": "twoway-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": CHANNEL, "name": "review"},
            "message": {"type": "message", "ts": ts, "text": "", "blocks": []},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "type": "button",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Send"},
                    "action_ts": ts,
                }
            ],
        }
        envelope = self.socket.send_envelope("interactive", payload, accepts_response_payload=False)
        return self.socket.wait_ack(envelope), response_url


@pytest.fixture
def running(tmp_path: Path, db_url: str) -> Iterator[Running]:
    slack, sockets = FakeSlack(), FakeSocketMode().start()
    slack.start()
    slack.socket_mode_url = sockets.url
    slack.set_channel(CHANNEL, name="community-replies")
    for user in (ADMIN, OFFICER, STRANGER):
        slack.add_user(user, name=user.lower())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "TWOWAY_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
        PORT=str(port),
        TWOWAY_CHANNEL=CHANNEL,
        TWOWAY_ADMINS=ADMIN,
        TWOWAY_SCHEDULER="false",
        LOG_LEVEL="DEBUG",
    )
    log = tmp_path / "twoway.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=interruptible,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("the health check", lambda: healthy(base, process), timeout=30)
        sockets.wait_connected(timeout=10)
        yield Running(slack, sockets, process, base, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        sockets.stop()
        slack.stop()


def _role(engine: Engine, user_id: str) -> str | None:
    with Session(engine) as session:
        return staff.role_of(session, user_id)


def test_commands_arrive_over_the_socket_and_are_answered_in_the_ack(
    running: Running, engine: Engine
) -> None:
    """Help and a role grant work in Socket Mode, with the answer carried by the envelope's ack."""
    opened = running.slack.calls(r"^/api/apps\.connections\.open$")
    assert len(opened) == 1
    assert opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"

    helped = running.command("help", ADMIN)["payload"]
    assert helped["response_type"] == "ephemeral"
    assert "your role: admin" in helped["text"]
    assert "/twoway role" in helped["text"]

    granted = running.command(f"role <@{OFFICER}|officer> officer", ADMIN)["payload"]
    assert f"<@{OFFICER}> is now" in granted["text"]
    assert _role(engine, OFFICER) == "officer"
    wait_for("the DM to the new officer", lambda: running.slack.dms(OFFICER))

    assert "your role: officer" in running.command("help", OFFICER)["payload"]["text"]

    refused = running.command(f"role <@{STRANGER}|stranger> admin", OFFICER)["payload"]
    assert "/twoway role" in refused["text"]
    assert _role(engine, STRANGER) is None


def test_button_clicks_arrive_over_the_socket_and_are_answered_via_response_url(running: Running) -> None:
    """A click is acked at once; the refusal reaches the clicker through the response_url."""
    running.command(f"role <@{OFFICER}|officer> officer", ADMIN)
    wait_for("the role DM", lambda: running.slack.dms(OFFICER))

    ack, response_url = running.click("send_reply:1", "999:1", OFFICER)
    assert not ack.get("payload")  # an empty ack: nothing to show in place of the card
    told = wait_for("the answer to the officer", lambda: running.slack.responses_to(response_url))
    assert "There is no item #999" in told[0]["text"]
    assert told[0]["response_type"] == "ephemeral"

    _, stranger_url = running.click("send_reply:1", "999:1", STRANGER)
    refused = wait_for("the refusal", lambda: running.slack.responses_to(stranger_url))
    assert "You need the officer role" in refused[0]["text"]
    # Only the officer's role DM was posted: no card, no reply, nothing in the channel.
    assert [c["channel"] for c in running.slack.api_calls("chat.postMessage")] == [OFFICER]


def test_health_answers_and_http_events_are_not_served(running: Running, engine: Engine) -> None:
    """With Socket Mode on, $PORT serves only the health check: no unsigned door into the app."""
    health = requests.get(running.base + "/healthz", timeout=5)
    assert (health.status_code, health.text) == (200, "ok")
    body = "command=%2Ftwoway&text=role+%3C%40U0STRANGER%3E+admin&user_id=U0STRANGER"
    events = requests.post(
        running.base + "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert events.status_code == 404
    assert _role(engine, STRANGER) is None


def test_secrets_stay_out_of_the_log_and_ctrl_c_hangs_up(running: Running) -> None:
    running.command("help", ADMIN)
    connection = running.socket.wait_connected()
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=10) == 130  # stopped promptly, as for Ctrl-C
    assert not connection.open
    printed = running.log.read_text()
    for secret in (APP_TOKEN, BOT_TOKEN, APP_TOKEN.removeprefix("xapp-")):
        assert secret not in printed
