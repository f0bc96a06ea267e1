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
        router.route("GET", prefix + version + r"/(\d+)/posts", self._get_posts)
        router.route("GET", prefix + version + r"/([\d_]+)/comments", self._get_comments)
        router.route("POST", prefix + version + r"/([\d_]+)/comments", self._post_comment)
        router.route("POST", prefix + version + r"/([\d_]+)/likes", self._post_like)
        router.route("GET", prefix + version + r"/([\d_]+)", self._get_object)

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
        return Response(200, self._pick(item, request))

    def _get_posts(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if match.group(2) != PAGE_ID:
            return _error(100, "Unsupported get request.", "GraphMethodException")
        since = int(request.arg("since") or 0)
        with self.lock:
            posts = [
                p
                for p in self.posts.values()
                if datetime.fromisoformat(p["created_time"]).timestamp() >= since
            ]
        posts.sort(key=lambda p: (p["created_time"], p["id"]), reverse=True)
        return self._paged(request, posts)

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
