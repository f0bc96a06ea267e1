"""What the page's clicks, forms and typed commands become: the signed requests Slack would send.

Each is built the way Slack builds it (a command's form fields, a `payload` holding block_actions
or view_submission JSON, the clicked element read from the stored message rather than from the
browser), signed with the signing secret and POSTed over HTTP to TwoWay's `/slack/events`, so
Bolt's verification and the very same listeners run. The answer in the HTTP response (an
ephemeral reply, form errors, a view update) is then shown as Slack would show it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import CHANNEL, CHANNEL_NAME, TEAM_ID, SimulatedSlack, Target, View

log = logging.getLogger(__name__)

APP_ID = "A0TWOWAY01"
SLACK_WAITS = 3.0  # Slack gives up on an app that has not answered in 3 s
TIMEOUT = 15.0  # the sandbox waits longer, and says so, on a slow machine
_MENTION = re.compile(r"(?<![\w<@])@([a-z0-9._-]{1,40})")


@dataclass
class Outcome:
    """What the page is told after it sent something."""

    ok: bool = True
    errors: dict[str, str] = field(default_factory=dict)  # a form's errors, by block id
    notice: str = ""  # a line for the visitor (a refusal, a slow answer)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": self.errors, "notice": self.notice}


def find_element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any] | None:
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates = [*(block.get("elements") or []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return [o for o in options if isinstance(o, dict)]


def selection(element: dict[str, Any], chosen: Any) -> dict[str, Any] | None:
    """The fields Slack adds to an action or a form value for what the person chose."""
    kind = element.get("type")
    if kind == "button":
        return {"value": element.get("value")} if "value" in element else {}
    if kind in ("static_select", "overflow", "radio_buttons"):
        option = next((o for o in _options(element) if o.get("value") == chosen), None)
        return {"selected_option": option} if option else None
    if kind == "checkboxes":
        wanted = chosen if isinstance(chosen, list) else []
        return {"selected_options": [o for o in _options(element) if o.get("value") in wanted]}
    if kind in ("users_select", "conversations_select", "channels_select"):
        key = {"users_select": "selected_user", "conversations_select": "selected_conversation"}.get(
            kind, "selected_channel"
        )
        return {key: str(chosen)} if chosen else None
    if kind in ("datepicker", "timepicker"):
        return {f"selected_{kind[:4]}": str(chosen)}
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        return {"value": None if chosen in (None, "") else str(chosen)}
    return None


def escape_command(text: str, slack: SimulatedSlack) -> str:
    """Command text as Slack sends it: `&`, `<`, `>` escaped, `@name` turned into `<@U…|name>`."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    by_name = {p.name: p.id for p in slack.users.values()}
    return _MENTION.sub(
        lambda m: f"<@{by_name[m.group(1)]}|{m.group(1)}>" if m.group(1) in by_name else m.group(0), text
    )


class Relay:
    def __init__(self, slack: SimulatedSlack, events_url: str, signing_secret: str) -> None:
        self.slack = slack
        self.events_url = events_url
        self.verifier = SignatureVerifier(signing_secret)
        self.session = requests.Session()
        self.session.trust_env = False  # 127.0.0.1 only: never through a proxy

    # -- the three things a person does in Slack -------------------------------------------------

    def command(self, user: str, channel: str, text: str) -> Outcome:
        typed = text.strip()
        match = re.match(r"^/(\S+)\s*(.*)$", typed, re.S)
        if match is None or match.group(1) != "twoway":
            self.slack.ephemeral(
                user, channel, "Only `/twoway` commands do something here. Try `/twoway help`."
            )
            return Outcome()
        note = typed
        target = Target(user, channel, note=note)
        fields = {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "twoway-sandbox",
            "channel_id": channel,
            "channel_name": CHANNEL_NAME if channel == CHANNEL else "directmessage",
            "user_id": user,
            "user_name": self.slack.users[user].name,
            "command": "/twoway",
            "text": escape_command(match.group(2), self.slack),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(target),
            "trigger_id": self.slack.new_trigger(user),
        }
        return self._send(urlencode(fields), target)

    def click(self, user: str, channel: str, ts: str, block_id: str, action_id: str, chosen: Any) -> Outcome:
        message = self.slack.find(channel, ts)
        if message is None or (message.visible_to not in (None, user)):
            return Outcome(False, notice="That message is gone.")
        # The page may show a copy drawn before the last update: Slack delivers that click as shown.
        element = next(
            (e for blocks in message.versions() if (e := find_element(blocks, block_id, action_id))), None
        )
        chose = selection(element, chosen) if element else None
        if element is None or chose is None:
            return Outcome(False, notice="Nothing to click there.")
        target = Target(user, channel, ts)
        payload = self._base("block_actions", user)
        payload.update(
            container={
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": message.ephemeral,
            },
            channel={"id": channel, "name": CHANNEL_NAME if channel == CHANNEL else "directmessage"},
            state={"values": {}},
            response_url=self.slack.new_response_url(target),
            actions=[self._action(element, block_id, chose)],
        )
        if not message.ephemeral:
            payload["message"] = message.as_api()
        return self._send(urlencode({"payload": json.dumps(payload)}), target)

    def click_in_view(
        self, user: str, block_id: str, action_id: str, chosen: Any, values: dict[str, Any]
    ) -> Outcome:
        view = self.slack.view_of(user)
        element = find_element(view.view.get("blocks") or [], block_id, action_id) if view else None
        chose = selection(element, chosen) if element else None
        if view is None or element is None or chose is None:
            return Outcome(False, notice="Nothing to click there.")
        payload = self._base("block_actions", user)
        payload.update(
            container={"type": "view", "view_id": view.id},
            view=self._view_with_state(view, values),
            actions=[self._action(element, block_id, chose)],
        )
        return self._send(urlencode({"payload": json.dumps(payload)}), Target(user, CHANNEL))

    def submit(self, user: str, values: dict[str, Any]) -> Outcome:
        view = self.slack.view_of(user)
        if view is None:
            return Outcome(False, notice="That form is closed.")
        payload = self._base("view_submission", user)
        payload.update(view=self._view_with_state(view, values), response_urls=[])
        return self._send(urlencode({"payload": json.dumps(payload)}), Target(user, CHANNEL), view=view)

    def close(self, user: str) -> Outcome:
        view = self.slack.view_of(user)
        self.slack.close_view(user)
        if view is None or not view.view.get("notify_on_close"):
            return Outcome()
        payload = self._base("view_closed", user)
        payload.update(view=self._view_with_state(view, {}), is_cleared=False)
        return self._send(urlencode({"payload": json.dumps(payload)}), Target(user, CHANNEL))

    # -- building payloads ---------------------------------------------------------------------

    def _base(self, kind: str, user: str) -> dict[str, Any]:
        persona = self.slack.users[user]
        return {
            "type": kind,
            "user": {"id": user, "username": persona.name, "name": persona.name, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "sandbox-verification-token",
            "trigger_id": self.slack.new_trigger(user),
            "team": {"id": TEAM_ID, "domain": "twoway-sandbox"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    @staticmethod
    def _action(element: dict[str, Any], block_id: str, chose: dict[str, Any]) -> dict[str, Any]:
        action = {
            "type": element.get("type"),
            "action_id": element.get("action_id"),
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if element.get("type") == "button":
            action["text"] = element.get("text")
            if element.get("style"):
                action["style"] = element["style"]
        return {**action, **chose}

    @staticmethod
    def _view_with_state(view: View, values: dict[str, Any]) -> dict[str, Any]:
        """The view as Slack sends it back: every input's current value under state.values."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.view.get("blocks") or []:
            elements = [block.get("element")] if block.get("type") == "input" else []
            elements += [e for e in block.get("elements") or [] if block.get("type") == "actions"]
            if isinstance(block.get("accessory"), dict):
                elements.append(block["accessory"])
            for element in elements:
                if not isinstance(element, dict) or element.get("type") == "button":
                    continue
                chosen = (values.get(block["block_id"]) or {}).get(element.get("action_id"))
                if chosen is None and block.get("type") != "input":
                    continue
                chose = selection(element, chosen) or {}
                if element.get("type") in ("static_select", "users_select") and not chose:
                    chose = (
                        {"selected_option": None}
                        if element["type"] == "static_select"
                        else {"selected_user": None}
                    )
                state.setdefault(block["block_id"], {})[str(element.get("action_id"))] = {
                    "type": element.get("type"),
                    **chose,
                }
        return {**view.view, "state": {"values": state}, "root_view_id": view.id, "app_id": APP_ID}

    # -- the round trip -----------------------------------------------------------------------

    def _send(self, body: str, target: Target, view: View | None = None) -> Outcome:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=stamp, body=body),
        }
        started = time.monotonic()
        try:
            answer = self.session.post(self.events_url, data=body.encode(), headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            log.warning("the sandbox could not reach TwoWay's /slack/events: %s", type(exc).__name__)
            self.slack.ephemeral(
                target.user,
                target.channel,
                "TwoWay did not answer (it may still be starting). Try again in a moment.",
            )
            return Outcome(False, notice="TwoWay did not answer.")
        took = time.monotonic() - started
        notice = (
            f"TwoWay took {took:.1f} s to answer; Slack gives up after {SLACK_WAITS:.0f} s."
            if took > SLACK_WAITS
            else ""
        )
        if answer.status_code != 200:
            self.slack.ephemeral(
                target.user,
                target.channel,
                f'/twoway failed with the error "http_error_{answer.status_code}"',
            )
            return Outcome(False, notice=f"HTTP {answer.status_code} from /slack/events")
        data: Any = None
        if answer.text.strip():
            try:
                data = answer.json()
            except ValueError:
                data = {"text": answer.text}
        if view is not None:
            return self._after_submit(view, data, notice)
        if isinstance(data, dict):
            self.slack.respond(target, {"response_type": "ephemeral", **data})
        return Outcome(notice=notice)

    def _after_submit(self, view: View, data: Any, notice: str) -> Outcome:
        action = data.get("response_action") if isinstance(data, dict) else None
        if action == "errors":
            errors = data.get("errors") if isinstance(data.get("errors"), dict) else {}
            return Outcome(False, errors={str(k): str(v) for k, v in errors.items()}, notice=notice)
        if action in ("update", "push") and isinstance(data.get("view"), dict):
            self.slack.set_view(view.user, data["view"], view.id if action == "update" else None)
            return Outcome(notice=notice)
        if self.slack.view_of(view.user) is view:
            self.slack.close_view(view.user)
        return Outcome(notice=notice)
