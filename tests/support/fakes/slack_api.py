"""A fake Slack Web API that speaks the real wire format, for slack_sdk's WebClient and Bolt.

Errors come back the way Slack sends them: HTTP 200 with `{"ok": false, "error": "..."}`;
rate limits as 429 with `Retry-After` when a test scripts one with `fail_next`, or, after
`enforce_rate_limits()`, whenever TwoWay posts faster than Slack allows (about one message per
second per channel with short bursts; `chat.update` about 50 a minute per workspace). Messages,
ephemerals, views, DMs, uploaded files and `response_url` posts are kept so tests can assert
on exactly what TwoWay sent. Light Block Kit checks (block count, text and button lengths,
modal title length) refuse what real Slack refuses, so a card that would break in production
breaks here too.

Use `FakeSlack().start()` and point `SLACK_API_URL` at `fake.api_url`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.fakes.server import FakeServer, Recorded, Response

TEAM_ID = "T0TWOWAY"
BOT_USER_ID = "U0TWOWAYBOT"
BOT_ID = "B0TWOWAYBOT"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    user: str = BOT_USER_ID
    edits: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first

    def as_api(self, with_metadata: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": BOT_ID,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            data["metadata"] = self.metadata
        return data


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def args_of(recorded: Recorded) -> dict[str, Any]:
    """Every argument of an API call, whether sent as query, form or JSON; JSON strings decoded."""
    merged: dict[str, Any] = {k: v[0] for k, v in recorded.query.items()}
    content_type = recorded.headers.get("content-type", "")
    if recorded.body:
        if "json" in content_type:
            body = recorded.json
            if isinstance(body, dict):
                merged.update(body)
        elif "form" in content_type or not content_type:
            merged.update(recorded.form)
    return {k: _maybe_json(v) for k, v in merged.items()}


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


# -- Block Kit checks: what real Slack refuses --------------------------------------------------


def _texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_texts(item))
    return found


def block_problem(blocks: Any, max_blocks: int) -> str | None:
    """Why Slack would refuse these blocks, or None."""
    if not isinstance(blocks, list):
        return "invalid_blocks_format"
    if len(blocks) > max_blocks:
        return "invalid_blocks"
    if sum(len(t) for t in _texts(blocks)) > 12000:
        return "msg_blocks_too_long"
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            return "invalid_blocks"
        if len(str(block.get("block_id", ""))) > 255:
            return "invalid_blocks"
        text = block.get("text")
        if block["type"] == "section" and isinstance(text, dict) and len(text.get("text", "")) > 3000:
            return "invalid_blocks"
        elements = block.get("elements", [])
        if block["type"] == "actions":
            if len(elements) > 25:
                return "invalid_blocks"
            action_ids = [e.get("action_id") for e in elements if e.get("action_id")]
            if len(action_ids) != len(set(action_ids)):
                return "invalid_blocks"
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if isinstance(accessory, dict) else [])]:
            if not isinstance(element, dict):
                continue
            if len(str(element.get("action_id", ""))) > 255 or len(str(element.get("value", ""))) > 2000:
                return "invalid_blocks"
            if element.get("type") == "button" and len(element.get("text", {}).get("text", "")) > 75:
                return "invalid_blocks"
    return None


def view_problem(view: Any) -> str | None:
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return "invalid_arguments"
    for key in ("title", "submit", "close"):
        part = view.get(key)
        if isinstance(part, dict) and len(part.get("text", "")) > 24:
            return "invalid_arguments"
    if len(str(view.get("private_metadata", ""))) > 3000:
        return "invalid_arguments"
    if len(str(view.get("callback_id", ""))) > 255:
        return "invalid_arguments"
    return block_problem(view.get("blocks", []), 100)


# -- rate limits ---------------------------------------------------------------------------------


class _Limits:
    """Token buckets, one per channel for posts and one per workspace for updates."""

    def __init__(self, post_rate: float, burst: int, updates_per_minute: float | None) -> None:
        self.post_rate, self.burst = post_rate, burst
        self.update_rate = updates_per_minute / 60 if updates_per_minute else None
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take a token: 0 when there was one, else the seconds until there will be."""
        tokens, at = self.buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1 - tokens) / rate


# -- the fake --------------------------------------------------------------------------------


class FakeSlack(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.data_lock = threading.RLock()
        self._last_ts = 0.0
        self._ids = itertools.count(1)
        self._messages: list[Message] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_url, with "token"
        self.views_opened: list[dict[str, Any]] = []  # views.open and views.push
        self.views_updated: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.missing_channels: set[str] = set()
        self.revoked_tokens: set[str] = set()
        self.socket_mode_url = ""  # set to a FakeSocketMode's `url` to hand it out
        self._limits: _Limits | None = None
        self.rate_limited: list[tuple[str, str, float]] = []  # (method, channel, Retry-After) of each 429
        self.route("POST", r"/api/([a-zA-Z.]+)", self._api)
        self.route("GET", r"/api/([a-zA-Z.]+)", self._api)
        self.route("POST", r"/response/([A-Za-z0-9_-]+)", self._response_url)
        self.route("POST", r"/upload/([A-Za-z0-9]+)", self._upload)

    # -- configuration ---------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What to set SLACK_API_URL to."""
        return self.url + "/api/"

    @property
    def response_url_base(self) -> str:
        return self.url + "/response"

    def add_user(self, user_id: str, name: str = "", real_name: str = "", **extra: Any) -> None:
        self.users[user_id] = {"name": name or user_id.lower(), "real_name": real_name or name, **extra}

    def enforce_rate_limits(
        self, per_channel_per_second: float = 1.0, burst: int = 3, updates_per_minute: float | None = 50
    ) -> None:
        """Answer 429 with Retry-After as Slack does when posts come faster than its limits:
        `chat.postMessage` per channel (a token bucket of `burst`, refilled at the given rate) and,
        unless None, `chat.update` per workspace."""
        self._limits = _Limits(per_channel_per_second, burst, updates_per_minute)

    def set_channel(self, channel_id: str, *, name: str = "", is_member: bool = True, **extra: Any) -> None:
        self.channels[channel_id] = {
            "name": name or f"chan-{channel_id.lower()}",
            "is_member": is_member,
            **extra,
        }

    # -- what tests read -------------------------------------------------------------------

    def messages(self, channel: str | None = None, *, top_level: bool = False) -> list[Message]:
        with self.data_lock:
            return [
                m
                for m in self._messages
                if (channel is None or m.channel == channel) and not (top_level and m.thread_ts)
            ]

    def message(self, channel: str, ts: str) -> Message:
        with self.data_lock:
            for m in self._messages:
                if m.channel == channel and m.ts == ts:
                    return m
        raise KeyError(f"no message {channel}/{ts}")

    def drop_message(self, channel: str, ts: str) -> None:
        """Forget a message, as if it had never been posted (crash simulations)."""
        with self.data_lock:
            self._messages = [m for m in self._messages if not (m.channel == channel and m.ts == ts)]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages(channel) if m.thread_ts == thread_ts]

    def dm_channel(self, user: str) -> str:
        return "D" + user[1:]

    def dms(self, user: str) -> list[Message]:
        return self.messages(self.dm_channel(user))

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        with self.data_lock:
            return [e for e in self.ephemerals if e.get("user") == user]

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        token = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self.data_lock:
            return [r for r in self.responses if r["token"] == token]

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every call of one Web API method, in order."""
        return [args_of(r) for r in self.calls(rf"^/api/{re.escape(method)}$")]

    # -- wire format -------------------------------------------------------------------------

    @staticmethod
    def ok(**data: Any) -> Response:
        return Response(200, {"ok": True, **data})

    @staticmethod
    def error(code: str, **data: Any) -> Response:
        return Response(200, {"ok": False, "error": code, **data})

    def _api(self, recorded: Recorded, match: re.Match[str]) -> Response:
        method = match.group(1)
        auth = recorded.headers.get("authorization", "")
        args = args_of(recorded)
        token = auth.removeprefix("Bearer ").strip() or str(args.get("token") or "")
        if not token:
            return self.error("not_authed")
        if token in self.revoked_tokens:
            return self.error("token_revoked")
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return self.error("unknown_method")
        if method == "apps.connections.open":
            # Slack checks the token type here: only an app-level token may open a socket.
            args = {**args, "app_token": token}
        with self.data_lock:
            limited = self._rate_limited(method, args)
            if limited is not None:
                return limited
            response: Response = handler(args)
        return response

    def _rate_limited(self, method: str, args: dict[str, Any]) -> Response | None:
        if self._limits is None:
            return None
        if method == "chat.postMessage":
            key, rate, burst = (
                "post:" + self._channel_for(str(args.get("channel") or "")),
                self._limits.post_rate,
                self._limits.burst,
            )
        elif method == "chat.update" and self._limits.update_rate is not None:
            key, rate, burst = "update", self._limits.update_rate, max(1, int(self._limits.update_rate))
        else:
            return None
        wait = self._limits.take(key, rate, burst, time.monotonic())
        if wait <= 0:
            return None
        retry_after = max(1, math.ceil(wait))
        self.rate_limited.append((method, key.split(":", 1)[-1], float(retry_after)))
        return Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})

    def _next_ts(self) -> str:
        """Real-time message timestamps, strictly increasing, like Slack's."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _channel_for(self, channel: str) -> str:
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def _channel_problem(self, channel: str) -> str | None:
        if not channel:
            return "channel_not_found"
        if channel in self.missing_channels:
            return "channel_not_found"
        if not channel.startswith("D") and not self.channels.get(channel, {}).get("is_member", True):
            return "not_in_channel"
        return None

    # -- methods -------------------------------------------------------------------------------

    def api_auth_test(self, args: dict[str, Any]) -> Response:
        return self.ok(
            url="https://twoway-test.slack.com/",
            team="TwoWay Test",
            user="twoway",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def api_apps_connections_open(self, args: dict[str, Any]) -> Response:
        if not str(args.get("app_token", "")).startswith("xapp-"):
            return self.error("not_allowed_token_type")
        if not self.socket_mode_url:
            return self.error("internal_error")
        return self.ok(url=f"{self.socket_mode_url}?ticket={next(self._ids)}&app_id=A0TWOWAY")

    def api_chat_postMessage(self, args: dict[str, Any]) -> Response:
        channel = self._channel_for(str(args.get("channel") or ""))
        problem = self._channel_problem(channel)
        if problem:
            return self.error(problem)
        blocks = args.get("blocks") or []
        if not args.get("text") and not blocks:
            return self.error("no_text")
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m.channel == channel and m.ts == thread_ts for m in self._messages):
            return self.error("thread_not_found")
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        message = Message(channel, self._next_ts(), str(args.get("text") or ""), blocks, metadata, thread_ts)
        self._messages.append(message)
        return self.ok(channel=channel, ts=message.ts, message=message.as_api(with_metadata=True))

    def api_chat_update(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        found = [m for m in self._messages if m.channel == channel and m.ts == ts]
        if not found:
            return self.error("message_not_found")
        blocks = args.get("blocks")
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        message = found[0]
        message.edits.append({"text": message.text, "blocks": message.blocks})
        if "text" in args:
            message.text = str(args["text"] or "")
        if blocks is not None:
            message.blocks = blocks
        if isinstance(args.get("metadata"), dict):
            message.metadata = args["metadata"]
        return self.ok(channel=channel, ts=ts, text=message.text, message=message.as_api())

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> Response:
        channel = str(args.get("channel") or "")
        problem = self._channel_problem(channel)
        if problem:
            return self.error(problem)
        if not args.get("user"):
            return self.error("user_not_in_channel")
        blocks = args.get("blocks") or []
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        entry = {**args, "channel": channel, "message_ts": self._next_ts()}
        self.ephemerals.append(entry)
        return self.ok(message_ts=entry["message_ts"])

    def api_chat_getPermalink(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if not any(m.channel == channel and m.ts == ts for m in self._messages):
            return self.error("message_not_found")
        link = f"https://twoway-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return self.ok(channel=channel, permalink=link)

    def api_chat_delete(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        before = len(self._messages)
        self._messages = [m for m in self._messages if not (m.channel == channel and m.ts == ts)]
        if len(self._messages) == before:
            return self.error("message_not_found")
        return self.ok(channel=channel, ts=ts)

    def _view(self, args: dict[str, Any], view_id: str | None = None) -> Response:
        view = args.get("view")
        if problem := view_problem(view):
            return self.error(problem)
        assert isinstance(view, dict)
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "hash": f"h{next(self._ids)}", "team_id": TEAM_ID}
        self.views[view_id] = stored
        return self.ok(view=stored)

    def api_views_open(self, args: dict[str, Any]) -> Response:
        if not args.get("trigger_id"):
            return self.error("invalid_trigger_id")
        response = self._view(args)
        if response.body["ok"]:
            self.views_opened.append({**args, "view": response.body["view"]})
        return response

    def api_views_push(self, args: dict[str, Any]) -> Response:
        return self.api_views_open(args)

    def api_views_update(self, args: dict[str, Any]) -> Response:
        view_id = str(args.get("view_id") or "")
        if view_id not in self.views:
            return self.error("not_found")
        response = self._view(args, view_id)
        if response.body["ok"]:
            self.views_updated.append({**args, "view": response.body["view"]})
        return response

    def api_users_info(self, args: dict[str, Any]) -> Response:
        user_id = str(args.get("user") or "")
        if not re.match(r"^[UW][A-Z0-9]+$", user_id):
            return self.error("user_not_found")
        known = self.users.get(user_id, {"name": user_id.lower(), "real_name": ""})
        profile = {"real_name": known.get("real_name", ""), "display_name": known.get("name", "")}
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": known.get("name", user_id.lower()),
            "real_name": known.get("real_name", ""),
            "tz": known.get("tz", "America/Los_Angeles"),
            "is_bot": known.get("is_bot", False),
            "deleted": known.get("deleted", False),
            "profile": profile,
        }
        return self.ok(user=user)

    def api_conversations_info(self, args: dict[str, Any]) -> Response:
        channel = str(args.get("channel") or "")
        if channel in self.missing_channels or not re.match(r"^[CGD][A-Z0-9]+$", channel):
            return self.error("channel_not_found")
        known = self.channels.get(channel, {"name": f"chan-{channel.lower()}", "is_member": True})
        info = {
            "id": channel,
            "is_channel": channel.startswith("C"),
            "is_private": known.get("is_private", channel.startswith("G")),
            "is_im": channel.startswith("D"),
            **known,
        }
        return self.ok(channel=info)

    def api_conversations_open(self, args: dict[str, Any]) -> Response:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1 or not re.match(r"^[UW][A-Z0-9]+$", users[0]):
            return self.error("user_not_found")
        return self.ok(channel={"id": self.dm_channel(users[0])})

    def api_conversations_history(self, args: dict[str, Any]) -> Response:
        channel = str(args.get("channel") or "")
        if channel in self.missing_channels:
            return self.error("channel_not_found")
        if not self.channels.get(channel, {}).get("is_member", True):
            return self.error("not_in_channel")
        oldest = float(args.get("oldest") or 0)
        newest_first = sorted(
            (m for m in self._messages if m.channel == channel and not m.thread_ts and float(m.ts) >= oldest),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        return self._page(newest_first, args)

    def _page(self, messages: list[Message], args: dict[str, Any]) -> Response:
        """One page of a listing, with Slack's cursor, metadata only when asked for."""
        with_metadata = _truthy(args.get("include_all_metadata"))
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        more = start + limit < len(messages)
        return self.ok(
            messages=[m.as_api(with_metadata) for m in messages[start : start + limit]],
            has_more=more,
            response_metadata={"next_cursor": str(start + limit) if more else ""},
        )

    def api_conversations_replies(self, args: dict[str, Any]) -> Response:
        """The thread's parent, then its replies oldest first, as Slack lists them."""
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if channel in self.missing_channels:
            return self.error("channel_not_found")
        if not self.channels.get(channel, {}).get("is_member", True):
            return self.error("not_in_channel")
        thread = sorted(
            (m for m in self._messages if m.channel == channel and (m.ts == ts or m.thread_ts == ts)),
            key=lambda m: (m.ts != ts, float(m.ts)),
        )
        if not thread or thread[0].ts != ts:
            return self.error("thread_not_found")
        return self._page(thread, args)

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> Response:
        if not args.get("filename") or not args.get("length"):
            return self.error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files.append({"id": file_id, "filename": args["filename"], "data": None, "shared": False})
        return self.ok(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> Response:
        wanted = args.get("files")
        if not isinstance(wanted, list) or not wanted:
            return self.error("invalid_arguments")
        done = []
        for item in wanted:
            stored = next((f for f in self.files if f["id"] == item.get("id")), None)
            if stored is None or stored["data"] is None:
                return self.error("file_not_found")
            stored.update(
                title=item.get("title"),
                channel=args.get("channel_id"),
                initial_comment=args.get("initial_comment"),
                thread_ts=args.get("thread_ts"),
                shared=True,
            )
            done.append({"id": stored["id"], "name": stored["filename"], "title": stored["title"]})
        return self.ok(files=done)

    # -- non-API endpoints ---------------------------------------------------------------------

    def _upload(self, recorded: Recorded, match: re.Match[str]) -> Response:
        with self.data_lock:
            stored = next((f for f in self.files if f["id"] == match.group(1)), None)
            if stored is None:
                return Response(404, "no such upload")
            stored["data"] = recorded.body
        return Response(200, "OK - " + str(len(recorded.body)))

    def _response_url(self, recorded: Recorded, match: re.Match[str]) -> Response:
        body = recorded.json if "json" in recorded.headers.get("content-type", "") else args_of(recorded)
        with self.data_lock:
            self.responses.append({"token": match.group(1), **(body or {})})
        return Response(200, {"ok": True})
