"""A fake Threads Graph API (graph.threads.net) for one profile, as strict as Threads where documented.

It serves the profile (`/v1.0/me`, `/v1.0/{user-id}`), its mentions (`/{user-id}/mentions`), its
posts (`/{user-id}/threads`, each with `has_replies`), each post's conversation (all replies,
flattened, `reverse=true` newest first), replying in two steps (`POST /{user-id}/threads` with
`reply_to_id` makes a container; `POST /{user-id}/threads_publish` with `creation_id` publishes
it; a container can be kept IN_PROGRESS for a while), the container's `status`, hiding a reply to
the profile's own post (`POST /{reply-id}/manage_reply`), and the long-lived token's refresh
(`GET /refresh_access_token?grant_type=th_refresh_token`: only for a token at least a day old and
not expired; a new token for 60 days). Errors use Graph's `{"error": {...}}` shape: an unknown
field or object is code 100, a missing, wrong, expired or revoked token 190; `rate_limited()`
answers as Meta does past a limit, with the usage header. Paging is by `after` cursors, with a
`next` URL carrying the token.

    fake = FakeThreads().start()
    post = fake.add_post("Road closure on Main St today")
    reply = fake.add_reply(post, "Is the bridge open?", username="jane.doe")
    ... ThreadsConnector(base_url=fake.url, token=fake.token) ...
    assert fake.published[0]["reply_to_id"] == reply["id"]
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.support.fakes.graph_api import graph_error
from tests.support.fakes.server import FakeServer, Recorded, Response

MENTION_FIELDS = {
    "id", "text", "username", "timestamp", "permalink", "media_type", "is_reply", "root_post",
    "replied_to", "hide_status", "has_replies", "media_product_type", "shortcode", "is_quote_post",
}  # fmt: skip
PROFILE_FIELDS = {"id", "username", "name", "threads_profile_picture_url", "threads_biography"}
CONTAINER_FIELDS = {"id", "status", "error_message"}
LIFETIME = timedelta(days=60)


def threads_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def rate_limited(code: int = 4) -> Response:
    """Meta's answer past a limit: code 4/17/32/613 and the usage header at 100%."""
    response = graph_error(code, f"(#{code}) Application request limit reached", status=400)
    response.headers["x-app-usage"] = '{"call_count":100,"total_cputime":3,"total_time":4}'
    return response


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"threads:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("threads:"))


class FakeThreads(FakeServer):
    """Threads as one profile and its tokens see it; `clock` decides token ages."""

    def __init__(
        self,
        *,
        user_id: str = "17841401234567890",
        username: str = "agencypolice",
        token: str = "th-long-lived-token",  # noqa: S107
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        token_age: timedelta = timedelta(days=5),
    ) -> None:
        super().__init__()
        self.profile = {"id": user_id, "username": username, "name": "Agency Police"}
        self.now = now or datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # default post time
        self.clock = clock or (lambda: datetime.now(UTC))
        issued = self.clock() - token_age
        self.token = token
        self.tokens: dict[str, dict[str, Any]] = {token: {"issued": issued, "expires": issued + LIFETIME}}
        self.revoked = False
        self.refusing_refresh: str | None = None  # a refusal message for every refresh
        self.posts: dict[str, dict[str, Any]] = {}  # every item: own posts, replies, mentions
        self.with_replies: set[str] = set()  # roots that have at least one reply (an index)
        self.containers: dict[str, dict[str, Any]] = {}
        self.published: list[dict[str, Any]] = []  # {"reply_to_id", "text", "id"}
        self.hidden: list[str] = []
        self.slow_containers = 0  # status checks answered IN_PROGRESS before FINISHED
        self._serial = 0
        v = r"/(v1\.0)"
        self.route("GET", r"/refresh_access_token", self._refresh)
        self.route("GET", v + r"/(\d+)/mentions", self._get_mentions)
        self.route("GET", v + r"/(\d+)/threads", self._get_threads)
        self.route("POST", v + r"/(\d+|me)/threads", self._create_container)
        self.route("POST", v + r"/(\d+|me)/threads_publish", self._publish)
        self.route("GET", v + r"/(\d+)/conversation", self._get_conversation)
        self.route("GET", v + r"/(\d+|me)/replies", self._get_replies)
        self.route("POST", v + r"/(\d+)/manage_reply", self._manage_reply)
        self.route("GET", v + r"/(\d+|me)", self._get_object)

    # -- test API ------------------------------------------------------------------------------

    def _next(self) -> str:
        self._serial += 1
        return str(18_100_000_000_000_000 + self._serial)

    def add_post(
        self, text: str = "An update from the department", *, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """A post by the profile itself."""
        return self._add(text, self.profile["username"], created_at, root=None, parent=None)

    def add_reply(
        self,
        to: dict[str, Any],
        text: str = "Thank you officers!",
        *,
        username: str = "jane.doe",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A reply to `to` (a post or a reply) in its conversation."""
        root = to["_root"] or to["id"]
        return self._add(text, username, created_at, root=root, parent=to["id"])

    def add_mention(
        self,
        text: str = "@agencypolice thank you",
        *,
        username: str = "sam.roe",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Someone's post elsewhere that @mentions the profile."""
        return self._add(text, username, created_at, root=None, parent=None, mentions=True)

    def withhold(self, item: dict[str, Any], *fields: str) -> dict[str, Any]:
        """Serve `item` without `fields`, as Threads does: no `text` on a photo or video reply
        without a caption, no `username` for an author who is not public (nor followed)."""
        if "text" in fields:
            item["media_type"] = "IMAGE"
        for name in fields:
            item.pop(name, None)
        return item

    def revoke(self) -> None:
        self.revoked = True

    def expire_tokens(self) -> None:
        for record in self.tokens.values():
            record["expires"] = self.clock() - timedelta(seconds=1)

    def _add(
        self,
        text: str,
        username: str,
        created_at: datetime | None,
        *,
        root: str | None,
        parent: str | None,
        mentions: bool = False,
    ) -> dict[str, Any]:
        number = self._next()
        item: dict[str, Any] = {
            "id": number,
            "text": text,
            "username": username,
            "timestamp": threads_time(created_at or self.now),
            "permalink": f"https://www.threads.net/@{username}/post/C{number[-8:]}",
            "media_type": "TEXT_POST",
            "is_reply": parent is not None,
            "hide_status": "NOT_HUSHED" if parent is not None else "HIDE_STATUS_UNSPECIFIED",
            "_root": root,
            "_mentions": mentions,
        }
        if root is not None:
            item["root_post"] = {"id": root}
        if parent is not None:
            item["replied_to"] = {"id": parent}
        self.posts[number] = item
        if root is not None:
            self.with_replies.add(root)
        if parent is not None:
            self.with_replies.add(parent)
        return item

    # -- helpers ---------------------------------------------------------------------------------

    def _auth(self, request: Recorded) -> Response | None:
        token = request.param("access_token")
        if not token:
            return graph_error(
                190, "An active access token must be used to query information about the current user."
            )
        record = self.tokens.get(token)
        if self.revoked or record is None:
            return graph_error(190, "Error validating access token: Session has been invalidated.")
        if record["expires"] <= self.clock():
            return graph_error(190, "Error validating access token: Session has expired.")
        return None

    @staticmethod
    def _unknown(fields: str | None, known: set[str]) -> Response | None:
        for name in (fields or "id").split(","):
            if name.strip() not in known:
                return graph_error(100, f"(#100) Tried accessing nonexisting field ({name.strip()})")
        return None

    def _public(self, item: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = set(fields.split(","))
        out = {k: v for k, v in item.items() if not k.startswith("_") and k in wanted}
        if "has_replies" in wanted:
            out["has_replies"] = item["id"] in self.with_replies
        out["id"] = item["id"]
        return out

    def _paged(self, request: Recorded, found: list[dict[str, Any]]) -> Response:
        fields = request.param("fields") or "id"
        refused = self._auth(request) or self._unknown(fields, MENTION_FIELDS)
        if refused:
            return refused
        try:
            limit = int(request.param("limit") or 25)
            offset = _offset(request.param("after"))
        except ValueError:
            return graph_error(100, "(#100) Invalid parameter")
        if not 1 <= limit <= 100:
            return graph_error(100, "(#100) The limit must be between 1 and 100")
        chunk = found[offset : offset + limit]
        body: dict[str, Any] = {"data": [self._public(i, fields) for i in chunk]}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
            if offset + len(chunk) < len(found):
                following = {k: v[0] for k, v in request.query.items() if k != "after"}
                following["after"] = _cursor(offset + len(chunk))
                body["paging"]["next"] = f"{self.url}{request.path}?{urlencode(following)}"
        return Response(200, body)

    @staticmethod
    def _newest_first(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(found, key=lambda p: (p["timestamp"], p["id"]), reverse=True)

    def _is_me(self, who: str) -> bool:
        return who in (self.profile["id"], "me")

    # -- routes ------------------------------------------------------------------------------------

    def _refresh(self, request: Recorded, match: re.Match[str]) -> Response:
        if request.param("grant_type") != "th_refresh_token":
            return graph_error(100, "(#100) grant_type must be th_refresh_token")
        refused = self._auth(request)
        if refused:
            return refused
        token = request.param("access_token") or ""
        if self.refusing_refresh:
            return graph_error(10, self.refusing_refresh, status=403)
        if self.clock() - self.tokens[token]["issued"] < timedelta(hours=24):
            return graph_error(
                100, "(#100) A long-lived token can be refreshed once it is at least 24 hours old"
            )
        fresh = f"th-refreshed-{self._next()}"
        issued = self.clock()
        self.tokens[fresh] = {"issued": issued, "expires": issued + LIFETIME}
        return Response(
            200, {"access_token": fresh, "token_type": "bearer", "expires_in": int(LIFETIME.total_seconds())}
        )

    def _get_object(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id, fields = match.group(2), request.param("fields") or "id"
        if self._is_me(object_id):
            return self._unknown(fields, PROFILE_FIELDS) or Response(
                200, {k: v for k, v in self.profile.items() if k in fields.split(",") or k == "id"}
            )
        if object_id in self.containers:
            container = self.containers[object_id]
            if container["status"] == "IN_PROGRESS" and container["checks"] >= self.slow_containers:
                container["status"] = "FINISHED"
            container["checks"] += 1
            return self._unknown(fields, CONTAINER_FIELDS) or Response(
                200, {k: v for k, v in container.items() if k in fields.split(",") or k == "id"}
            )
        if object_id in self.posts:
            return self._unknown(fields, MENTION_FIELDS) or Response(
                200, self._public(self.posts[object_id], fields)
            )
        return graph_error(100, f"Unsupported get request. Object with ID '{object_id}' does not exist")

    def _get_mentions(self, request: Recorded, match: re.Match[str]) -> Response:
        if not self._is_me(match.group(2)):
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        mine = self.profile["username"]
        found = [
            p
            for p in self.posts.values()
            if p["_mentions"] or (f"@{mine}" in p.get("text", "") and p.get("username") != mine)
        ]
        return self._paged(request, self._newest_first(found))

    def _get_threads(self, request: Recorded, match: re.Match[str]) -> Response:
        if not self._is_me(match.group(2)):
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        mine = self.profile["username"]
        found = [p for p in self.posts.values() if p.get("username") == mine and p["_root"] is None]
        return self._paged(request, self._newest_first(found))

    def _get_conversation(self, request: Recorded, match: re.Match[str]) -> Response:
        post = self.posts.get(match.group(2))
        if post is None:
            return self._auth(request) or graph_error(
                100, f"Object with ID '{match.group(2)}' does not exist"
            )
        found = self._newest_first([p for p in self.posts.values() if p["_root"] == post["id"]])
        if request.param("reverse") == "false":
            found.reverse()
        return self._paged(request, found)

    def _get_replies(self, request: Recorded, match: re.Match[str]) -> Response:
        """`/{user}/replies`: the profile's own replies; `/{media}/replies`: a post's direct replies."""
        if self._is_me(match.group(2)):
            mine = self.profile["username"]
            own = [p for p in self.posts.values() if p.get("username") == mine and p["_root"] is not None]
            return self._paged(request, self._newest_first(own))
        post = self.posts.get(match.group(2))
        if post is None:
            return self._auth(request) or graph_error(
                100, f"Object with ID '{match.group(2)}' does not exist"
            )
        found = self._newest_first(
            [p for p in self.posts.values() if p.get("replied_to", {}).get("id") == post["id"]]
        )
        if request.param("reverse") == "false":
            found.reverse()
        return self._paged(request, found)

    def _create_container(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        text = request.param("text") or ""
        reply_to = request.param("reply_to_id")
        if request.param("media_type") != "TEXT":
            return graph_error(100, "(#100) media_type must be TEXT for a text post")
        if not text.strip() or _threads_length(text) > 500:
            return graph_error(100, "(#100) The text must be between 1 and 500 characters")
        if reply_to is not None and reply_to not in self.posts:
            return graph_error(100, f"(#100) The post {reply_to} you are replying to does not exist")
        container = self._next()
        self.containers[container] = {
            "id": container,
            "status": "IN_PROGRESS" if self.slow_containers else "FINISHED",
            "checks": 0,
            "text": text,
            "reply_to_id": reply_to,
        }
        return Response(200, {"id": container})

    def _publish(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        container = self.containers.get(request.param("creation_id") or "")
        if container is None:
            return graph_error(100, "(#100) The creation_id does not name a media container")
        if container["status"] == "PUBLISHED":
            return graph_error(10, "(#10) This media container has already been published", status=400)
        if container["status"] != "FINISHED":
            return graph_error(24, "The media is not ready to be published. Please wait a moment.")
        parent = self.posts.get(container["reply_to_id"] or "")
        if parent is not None:
            item = self.add_reply(
                parent, container["text"], username=self.profile["username"], created_at=self.clock()
            )
        else:
            item = self.add_post(container["text"], created_at=self.clock())
        container["status"] = "PUBLISHED"
        self.published.append(
            {"reply_to_id": container["reply_to_id"], "text": container["text"], "id": item["id"]}
        )
        return Response(200, {"id": item["id"]})

    def _manage_reply(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        reply = self.posts.get(match.group(2))
        if reply is None:
            return graph_error(100, f"Object with ID '{match.group(2)}' does not exist")
        root = self.posts.get(reply["_root"] or "")
        if root is None or root["username"] != self.profile["username"]:
            return graph_error(10, "(#10) You can only hide replies to your own posts", status=403)
        if request.param("hide") not in ("true", "false"):
            return graph_error(100, "(#100) Param hide must be a boolean")
        reply["hide_status"] = "HIDDEN" if request.param("hide") == "true" else "UNHUSHED"
        if request.param("hide") == "true":
            self.hidden.append(reply["id"])
        return Response(200, {"success": True})


def _threads_length(text: str) -> int:
    """Meta's count: characters, an emoji as its UTF-8 bytes (a pictograph outside the BMP, or a
    sequence joined by ZWJ / variation selectors / skin tones, read loosely here)."""
    total = 0
    for char in text:
        total += len(char.encode("utf-8")) if ord(char) >= 0x1F000 or char in "\u200d\ufe0f" else 1
    return total
