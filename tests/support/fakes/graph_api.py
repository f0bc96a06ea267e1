"""A fake Facebook Graph API for one Page, speaking the real wire format to real facebook-sdk.

It serves the Page object (with field expansion of its `feed` and `tagged` edges, modifiers
such as `.since(...)` and `.limit(...)`), its feed (its own posts and visitor posts, each with
`updated_time`, which a new comment moves, as Graph does), its posts, the posts that tag it, each
post's comments (`filter=stream` includes replies to comments, `order=reverse_chronological`,
cursor paging whose `next` URL carries the access token, as Graph's does), and accepts
`POST /{id}/comments`, `POST /{id}/likes` and `POST /{comment-id}?is_hidden=true` from the Page
token. It is strict where Graph is: an unknown field is error 100, a missing token 104, a bad
token 190. Errors use Graph's `{"error": {...}}` shape; `rate_limited()` answers as Graph does
when a limit is hit, with its usage headers.

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


def rate_limited(code: int = 32) -> Response:
    """Graph's answer past a rate limit: code 4/17/32/613 and the usage header saying 100%."""
    usage = '{"call_count":100,"total_cputime":12,"total_time":14}'
    business = '{"104857600000001":[{"type":"pages","call_count":100,"total_cputime":9,"total_time":11,"estimated_time_to_regain_access":12}]}'
    response = graph_error(code, f"(#{code}) Page request limit reached", status=403)
    response.headers.update({"x-app-usage": usage, "x-business-use-case-usage": business})
    return response


POST_FIELDS = {"id", "message", "created_time", "updated_time", "permalink_url", "from", "story"}
COMMENT_FIELDS = {
    "id",
    "message",
    "from",
    "created_time",
    "parent",
    "permalink_url",
    "is_hidden",
    "attachment",
}
PAGE_FIELDS = {"id", "name", "instagram_business_account", "feed", "tagged", "posts"}


def split_fields(text: str) -> list[str]:
    """`a,b.limit(2){c,d},e` -> [`a`, `b.limit(2){c,d}`, `e`]: commas outside braces and parens."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_field(text: str) -> tuple[str, dict[str, str], str | None]:
    """`feed.since(5).limit(100){id,message}` -> ("feed", {"since": "5", "limit": "100"}, "id,message")."""
    match = re.fullmatch(r"([a-z_]+)((?:\.[a-z_]+\([^()]*\))*)(?:\{(.*)\})?", text, re.S)
    if match is None:
        raise ValueError(text)
    modifiers = dict(re.findall(r"\.([a-z_]+)\(([^()]*)\)", match.group(2) or ""))
    return match.group(1), modifiers, match.group(3)


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
        self.tagged: dict[str, dict[str, Any]] = {}  # posts elsewhere that tag the Page
        self.hidden: list[str] = []  # comment ids hidden by the Page
        self.comments: dict[str, dict[str, Any]] = {}  # id -> comment, with private "_post" key
        self.revoked = False
        # True: a `paging.next` that repeats neither the fields nor `since` of the request (for
        # an expanded edge Graph is not documented to repeat them).
        self.bare_next = False
        # "<object id>/<edge>" -> the most items of that edge Graph serves in one page; a larger
        # page is refused with code 1 "please reduce the amount of data", as Graph does for long
        # comments or heavy attachments.
        self.heavy: dict[str, int] = {}
        self.comment_replies: list[dict[str, Any]] = []  # {"object_id", "message", "id"}
        self.likes: list[str] = []  # liked object ids
        self._serial = 0
        prefix = r"/(v\d+\.\d+)"
        self.route("GET", prefix + r"/(\d+)/posts", self._get_posts)
        self.route("GET", prefix + r"/(\d+)/feed", self._get_feed)
        self.route("GET", prefix + r"/(\d+)/tagged", self._get_tagged)
        self.route("GET", prefix + r"/([\d_]+)/comments", self._get_comments)
        self.route("POST", prefix + r"/([\d_]+)/comments", self._post_comment)
        self.route("POST", prefix + r"/([\d_]+)/likes", self._post_like)
        self.route("GET", prefix + r"/([\d_]+)", self._get_object)
        self.route("POST", prefix + r"/([\d_]+)", self._post_object)

    # -- test API ------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, str]:
        """What the Slack connect modal would collect for this Page."""
        return {"page_id": self.page["id"], "page_token": self.page_token}

    def _next(self) -> int:
        self._serial += 1
        return 900_000_000_000 + self._serial

    def add_post(
        self,
        message: str = "An update from the department",
        *,
        created_at: datetime | None = None,
        author: str | None = None,
    ) -> dict[str, Any]:
        """A post on the Page: by the Page, or by a visitor when `author` is given."""
        number = self._next()
        stamp = graph_time(created_at or self.now)
        who = self._person(author) if author else dict(self.page)
        post = {
            "id": f"{self.page['id']}_{number}",
            "message": message,
            "created_time": stamp,
            "updated_time": stamp,
            "permalink_url": f"https://www.facebook.com/{self.page['id']}/posts/{number}",
            "from": who,
        }
        self.posts[post["id"]] = post
        return post

    def add_tagged_post(
        self, message: str, *, author: str = "Sam Roe", created_at: datetime | None = None
    ) -> dict[str, Any]:
        """Someone's post elsewhere that tags the Page. Graph sends a user's post without `from`
        to anyone but its author; its id starts with the author's id."""
        person = self._person(author)
        number = self._next()
        post = {
            "id": f"{person['id']}_{number}",
            "message": message,
            "created_time": graph_time(created_at or self.now),
            "permalink_url": f"https://www.facebook.com/{person['id']}/posts/{number}",
        }
        self.tagged[post["id"]] = post
        return post

    @staticmethod
    def _person(name: str) -> dict[str, str]:
        return {"id": str(100_000_000 + zlib.crc32(name.encode())), "name": name}

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
        photo: bool = False,
    ) -> dict[str, Any]:
        """A comment on `post`, or a reply to the comment `parent` when given; with `photo`, a
        photo comment (Graph's `attachment`), whose `message` is empty when nothing was typed."""
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
        if photo:
            comment["attachment"] = {
                "type": "photo",
                "url": f"https://www.facebook.com/photo.php?fbid={self._next()}",
                "media": {"image": {"height": 720, "width": 960, "src": "https://scontent.example/p.jpg"}},
            }
        if parent is not None:
            comment["parent"] = {
                k: parent[k] for k in ("id", "message", "from", "created_time") if k in parent
            }
        for key in omit:
            comment.pop(key, None)
        stored = {**comment, "_post": post["id"], "_key": comment.get("id") or f"x{self._next()}"}
        self.comments[stored["_key"]] = stored
        if "created_time" in comment and comment["created_time"] > post.get("updated_time", ""):
            post["updated_time"] = comment["created_time"]  # Graph moves it when someone comments
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
    def _pick(item: dict[str, Any], request: Recorded | str) -> dict[str, Any]:
        text = request if isinstance(request, str) else request.param("fields") or "id"
        fields = text.split(",")
        return {k: v for k, v in item.items() if not k.startswith("_") and (k in fields or k == "id")}

    @staticmethod
    def _unknown(fields: str | None, known: set[str]) -> Response | None:
        for name in (fields or "id").split(","):
            if name.strip() not in known:
                return graph_error(100, f"(#100) Tried accessing nonexisting field ({name.strip()})")
        return None

    def _paged(
        self,
        request: Recorded,
        items: list[dict[str, Any]],
        path: str,
        params: dict[str, str] | None = None,
    ) -> Response:
        """One page of `items`; `params` stand for the query when the edge was expanded as a field."""
        query = params if params is not None else {k: v[0] for k, v in request.query.items()}
        limit = min(int(query.get("limit") or 25), 100)
        edge = path.split("/", 2)[-1]  # "/v25.0/<id>/comments" -> "<id>/comments"
        if limit > self.heavy.get(edge, limit):
            return graph_error(
                1, "Please reduce the amount of data you're asking for, then retry your request", status=500
            )
        try:
            offset = _offset(query.get("after"))
        except ValueError:
            return graph_error(100, "(#100) The after cursor is invalid or has expired")
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {"data": [self._pick(i, query.get("fields") or "id") for i in chunk]}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
            if offset + len(chunk) < len(items):
                dropped = {"after", "fields", "since"} if self.bare_next else {"after"}
                following = {k: v for k, v in query.items() if k not in dropped}
                following["access_token"] = request.param("access_token") or ""
                following["after"] = _cursor(offset + len(chunk))
                body["paging"]["next"] = f"{self.url}{path}?{urlencode(following)}"
        return Response(200, body)

    def _feed_items(self, since: int) -> list[dict[str, Any]]:
        posts = [
            p for p in self.posts.values() if datetime.fromisoformat(p["created_time"]).timestamp() >= since
        ]
        posts.sort(key=lambda p: (p["created_time"], p["id"]), reverse=True)
        return posts

    def _tagged_items(self) -> list[dict[str, Any]]:
        return sorted(self.tagged.values(), key=lambda p: (p["created_time"], p["id"]), reverse=True)

    def _expanded_page(self, request: Recorded) -> Response:
        """`GET /{page}?fields=id,feed.limit(100){...},tagged{...}`: edges inside the object."""
        body: dict[str, Any] = {"id": self.page["id"]}
        try:
            parts = [parse_field(f) for f in split_fields(request.param("fields") or "id")]
        except ValueError as exc:
            return graph_error(100, f"(#100) Syntax error in the fields parameter near {exc}")
        for name, modifiers, sub in parts:
            if name not in PAGE_FIELDS:
                return graph_error(100, f"(#100) Tried accessing nonexisting field ({name})")
            if name in ("feed", "tagged", "posts"):
                unknown = self._unknown(sub, POST_FIELDS)
                if unknown:
                    return unknown
                params = {**modifiers, "fields": sub or "id"}
                if name == "tagged":
                    items = self._tagged_items()
                else:
                    items = self._feed_items(int(modifiers.get("since") or 0))
                    if name == "posts":
                        items = [p for p in items if p["from"]["id"] == self.page["id"]]
                path = f"/{self.version}/{self.page['id']}/{name}"
                page = self._paged(request, items, path, params)
                if page.status != 200:
                    return page  # Graph fails the whole request
                body[name] = page.body
            elif name in self.page:
                body[name] = self.page[name]
        return Response(200, body)

    # -- routes --------------------------------------------------------------------------

    def _get_object(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        if object_id == self.page["id"]:
            return self._expanded_page(request)
        if object_id in self.posts:
            unknown = self._unknown(request.param("fields"), POST_FIELDS)
            if unknown:
                return unknown
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
        posts = self._feed_items(int(request.param("since") or 0))
        return self._paged(request, [p for p in posts if p["from"]["id"] == self.page["id"]], request.path)

    def _get_feed(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request) or self._unknown(request.param("fields"), POST_FIELDS)
        if refused:
            return refused
        if match.group(2) != self.page["id"]:
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        return self._paged(request, self._feed_items(int(request.param("since") or 0)), request.path)

    def _get_tagged(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request) or self._unknown(request.param("fields"), POST_FIELDS)
        if refused:
            return refused
        if match.group(2) != self.page["id"]:
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        return self._paged(request, self._tagged_items(), request.path)

    def _get_comments(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request) or self._unknown(request.param("fields"), COMMENT_FIELDS)
        if refused:
            return refused
        object_id = match.group(2)
        stream = request.param("filter") == "stream"
        if object_id in self.posts:
            items = [
                c for c in self.comments.values() if c["_post"] == object_id and (stream or "parent" not in c)
            ]
        elif object_id in self.tagged:
            items = []
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
        elif object_id in self.tagged:
            post, parent = self.tagged[object_id], None
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

    def _post_object(self, request: Recorded, match: re.Match[str]) -> Response:
        """`POST /{comment-id}` with `is_hidden=true|false`: the Page hides a comment on its posts."""
        refused = self._auth(request)
        if refused:
            return refused
        object_id = match.group(2)
        comment = self.comments.get(object_id)
        hidden = request.param("is_hidden")
        if comment is None:
            return graph_error(100, f"Unsupported post request. Object with ID '{object_id}' does not exist")
        if hidden not in ("true", "false"):
            return graph_error(100, "(#100) Param is_hidden must be a boolean")
        if comment["from"]["id"] == self.page["id"]:
            return graph_error(100, "(#100) A Page cannot hide its own comment")
        comment["is_hidden"] = hidden == "true"
        if hidden == "true":
            self.hidden.append(object_id)
        return Response(200, {"success": True})
