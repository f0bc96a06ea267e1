"""A fake Facebook Graph API for one Page, speaking the real wire format to real facebook-sdk.

It serves the Page object, its posts (with `since`), each post's comments (`filter=stream`
includes replies to comments, `order=reverse_chronological`, cursor paging whose `next` URL
carries the access token, as Graph's does), and accepts `POST /{id}/comments` and
`POST /{id}/likes` from the Page token. Errors use Graph's `{"error": {...}}` shape.

    fake = FakeGraph().start()
    post = fake.add_post("Road closure on Main St today")
    comment = fake.add_comment(post, "Is the bridge open?", author="Jane Doe")
    ... connector under test talks to fake.url ...
    assert fake.comment_replies[0]["object_id"] == comment["id"]
"""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.support.fakes.server import FakeServer, Recorded, Response


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(code: int, message: str, *, status: int = 400, kind: str = "OAuthException") -> Response:
    return Response(
        status,
        {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}},
        headers={"www-authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'}
        if code == 190
        else {},
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))


class FakeGraph(FakeServer):
    """The Graph API as one Page and its Page access token see it."""

    def __init__(
        self,
        *,
        page_id: str = "104857600000001",
        page_name: str = "Agency Police",
        page_token: str = "fb-page-token",  # noqa: S107
        version: str = "v25.0",
        now: datetime | None = None,
    ) -> None:
        super().__init__()
        self.page = {"id": page_id, "name": page_name}
        self.page_token = page_token
        self.version = version
        self.now = now or datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # default created_time
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}  # id -> comment, with private "_post" key
        self.revoked = False
        self.comment_replies: list[dict[str, Any]] = []  # {"object_id", "message", "id"}
        self.likes: list[str] = []  # liked object ids
        self._serial = 0
        prefix = r"/(v\d+\.\d+)"
        self.route("GET", prefix + r"/(\d+)/posts", self._get_posts)
        self.route("GET", prefix + r"/([\d_]+)/comments", self._get_comments)
        self.route("POST", prefix + r"/([\d_]+)/comments", self._post_comment)
        self.route("POST", prefix + r"/([\d_]+)/likes", self._post_like)
        self.route("GET", prefix + r"/([\d_]+)", self._get_object)

    # -- test API ------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, str]:
        """What the Slack connect modal would collect for this Page."""
        return {"page_id": self.page["id"], "page_token": self.page_token}

    def _next(self) -> int:
        self._serial += 1
        return 900_000_000_000 + self._serial

    def add_post(
        self, message: str = "An update from the department", *, created_at: datetime | None = None
    ) -> dict[str, Any]:
        number = self._next()
        post = {
            "id": f"{self.page['id']}_{number}",
            "message": message,
            "created_time": graph_time(created_at or self.now),
            "permalink_url": f"https://www.facebook.com/{self.page['id']}/posts/{number}",
        }
        self.posts[post["id"]] = post
        return post

    def add_comment(
        self,
        post: dict[str, Any],
        message: str = "Thank you officers!",
        *,
        author: str = "Jane Doe",
        author_id: str | None = None,
        created_at: datetime | None = None,
        parent: dict[str, Any] | None = None,
        omit: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A comment on `post`, or a reply to the comment `parent` when given."""
        post_number = post["id"].split("_")[-1]
        comment: dict[str, Any] = {
            "id": f"{post_number}_{self._next()}",
            "message": message,
            "from": {"id": author_id or str(100_000_000 + zlib.crc32(author.encode())), "name": author},
            "created_time": graph_time(created_at or self.now),
        }
        comment["permalink_url"] = (
            f"https://www.facebook.com/{self.page['id']}/posts/{post_number}?comment_id={comment['id'].split('_')[1]}"
        )
        if parent is not None:
            comment["parent"] = {
                k: parent[k] for k in ("id", "message", "from", "created_time") if k in parent
            }
        for key in omit:
            comment.pop(key, None)
        stored = {**comment, "_post": post["id"], "_key": comment.get("id") or f"x{self._next()}"}
        self.comments[stored["_key"]] = stored
        return comment

    def add_page_comment(self, post: dict[str, Any], message: str, **kwargs: Any) -> dict[str, Any]:
        """A comment written by the Page itself (TwoWay must never ingest it)."""
        return self.add_comment(post, message, author=self.page["name"], author_id=self.page["id"], **kwargs)

    def revoke(self) -> None:
        """The Page token stops working (a page admin changed their password)."""
        self.revoked = True

    # -- helpers -------------------------------------------------------------------------

    def _auth(self, request: Recorded) -> Response | None:
        token = request.param("access_token")
        if token is None:
            return graph_error(104, "An access token is required to request this resource.")
        if self.revoked or token != self.page_token:
            return graph_error(
                190,
                "Error validating access token: The session has been invalidated because the user changed their password.",
            )
        return None

    @staticmethod
    def _pick(item: dict[str, Any], request: Recorded) -> dict[str, Any]:
        fields = (request.param("fields") or "id").split(",")
        return {k: v for k, v in item.items() if not k.startswith("_") and (k in fields or k == "id")}

    def _paged(self, request: Recorded, items: list[dict[str, Any]], path: str) -> Response:
        limit = min(int(request.param("limit") or 25), 100)
        offset = _offset(request.param("after"))
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {"data": [self._pick(i, request) for i in chunk]}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
            if offset + len(chunk) < len(items):
                query = {k: v[0] for k, v in request.query.items() if k != "after"}
                query["after"] = _cursor(offset + len(chunk))
                body["paging"]["next"] = f"{self.url}{path}?{urlencode(query)}"
        return Response(200, body)

    # -- routes --------------------------------------------------------------------------

    def _get_object(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        if object_id == self.page["id"]:
            return Response(200, self._pick(self.page, request))
        item = self.posts.get(object_id) or self.comments.get(object_id)
        if item is None:
            return graph_error(
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
            )
        return Response(200, self._pick(item, request))

    def _get_posts(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if match.group(2) != self.page["id"]:
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        since = int(request.param("since") or 0)
        posts = [
            p for p in self.posts.values() if datetime.fromisoformat(p["created_time"]).timestamp() >= since
        ]
        posts.sort(key=lambda p: (p["created_time"], p["id"]), reverse=True)
        return self._paged(request, posts, request.path)

    def _get_comments(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        stream = request.param("filter") == "stream"
        if object_id in self.posts:
            items = [
                c for c in self.comments.values() if c["_post"] == object_id and (stream or "parent" not in c)
            ]
        elif object_id in self.comments:
            items = [c for c in self.comments.values() if c.get("parent", {}).get("id") == object_id]
        else:
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        newest_first = request.param("order") == "reverse_chronological"
        items.sort(key=lambda c: (c.get("created_time", ""), c["_key"]), reverse=newest_first)
        return self._paged(request, items, request.path)

    def _post_comment(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        message = request.param("message") or ""
        if not message.strip():
            return graph_error(100, "(#100) The parameter message is required", kind="OAuthException")
        if object_id in self.posts:
            post, parent = self.posts[object_id], None
        elif object_id in self.comments:
            parent = self.comments[object_id]
            if "parent" in parent:
                return graph_error(
                    100, "(#100) Replies to a reply are not allowed: comment on the top-level comment"
                )
            post = self.posts[parent["_post"]]
        else:
            return graph_error(
                100,
                f"Unsupported post request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
            )
        comment = self.add_page_comment(post, message, parent=parent)
        self.comment_replies.append({"object_id": object_id, "message": message, "id": comment["id"]})
        return Response(200, {"id": comment["id"]})

    def _post_like(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        if object_id not in self.posts and object_id not in self.comments:
            return graph_error(100, "Unsupported post request.", kind="GraphMethodException")
        self.likes.append(object_id)
        return Response(200, {"success": True})
