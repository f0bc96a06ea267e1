"""Requests the way Slack sends them: signed, over real HTTP, to the app's `/slack/events`.

`SlackSender` builds slash commands (form fields), `block_actions` and `view_submission`
payloads (one `payload` form field holding JSON) and signs them with the signing secret, so
tests exercise Bolt's request verification instead of switching it off. It can also send a bad
signature, a stale timestamp or a retry header.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier

from tests.support.fakes.slack_api import TEAM_ID, FakeSlack


@dataclass
class SlackResult:
    status: int
    body: str
    response_url: str  # where the app may `respond` later (the fake Slack records it)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip().startswith("{") else None

    @property
    def text(self) -> str:
        """The `text` of a JSON answer (an ephemeral ack), or the raw body."""
        data = self.json
        return str(data.get("text", "")) if isinstance(data, dict) else self.body


class SlackSender:
    def __init__(self, base_url: str, signing_secret: str, response_url_base: str) -> None:
        self.events_url = base_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.response_url_base = response_url_base.rstrip("/")
        self.session = requests.Session()

    def new_response_url(self) -> str:
        return f"{self.response_url_base}/{uuid.uuid4().hex}"

    # -- transport -------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        bad_signature: bool = False,
        stale: bool = False,
        retry_num: int | None = None,
        response_url: str = "",
        timeout: float = 30,
    ) -> SlackResult:
        timestamp = str(int(time.time()) - (600 if stale else 0))
        signature = self.verifier.generate_signature(timestamp=timestamp, body=body)
        if bad_signature:
            signature = signature[:-4] + ("0000" if not signature.endswith("0000") else "1111")
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        response = self.session.post(self.events_url, data=body.encode(), headers=headers, timeout=timeout)
        return SlackResult(response.status_code, response.text, response_url)

    def _payload(self, payload: dict[str, Any], **options: Any) -> SlackResult:
        return self.post(urlencode({"payload": json.dumps(payload)}), **options)

    # -- what Slack sends ---------------------------------------------------------------------------

    def command(
        self,
        text: str,
        user_id: str,
        channel_id: str = "C0REVIEW01",
        *,
        command: str = "/twoway",
        user_name: str = "",
        **options: Any,
    ) -> SlackResult:
        response_url = self.new_response_url()
        fields = {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "twoway-test",
            "channel_id": channel_id,
            "channel_name": "review",
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0TWOWAY",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"trigger-{uuid.uuid4().hex[:12]}",
        }
        return self.post(urlencode(fields), response_url=response_url, **options)

    def click(
        self,
        action_id: str,
        *,
        user_id: str,
        channel: str,
        message_ts: str,
        block_id: str,
        value: str | None = None,
        selected_option: dict[str, Any] | str | None = None,
        selected_user: str | None = None,
        container_type: str = "message",
        message: dict[str, Any] | None = None,
        element_type: str | None = None,
        ephemeral: bool = False,
        **options: Any,
    ) -> SlackResult:
        """A `block_actions` payload for one click on an element of a message (or a view); an
        `ephemeral` message is one only the clicker sees (an answer sent to its response_url)."""
        response_url = self.new_response_url()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action.update(
                type=element_type or "button", value=value, text={"type": "plain_text", "text": "x"}
            )
        if selected_option is not None:
            option = (
                selected_option
                if isinstance(selected_option, dict)
                else {"text": {"type": "plain_text", "text": selected_option}, "value": selected_option}
            )
            action.update(type=element_type or "overflow", selected_option=option)
        if selected_user is not None:
            action.update(type="users_select", selected_user=selected_user, initial_user=None)
        action.setdefault("type", element_type or "button")
        container: dict[str, Any] = {"type": container_type}
        if container_type == "message":
            container.update(message_ts=message_ts, channel_id=channel, is_ephemeral=ephemeral)
        elif container_type == "view":
            container.update(view_id="V0000000")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0TWOWAY",
            "token": "deprecated-verification-token",
            "container": container,
            "trigger_id": f"trigger-{uuid.uuid4().hex[:12]}",
            "team": {"id": TEAM_ID, "domain": "twoway-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "review"},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if container_type == "message":
            payload["message"] = message or {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        return self._payload(payload, response_url=response_url, **options)

    def submit_view(
        self,
        callback_id: str,
        state_values: dict[str, dict[str, Any]],
        private_metadata: str = "",
        *,
        user_id: str,
        view_id: str = "V0000000",
        **options: Any,
    ) -> SlackResult:
        """A `view_submission`: `state_values` is `{block_id: {action_id: {"type", "value"...}}}`."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "twoway-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0TWOWAY",
            "token": "deprecated-verification-token",
            "trigger_id": f"trigger-{uuid.uuid4().hex[:12]}",
            "view": {
                "id": view_id,
                "team_id": TEAM_ID,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": state_values},
                "hash": "h1",
                "blocks": [],
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._payload(payload, **options)


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The block id and the element with `action_id` in a message's blocks, as Slack would see them."""
    for block in blocks:
        candidates = list(block.get("elements", []))
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    raise LookupError(f"no element {action_id!r} in the message")


def click_on_message(
    sender: SlackSender,
    message: Any,
    action_id: str,
    *,
    user_id: str,
    option_value: str | None = None,
    selected_user: str | None = None,
    **options: Any,
) -> SlackResult:
    """Click an element of a message stored by the fake Slack exactly as it was rendered."""
    block_id, element = find_element(message.blocks, action_id)
    kind = element.get("type")
    value = element.get("value") if kind == "button" else None
    selected = None
    if option_value is not None:
        choices = element.get("options", [])
        selected = next((o for o in choices if o.get("value") == option_value), None)
        if selected is None:
            raise LookupError(f"{action_id!r} has no option {option_value!r}")
    api_message = message.as_api() if hasattr(message, "as_api") else message
    return sender.click(
        action_id,
        user_id=user_id,
        channel=message.channel,
        message_ts=message.ts,
        block_id=block_id,
        value=value,
        selected_option=selected,
        selected_user=selected_user,
        message=api_message,
        element_type=kind,
        **options,
    )


# -- a running app against the fake Slack ------------------------------------------------------

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-bot-token"


@dataclass
class SlackHarness:
    """The app served on 127.0.0.1, the fake Slack it talks to, and a signed-request sender."""

    ctx: Any
    fake: FakeSlack
    slack: Any  # bot.slack.app.SlackApp
    server: Any  # bot.slack.app.HttpServer
    sender: SlackSender

    def wait(self, timeout: float = 15.0) -> None:
        """Wait for the work that listeners handed off after their ack."""
        assert self.slack.wait_idle(timeout), "work after ack did not finish"

    def command(self, text: str, user_id: str, **options: Any) -> SlackResult:
        result = self.sender.command(text, user_id, **options)
        self.wait()
        return result

    def click(self, message: Any, action_id: str, *, user_id: str, **options: Any) -> SlackResult:
        result = click_on_message(self.sender, message, action_id, user_id=user_id, **options)
        self.wait()
        return result

    def ephemeral_texts(self, result: SlackResult, user_id: str | None = None) -> list[str]:
        """What the user was told: the ack body, response_url posts and chat.postEphemeral."""
        texts = [result.text] if result.json and result.text else []
        texts += [str(r.get("text", "")) for r in self.fake.responses_to(result.response_url)]
        if user_id:
            texts += [str(e.get("text", "")) for e in self.fake.ephemerals_for(user_id)]
        return texts


@contextmanager
def running_app(ctx: Any, fake: FakeSlack | None = None, **env: Any) -> Iterator[SlackHarness]:
    """Build and serve the Slack app for `ctx` against a fake Slack (started here if not given).

    `env` sets more settings by field name, e.g. `twoway_channel="C0REVIEW01"`.
    """
    from pydantic import SecretStr

    from bot.app.wiring import build_slack
    from bot.slack.serve import start_http_server

    own_fake = fake is None
    fake = fake or FakeSlack().start()
    ctx.settings = ctx.settings.model_copy(
        update={
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake.api_url,
            **env,
        }
    )
    slack = build_slack(ctx)
    server = start_http_server(ctx, slack)
    sender = SlackSender(server.url, SIGNING_SECRET, fake.response_url_base)
    try:
        yield SlackHarness(ctx, fake, slack, server, sender)
    finally:
        slack.wait_idle(10)
        server.stop()
        slack.close()
        if own_fake:
            fake.stop()
