"""A simulated Slack workspace: the Web API TwoWay's WebClient talks to, and what it holds.

It answers the methods TwoWay calls in Slack's wire format (`{"ok": false, "error": ...}` on
HTTP 200 for refusals) and keeps the channel, threads, DMs, ephemeral messages, modals and
uploaded files that the page shows. Every change is announced on the hub as it happens.
"""

from __future__ import annotations

import itertools
import mimetypes
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.web import Hub, Request, Response, Router

TEAM_ID = "T0SANDBOX1"
BOT_USER = "U0TWOWAYBT"
BOT_ID = "B0TWOWAY01"
CHANNEL = "C0SANDBOX1"
CHANNEL_NAME = "twoway-review"
TRIGGER_SECONDS = 10.0  # Slack's is 3 s; TwoWay opens its modals well within that
KEPT_VERSIONS = 20  # a message's earlier blocks kept, for clicks on a copy drawn before an update


@dataclass(frozen=True)
class Persona:
    id: str
    name: str  # the Slack username typed after @
    real_name: str
    role: str  # the TwoWay role the sandbox grants
    title: str


PERSONAS = (
    Persona("U0REYES001", "dana", "Dana Reyes", "officer", "Officer"),
    Persona("U0CHEN0001", "maria", "Maria Chen", "supervisor", "Sergeant"),
    Persona("U0ORTIZ001", "sam", "Sam Ortiz", "admin", "Lieutenant"),
    Persona("U0PARK0001", "jin", "Jin Park", "officer", "Officer"),
)
VISITOR_ROLES = ("officer", "supervisor", "admin")  # who the visitor may be, one persona each


def persona_for(role: str) -> Persona:
    return next((p for p in PERSONAS if p.role == role), PERSONAS[0])


def dm_channel(user: str) -> str:
    return "D" + user[1:]


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str = BOT_USER
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    visible_to: str | None = None  # an ephemeral message: only this user sees it
    note: str = ""  # shown above an ephemeral answer: the command it answers
    edited: bool = False
    earlier: list[list[dict[str, Any]]] = field(default_factory=list)  # older blocks, oldest first

    @property
    def ephemeral(self) -> bool:
        return self.visible_to is not None

    def replace_blocks(self, blocks: list[dict[str, Any]]) -> None:
        """New blocks; the old ones are kept a while, because Slack still delivers a click on a copy
        of the message drawn before the update (a storm card is redrawn every few seconds)."""
        if blocks != self.blocks:
            self.earlier = [*self.earlier, self.blocks][-KEPT_VERSIONS:]
        self.blocks = blocks

    def versions(self) -> list[list[dict[str, Any]]]:
        """Its blocks as they are now, then as they were drawn before, newest first."""
        return [self.blocks, *reversed(self.earlier)]

    def as_api(self, with_metadata: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.user == BOT_USER:
            data["bot_id"] = BOT_ID
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.files:
            data["files"] = [{k: v for k, v in f.items() if k != "data"} for f in self.files]
        if with_metadata and self.metadata:
            data["metadata"] = self.metadata
        return data


@dataclass
class View:
    id: str
    user: str
    view: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class Target:
    """Where a response_url's answers go: who clicked or typed, where, and on which message."""

    user: str
    channel: str
    ts: str | None = None  # the message clicked, for replace_original and delete_original
    note: str = ""


# -- what real Slack refuses ---------------------------------------------------------------------


def _texts(node: Any) -> int:
    if isinstance(node, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else _texts(v) for k, v in node.items())
    if isinstance(node, list):
        return sum(_texts(item) for item in node)
    return 0


def block_problem(blocks: Any, max_blocks: int) -> str | None:
    if not isinstance(blocks, list):
        return "invalid_blocks_format"
    if len(blocks) > max_blocks or any(not isinstance(b, dict) or "type" not in b for b in blocks):
        return "invalid_blocks"
    if _texts(blocks) > 12000:
        return "msg_blocks_too_long"
    ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(ids) != len(set(ids)):
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text")
        if block["type"] == "section" and isinstance(text, dict) and len(str(text.get("text", ""))) > 3000:
            return "invalid_blocks"
        if block["type"] == "actions" and len(block.get("elements") or []) > 25:
            return "invalid_blocks"
    return None


def _fill_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack gives blocks and elements without an id one of its own, and clicks carry it."""
    filled = []
    for n, block in enumerate(blocks):
        block = dict(block)
        block.setdefault("block_id", f"sb{n}{secrets.token_hex(2)}")
        for key in ("elements", "accessory", "element"):
            items = block.get(key)
            if isinstance(items, list):
                block[key] = [
                    {**e, "action_id": e.get("action_id") or f"sa{i}{secrets.token_hex(2)}"}
                    if isinstance(e, dict) and e.get("type") not in ("mrkdwn", "plain_text", "image")
                    else e
                    for i, e in enumerate(items)
                ]
            elif isinstance(items, dict) and items.get("type") not in ("mrkdwn", "plain_text", "image"):
                block[key] = {**items, "action_id": items.get("action_id") or f"sa{secrets.token_hex(2)}"}
        filled.append(block)
    return filled


class SimulatedSlack:
    """The workspace: one review channel, DMs with the bot, modals, files; the Web API over it."""

    def __init__(self, hub: Hub, base_url: str) -> None:
        self.hub = hub
        self.base_url = base_url.rstrip("/")
        self.token = "xoxb-sandbox-" + secrets.token_hex(12)
        self.lock = threading.RLock()
        self.messages: list[Message] = []
        self.views: dict[str, View] = {}
        self.open_view: dict[str, str] = {}  # user -> the id of the modal on their screen
        self.triggers: dict[str, tuple[str, float]] = {}
        self.targets: dict[str, Target] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.users = {p.id: p for p in PERSONAS}
        self._ids = itertools.count(1)
        self._last_ts = 0.0

    # -- for the page and the relay ------------------------------------------------------------

    def mount(self, router: Router) -> None:
        router.route("*", r"/api/([a-zA-Z.]+)", self._api)
        router.route("POST", r"/response/([A-Za-z0-9_-]+)", self._response_url)
        router.route("POST", r"/upload/(F[0-9A-Z]+)", self._upload)
        router.route("GET", r"/files/(F[0-9A-Z]+)/[^/]*", self._file)

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def user_name(self, user_id: str) -> str | None:
        persona = self.users.get(user_id)
        if persona is not None:
            return persona.real_name
        return "TwoWay" if user_id == BOT_USER else None

    def channel_name(self, channel_id: str) -> str | None:
        return CHANNEL_NAME if channel_id == CHANNEL else None

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{secrets.token_hex(8)}"
        with self.lock:
            self.triggers[trigger] = (user, time.monotonic() + TRIGGER_SECONDS)
        return trigger

    def new_response_url(self, target: Target) -> str:
        token = secrets.token_urlsafe(18)
        with self.lock:
            self.targets[token] = target
        return f"{self.base_url}/response/{token}"

    def conversation(self, channel: str, viewer: str) -> list[Message]:
        """A channel as `viewer` sees it: every message, and their own ephemeral ones."""
        with self.lock:
            return [
                m
                for m in self.messages
                if m.channel == channel and (m.visible_to is None or m.visible_to == viewer)
            ]

    def find(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def ephemeral(
        self, user: str, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, note: str = ""
    ) -> Message:
        return self._post(
            Message(channel, self._next_ts(), text, _fill_ids(blocks or []), visible_to=user, note=note)
        )

    def view_of(self, user: str) -> View | None:
        with self.lock:
            view_id = self.open_view.get(user)
            return self.views.get(view_id) if view_id else None

    def set_view(self, user: str, view: dict[str, Any], view_id: str | None = None) -> View:
        with self.lock:
            view_id = view_id or f"V{next(self._ids):08d}"
            blocks = _fill_ids(view.get("blocks") or [])
            stored = View(
                view_id,
                user,
                {**view, "blocks": blocks, "id": view_id, "team_id": TEAM_ID},
                f"h{next(self._ids)}",
            )
            stored.view["hash"] = stored.hash
            self.views[view_id] = stored
            self.open_view[user] = view_id
        self.hub.publish({"kind": "view", "user": user})
        return stored

    def close_view(self, user: str) -> None:
        with self.lock:
            self.open_view.pop(user, None)
        self.hub.publish({"kind": "view", "user": user})

    # -- storage --------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        with self.lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def _post(self, message: Message) -> Message:
        with self.lock:
            self.messages.append(message)
        self._announce(message)
        return message

    def _announce(self, message: Message) -> None:
        self.hub.publish(
            {"kind": "message", "channel": message.channel, "ts": message.ts, "user": message.visible_to}
        )

    # -- the Web API ----------------------------------------------------------------------------

    @staticmethod
    def ok(**data: Any) -> Response:
        return Response(200, {"ok": True, **data})

    @staticmethod
    def error(code: str) -> Response:
        return Response(200, {"ok": False, "error": code})

    def _api(self, request: Request, match: re.Match[str]) -> Response:
        args = request.args()
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or str(
            args.get("token") or ""
        )
        if not token:
            return self.error("not_authed")
        if not secrets.compare_digest(token, self.token):
            return self.error("invalid_auth")
        handler = getattr(self, "api_" + match.group(1).replace(".", "_"), None)
        if handler is None:
            return self.error("unknown_method")
        result: Response = handler(args)
        return result

    def _channel_of(self, value: Any) -> str | None:
        channel = str(value or "")
        if channel[:1] in ("U", "W") and channel in self.users:
            return dm_channel(channel)
        if channel == CHANNEL or (channel.startswith("D") and "U" + channel[1:] in self.users):
            return channel
        return None

    def api_auth_test(self, args: dict[str, Any]) -> Response:
        return self.ok(
            url=self.base_url + "/",
            team="TwoWay Sandbox",
            user="twoway",
            team_id=TEAM_ID,
            user_id=BOT_USER,
            bot_id=BOT_ID,
        )

    def api_chat_postMessage(self, args: dict[str, Any]) -> Response:
        channel = self._channel_of(args.get("channel"))
        if channel is None:
            return self.error("channel_not_found")
        blocks = args.get("blocks") or []
        if not args.get("text") and not blocks:
            return self.error("no_text")
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts and self.find(channel, thread_ts) is None:
            return self.error("thread_not_found")
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        message = self._post(
            Message(
                channel,
                self._next_ts(),
                str(args.get("text") or ""),
                _fill_ids(blocks),
                thread_ts=thread_ts,
                metadata=metadata,
            )
        )
        return self.ok(channel=channel, ts=message.ts, message=message.as_api(with_metadata=True))

    def api_chat_update(self, args: dict[str, Any]) -> Response:
        message = self.find(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if message is None or message.ephemeral:
            return self.error("message_not_found")
        blocks = args.get("blocks")
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        with self.lock:
            if "text" in args:
                message.text = str(args["text"] or "")
            if isinstance(blocks, list):
                message.replace_blocks(_fill_ids(blocks))
            if isinstance(args.get("metadata"), dict):
                message.metadata = args["metadata"]
            message.edited = True
        self._announce(message)
        return self.ok(channel=message.channel, ts=message.ts, text=message.text, message=message.as_api())

    def api_chat_delete(self, args: dict[str, Any]) -> Response:
        message = self.find(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if message is None:
            return self.error("message_not_found")
        self._delete(message)
        return self.ok(channel=message.channel, ts=message.ts)

    def _delete(self, message: Message) -> None:
        with self.lock:
            self.messages = [m for m in self.messages if m is not message]
        self.hub.publish(
            {"kind": "deleted", "channel": message.channel, "ts": message.ts, "user": message.visible_to}
        )

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> Response:
        channel = self._channel_of(args.get("channel"))
        user = str(args.get("user") or "")
        if channel is None:
            return self.error("channel_not_found")
        if user not in self.users:
            return self.error("user_not_in_channel")
        blocks = args.get("blocks") or []
        if blocks and (problem := block_problem(blocks, 50)):
            return self.error(problem)
        message = self.ephemeral(user, channel, str(args.get("text") or ""), blocks)
        return self.ok(message_ts=message.ts)

    def api_chat_getPermalink(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if self.find(channel, ts) is None:
            return self.error("message_not_found")
        return self.ok(
            channel=channel, permalink=f"{self.base_url}/archives/{channel}/p{ts.replace('.', '')}"
        )

    def api_conversations_info(self, args: dict[str, Any]) -> Response:
        channel = self._channel_of(args.get("channel"))
        if channel is None:
            return self.error("channel_not_found")
        is_im = channel.startswith("D")
        return self.ok(
            channel={
                "id": channel,
                "name": CHANNEL_NAME if not is_im else "",
                "is_channel": not is_im,
                "is_im": is_im,
                "is_private": False,
                "is_member": True,
            }
        )

    def api_conversations_open(self, args: dict[str, Any]) -> Response:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1 or users[0] not in self.users:
            return self.error("user_not_found")
        return self.ok(channel={"id": dm_channel(users[0])})

    def api_conversations_history(self, args: dict[str, Any]) -> Response:
        channel = self._channel_of(args.get("channel"))
        if channel is None:
            return self.error("channel_not_found")
        with_metadata = args.get("include_all_metadata") in (True, 1, "1", "true")
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(args.get("cursor") or 0)
        oldest = float(args.get("oldest") or 0)
        with self.lock:
            found = sorted(
                (
                    m
                    for m in self.messages
                    if m.channel == channel and not m.thread_ts and not m.ephemeral and float(m.ts) >= oldest
                ),
                key=lambda m: float(m.ts),
                reverse=True,
            )
        page = found[start : start + limit]
        more = start + limit < len(found)
        return self.ok(
            messages=[m.as_api(with_metadata) for m in page],
            has_more=more,
            response_metadata={"next_cursor": str(start + limit) if more else ""},
        )

    def api_users_info(self, args: dict[str, Any]) -> Response:
        persona = self.users.get(str(args.get("user") or ""))
        if persona is None:
            return self.error("user_not_found")
        return self.ok(
            user={
                "id": persona.id,
                "team_id": TEAM_ID,
                "name": persona.name,
                "real_name": persona.real_name,
                "tz": "America/Chicago",
                "is_bot": False,
                "deleted": False,
                "profile": {
                    "real_name": persona.real_name,
                    "display_name": persona.name,
                    "title": persona.title,
                },
            }
        )

    def api_views_open(self, args: dict[str, Any]) -> Response:
        trigger = str(args.get("trigger_id") or "")
        with self.lock:
            user, expires = self.triggers.pop(trigger, ("", 0.0))
        if not user:
            return self.error("invalid_trigger_id")
        if time.monotonic() > expires:
            return self.error("expired_trigger_id")
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return self.error("invalid_arguments")
        if problem := block_problem(view.get("blocks") or [], 100):
            return self.error(problem)
        return self.ok(view=self.set_view(user, view).view)

    api_views_push = api_views_open

    def api_views_update(self, args: dict[str, Any]) -> Response:
        with self.lock:
            stored = self.views.get(str(args.get("view_id") or ""))
        view = args.get("view")
        if stored is None:
            return self.error("not_found")
        if not isinstance(view, dict):
            return self.error("invalid_arguments")
        if args.get("hash") and args["hash"] != stored.hash:
            return self.error("hash_conflict")
        return self.ok(view=self.set_view(stored.user, view, stored.id).view)

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> Response:
        if not args.get("filename") or not args.get("length"):
            return self.error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        with self.lock:
            self.files[file_id] = {"id": file_id, "name": str(args["filename"]), "data": None}
        return self.ok(upload_url=f"{self.base_url}/upload/{file_id}", file_id=file_id)

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> Response:
        wanted = args.get("files")
        channel = self._channel_of(args.get("channel_id"))
        if not isinstance(wanted, list) or not wanted:
            return self.error("invalid_arguments")
        done = []
        with self.lock:
            for item in wanted:
                stored = self.files.get(str(item.get("id") if isinstance(item, dict) else ""))
                if stored is None or stored["data"] is None:
                    return self.error("file_not_found")
                stored["title"] = str(item.get("title") or stored["name"])
                stored["url_private"] = f"{self.base_url}/files/{stored['id']}/{stored['name']}"
                stored["mimetype"] = mimetypes.guess_type(stored["name"])[0] or "application/octet-stream"
                done.append({k: v for k, v in stored.items() if k != "data"})
        if channel is not None:
            thread_ts = str(args.get("thread_ts") or "") or None
            self._post(
                Message(
                    channel,
                    self._next_ts(),
                    str(args.get("initial_comment") or ""),
                    [],
                    thread_ts=thread_ts,
                    files=done,
                )
            )
        return self.ok(files=done)

    # -- beside the API -------------------------------------------------------------------------

    def _upload(self, request: Request, match: re.Match[str]) -> Response:
        with self.lock:
            stored = self.files.get(match.group(1))
            if stored is None:
                return Response(404, "no such upload")
            stored["data"] = request.body
        return Response(200, f"OK - {len(request.body)}")

    def _file(self, request: Request, match: re.Match[str]) -> Response:
        with self.lock:
            stored = self.files.get(match.group(1))
        if stored is None or stored["data"] is None:
            return Response(404, "no such file")
        return Response(
            200, stored["data"], content_type=str(stored.get("mimetype") or "application/octet-stream")
        )

    def _response_url(self, request: Request, match: re.Match[str]) -> Response:
        with self.lock:
            target = self.targets.get(match.group(1))
        body = request.json() if "json" in request.headers.get("content-type", "") else request.args()
        if target is None or not isinstance(body, dict):
            return Response(404, "expired_url")
        self.respond(target, body)
        return Response(200, "ok")

    def respond(self, target: Target, body: dict[str, Any]) -> None:
        """An answer to a command or a click, as Slack shows it (response_url or the ack's body)."""
        source = self.find(target.channel, target.ts) if target.ts else None
        if source is not None and body.get("delete_original") in (True, "true"):
            self._delete(source)
            return
        text = str(body.get("text") or "")
        given = body.get("blocks")
        blocks: list[dict[str, Any]] = (
            [b for b in given if isinstance(b, dict)] if isinstance(given, list) else []
        )
        if source is not None and body.get("replace_original") in (True, "true"):
            with self.lock:
                source.text, source.edited = text, True
                source.replace_blocks(_fill_ids(blocks))
            self._announce(source)
            return
        if not text and not blocks:
            return
        if body.get("response_type") == "in_channel":
            self._post(
                Message(
                    target.channel,
                    self._next_ts(),
                    text,
                    _fill_ids(blocks),
                    thread_ts=str(body.get("thread_ts") or "") or None,
                )
            )
        else:
            self.ephemeral(target.user, target.channel, text, blocks, note=target.note)
