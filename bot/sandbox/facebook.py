"""A simulated Facebook Page behind the Graph API, for TwoWay's real facebook-sdk connector.

It serves the Page, its posts (`since`, cursor paging whose `next` URL carries the token, as
Graph's does), each post's comments (`filter=stream` includes replies, newest first), and takes
`POST /{id}/comments` and `POST /{id}/likes` from the Page token. Threads are one level deep, as
on Facebook: a reply to a reply sits under the first comment.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr

from bot.sandbox.feed import ACCOUNT_POSTS, Item
from bot.sandbox.platforms import AGENCY_NAME, Post, Timeline
from bot.sandbox.web import Request, Response, Router

PAGE_ID = "104857600000001"
VERSION = "v25.0"


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _error(code: int, message: str, kind: str = "OAuthException") -> Response:
    return Response(
        400, {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "ASandbox"}}
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        return 0


class SimulatedFacebook:
    key = "facebook"
    label = "Facebook"

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.page = {"id": PAGE_ID, "name": AGENCY_NAME}
        self.token = secrets.token_urlsafe(32)
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}  # id -> comment, with a private "_post"
        self.by_key: dict[str, str] = {}
        self.base_url = ""
        self.prefix = ""
        self.lock = threading.RLock()
        self._serial = 0

    # -- what the sandbox asks of a platform ----------------------------------------------------

    def mount(self, router: Router, prefix: str) -> None:
        self.prefix = prefix
        version = r"/(v\d+\.\d+)"
        router.route("GET", prefix + version + r"/(\d+)/(?:posts|feed)", self._get_posts)
        router.route("GET", prefix + version + r"/(\d+)/tagged", self._get_tagged)
        router.route("GET", prefix + version + r"/([\d_]+)/comments", self._get_comments)
        router.route("POST", prefix + version + r"/([\d_]+)/comments", self._post_comment)
        router.route("POST", prefix + version + r"/([\d_]+)/likes", self._post_like)
        router.route("GET", prefix + version + r"/([\d_]+)", self._get_object)
        router.route("POST", prefix + version + r"/([\d_]+)", self._hide_comment)

    def settings(self, base_url: str) -> dict[str, Any]:
        self.base_url = base_url
        return {
            "facebook_graph_url": base_url,
            "facebook_graph_version": VERSION,
            "facebook_page_id": PAGE_ID,
            "facebook_page_token": SecretStr(self.token),
        }

    def publish(self, item: Item, at: datetime) -> None:
        with self.lock:
            parent = self.comments.get(self.by_key.get(item.reply_to, "")) if item.reply_to else None
            if parent is not None and "parent" in parent:
                parent = self.comments[parent["parent"]["id"]]  # Facebook keeps threads one level deep
            post = self.posts[parent["_post"]] if parent else self._page_post(item.on or "fb-roadwork", at)
            comment = self._add_comment(post, item.text, author=item.author, at=at, parent=parent)
            if item.key:
                self.by_key[item.key] = comment["id"]

    # -- the posts ------------------------------------------------------------------------------

    def _next(self) -> int:
        self._serial += 1
        return 900_000_000_000 + self._serial

    def _page_post(self, key: str, at: datetime) -> dict[str, Any]:
        if key in self.by_key:
            return self.posts[self.by_key[key]]
        _platform, text, age = ACCOUNT_POSTS.get(key, ("facebook", "An update from the department", 60))
        created = min(at, datetime.now(UTC)) - timedelta(minutes=age)
        number = self._next()
        post = {
            "id": f"{PAGE_ID}_{number}",
            "message": text,
            "created_time": graph_time(created),
            "updated_time": graph_time(created),
            "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{number}",
        }
        self.posts[post["id"]] = post
        self.by_key[key] = post["id"]
        self.timeline.add(
            Post(id=post["id"], author=AGENCY_NAME, handle="", text=text, created=created, by_account=True)
        )
        return post

    def _add_comment(
        self,
        post: dict[str, Any],
        message: str,
        *,
        author: str,
        at: datetime,
        parent: dict[str, Any] | None = None,
        via_api: bool = False,
    ) -> dict[str, Any]:
        post_number = post["id"].split("_")[-1]
        author_id = PAGE_ID if author == AGENCY_NAME else str(100_000_000 + zlib.crc32(author.encode()))
        comment: dict[str, Any] = {
            "id": f"{post_number}_{self._next()}",
            "message": message,
            "from": {"id": author_id, "name": author},
            "created_time": graph_time(at),
        }
        comment["permalink_url"] = (
            f"https://www.facebook.com/{PAGE_ID}/posts/{post_number}?comment_id={comment['id'].split('_')[1]}"
        )
        if parent is not None:
            comment["parent"] = {k: parent[k] for k in ("id", "message", "from", "created_time")}
        self.comments[comment["id"]] = {**comment, "_post": post["id"]}
        post["updated_time"] = max(post.get("updated_time", comment["created_time"]), comment["created_time"])
        self.timeline.add(
            Post(
                id=comment["id"],
                author=author,
                handle="",
                text=message,
                created=at,
                parent=parent["id"] if parent else post["id"],
                by_account=author_id == PAGE_ID,
                via_api=via_api,
            )
        )
        return comment

    # -- helpers --------------------------------------------------------------------------------

    def _auth(self, request: Request) -> Response | None:
        token = request.arg("access_token") or str(request.form().get("access_token") or "")
        if not token:
            return _error(104, "An access token is required to request this resource.")
        if not secrets.compare_digest(token, self.token):
            return _error(190, "Error validating access token: Invalid OAuth access token.")
        return None

    @staticmethod
    def _pick(item: dict[str, Any], request: Request) -> dict[str, Any]:
        fields = (request.arg("fields") or "id").split(",")
        return {k: v for k, v in item.items() if not k.startswith("_") and (k in fields or k == "id")}

    def _paged(self, request: Request, items: list[dict[str, Any]]) -> Response:
        limit = max(1, min(int(request.arg("limit") or 25), 100))
        offset = _offset(request.arg("after"))
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {"data": [self._pick(i, request) for i in chunk]}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
            if offset + len(chunk) < len(items):
                query = {k: v[0] for k, v in request.query.items() if k != "after"}
                query["after"] = _cursor(offset + len(chunk))
                body["paging"]["next"] = (
                    f"{self.base_url}{request.path.removeprefix(self.prefix)}?{urlencode(query)}"
                )
        return Response(200, body)

    # -- routes ---------------------------------------------------------------------------------

    def _get_object(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        with self.lock:
            item = (
                self.page
                if object_id == PAGE_ID
                else self.posts.get(object_id) or self.comments.get(object_id)
            )
        if item is None:
            return _error(
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                "GraphMethodException",
            )
        if object_id == PAGE_ID:
            return Response(200, self._page_with_edges(request))
        return Response(200, self._pick(item, request))

    def _page_with_edges(self, request: Request) -> dict[str, Any]:
        """The Page, with `feed` and `tagged` expanded as Graph does for
        `fields=id,name,feed.since(T).limit(N){...},tagged.limit(N){...}` (an empty edge is left out)."""
        body: dict[str, Any] = {"id": PAGE_ID}
        for field in _top_level(request.arg("fields") or "id"):
            name, modifiers, subfields = _expansion(field)
            if name == "name":
                body["name"] = self.page["name"]
            elif name in ("feed", "posts"):
                since = int(modifiers.get("since", "0"))
                edge = self._edge(self._posts_since(since), int(modifiers.get("limit", "25")), subfields)
                if edge["data"]:
                    body[name] = edge
        return body

    def _edge(self, items: list[dict[str, Any]], limit: int, subfields: list[str]) -> dict[str, Any]:
        chunk = items[:limit]
        fields = set(subfields) | {"id"}
        edge: dict[str, Any] = {"data": [{k: v for k, v in i.items() if k in fields} for i in chunk]}
        if len(items) > limit:
            query = {
                "access_token": self.token,
                "limit": str(limit),
                "fields": ",".join(subfields),
                "after": _cursor(limit),
            }
            edge["paging"] = {
                "cursors": {"before": _cursor(0), "after": _cursor(limit)},
                "next": f"{self.base_url}/{VERSION}/{PAGE_ID}/feed?{urlencode(query)}",
            }
        return edge

    def _posts_since(self, since: int) -> list[dict[str, Any]]:
        with self.lock:
            posts = [
                p
                for p in self.posts.values()
                if datetime.fromisoformat(p["created_time"]).timestamp() >= since
            ]
        posts.sort(key=lambda p: (p["created_time"], p["id"]), reverse=True)
        return posts

    def _get_tagged(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        return self._paged(request, [])  # nobody tags the simulated Page

    def _get_posts(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if match.group(2) != PAGE_ID:
            return _error(100, "Unsupported get request.", "GraphMethodException")
        return self._paged(request, self._posts_since(int(request.arg("since") or 0)))

    def _get_comments(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        stream = request.arg("filter") == "stream"
        with self.lock:
            if object_id in self.posts:
                items = [
                    c
                    for c in self.comments.values()
                    if c["_post"] == object_id and (stream or "parent" not in c)
                ]
            elif object_id in self.comments:
                items = [c for c in self.comments.values() if c.get("parent", {}).get("id") == object_id]
            else:
                return _error(100, "Unsupported get request.", "GraphMethodException")
        items.sort(
            key=lambda c: (c["created_time"], c["id"]),
            reverse=request.arg("order") == "reverse_chronological",
        )
        return self._paged(request, items)

    def _post_comment(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        message = str(request.args().get("message") or "")
        if not message.strip():
            return _error(100, "(#100) The parameter message is required")
        with self.lock:
            if object_id in self.posts:
                post, parent = self.posts[object_id], None
            elif object_id in self.comments:
                parent = self.comments[object_id]
                if "parent" in parent:
                    return _error(
                        100, "(#100) Replies to a reply are not allowed: comment on the top-level comment"
                    )
                post = self.posts[parent["_post"]]
            else:
                return _error(
                    100,
                    f"Unsupported post request. Object with ID '{object_id}' does not exist",
                    "GraphMethodException",
                )
            comment = self._add_comment(
                post, message, author=AGENCY_NAME, at=datetime.now(UTC), parent=parent, via_api=True
            )
        return Response(200, {"id": comment["id"]})

    def _post_like(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if not self.timeline.like(match.group(2)):
            return _error(100, "Unsupported post request.", "GraphMethodException")
        return Response(200, {"success": True})

    def _hide_comment(self, request: Request, match: re.Match[str]) -> Response:
        """`POST /{comment}?is_hidden=true`: the card's Hide button (only its author still sees it)."""
        refused = self._auth(request)
        if refused:
            return refused
        hidden = str(request.args().get("is_hidden") or "")
        with self.lock:
            comment = self.comments.get(match.group(2))
            if comment is None:
                return _error(100, "Unsupported post request.", "GraphMethodException")
            if hidden not in ("true", "false"):
                return _error(100, "(#100) Param is_hidden must be a boolean")
            comment["_hidden"] = hidden == "true"  # private: not a field the page shows
        return Response(200, {"success": True})


def _top_level(fields: str) -> list[str]:
    """`a,b.limit(2){c,d},e` -> ["a", "b.limit(2){c,d}", "e"]: commas inside braces stay."""
    parts, depth, current = [], 0, ""
    for char in fields:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def _expansion(field: str) -> tuple[str, dict[str, str], list[str]]:
    """`feed.since(1).limit(25){id,message}` -> ("feed", {"since": "1", "limit": "25"}, ["id", "message"])."""
    head, _, inner = field.partition("{")
    name, *calls = head.split(".")
    modifiers = {}
    for call in calls:
        key, _, value = call.partition("(")
        modifiers[key] = value.rstrip(")")
    return name, modifiers, [f.strip() for f in inner.rstrip("}").split(",") if f.strip()]
