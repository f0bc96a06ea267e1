"""A fake Instagram Graph API: the Graph host of `FakeGraph`, with the Page's Instagram account.

Instagram's endpoints share Facebook's host and the Page token, so this is `FakeGraph` plus
the professional account linked to the Page (`GET /{page}?fields=instagram_business_account`),
its media (`GET /{ig-user}/media`, newest first, with `comments_count`), each media's comments
newest first with their `replies` expanded as a paged edge (oldest first; only the first
`reply_page` replies inline, with `paging.next` when there are more, or `replies.limit(n)`),
`GET /{comment}/replies` (the rest of a thread, `after` cursors), `POST /{comment}/replies`
(top-level comments only, as Instagram allows) and `POST /{comment}?hide=true`. It is as strict
as Graph: unknown fields and expired cursors are error 100, a bad token 190.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tests.support.fakes.graph_api import FakeGraph, graph_error, graph_time, parse_field, split_fields
from tests.support.fakes.server import Recorded, Response

MEDIA_FIELDS = {"id", "caption", "timestamp", "permalink", "comments_count", "media_type"}
COMMENT_FIELDS = {"id", "text", "timestamp", "username", "from", "hidden", "replies", "like_count"}
REPLY_FIELDS = COMMENT_FIELDS - {"replies"}
REPLY_PAGE = 25  # replies of a comment expanded inline, when the field sets no limit


def ig_time(moment: datetime) -> str:
    return graph_time(moment)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class FakeInstagram(FakeGraph):
    """`FakeGraph` whose Page has an Instagram professional account (or none: `linked=False`)."""

    def __init__(
        self,
        *,
        ig_id: str = "17841400000000001",
        username: str = "agencypolice",
        linked: bool = True,
        reply_page: int = REPLY_PAGE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.reply_page = reply_page
        self.ig = {"id": ig_id, "username": username, "name": "Agency Police"}
        if linked:
            self.page["instagram_business_account"] = {"id": ig_id}
        self.media: dict[str, dict[str, Any]] = {}
        self.ig_comments: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[dict[str, Any]]] = {}  # comment id -> its replies (an index)
        self.ig_replies: list[dict[str, Any]] = []  # {"object_id", "message", "id"}
        self.ig_hidden: list[str] = []
        prefix = r"/(v\d+\.\d+)"
        # Before FakeGraph's catch-all routes: matched in order of registration.
        self.route("POST", prefix + r"/(\d+)/replies", self._post_reply)
        self.routes.insert(0, self.routes.pop())
        self.route("GET", prefix + r"/(\d+)/replies", self._get_replies)
        self.routes.insert(0, self.routes.pop())
        self.route("GET", prefix + r"/(\d+)/media", self._get_media)
        self.routes.insert(0, self.routes.pop())

    # -- test API ------------------------------------------------------------------------

    def add_media(
        self, caption: str = "Meet our new K9 unit", *, created_at: datetime | None = None
    ) -> dict[str, Any]:
        number = str(18_000_000_000_000_000 + self._next())
        media = {
            "id": number,
            "caption": caption,
            "timestamp": ig_time(created_at or self.now),
            "permalink": f"https://www.instagram.com/p/C{number[-8:]}/",
            "comments_count": 0,
            "media_type": "IMAGE",
        }
        self.media[number] = media
        return media

    def add_ig_comment(
        self,
        media: dict[str, Any],
        text: str = "Love this!",
        *,
        username: str = "jane.doe",
        created_at: datetime | None = None,
        parent: dict[str, Any] | None = None,
        own: bool = False,
    ) -> dict[str, Any]:
        number = str(17_900_000_000_000_000 + self._next())
        who = self.ig["username"] if own else username
        comment = {
            "id": number,
            "text": text,
            "timestamp": ig_time(created_at or self.now),
            "username": who,
            "from": {"id": self.ig["id"] if own else str(abs(hash(who)) % 10**15), "username": who},
            "hidden": False,
            "_media": media["id"],
            "_parent": parent["id"] if parent else None,
        }
        self.ig_comments[number] = comment
        if parent:
            self.children.setdefault(parent["id"], []).append(comment)
        media["comments_count"] += 1
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    # -- routes --------------------------------------------------------------------------

    def _replies(self, comment_id: str) -> list[dict[str, Any]]:
        """A comment's replies, oldest first (deleted ones are gone from `ig_comments`)."""
        replies = [r for r in self.children.get(comment_id, []) if r["id"] in self.ig_comments]
        return sorted(replies, key=lambda c: (c["timestamp"], c["id"]))

    def _thread(self, request: Recorded, comment: dict[str, Any], fields: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in split_fields(fields):
            name, modifiers, sub = parse_field(part)
            if name == "replies":
                replies = self._replies(comment["id"])
                if replies:  # a paged edge: its first page inline, `paging.next` for the rest
                    params = {"fields": sub or "id", "limit": modifiers.get("limit") or str(self.reply_page)}
                    path = f"/{self.version}/{comment['id']}/replies"
                    inline = self._paged(request, replies, path, params)
                    if inline.status != 200:
                        raise _Refused(inline)  # Graph fails the whole request
                    out["replies"] = inline.body
            elif name in comment:
                out[name] = comment[name]
        out["id"] = comment["id"]
        return out

    def _get_object(self, request: Recorded, match: re.Match[str]) -> Response:
        object_id = match.group(2)
        if object_id == self.ig["id"]:
            refused = self._auth(request)
            if refused:
                return refused
            return Response(200, self._pick(self.ig, request))
        if object_id in self.media:
            refused = self._auth(request) or self._unknown(request.param("fields"), MEDIA_FIELDS)
            return refused or Response(200, self._pick(self.media[object_id], request))
        return super()._get_object(request, match)

    def _get_media(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request) or self._unknown(request.param("fields"), MEDIA_FIELDS)
        if refused:
            return refused
        if match.group(2) != self.ig["id"]:
            return graph_error(100, "Unsupported get request.", kind="GraphMethodException")
        media = sorted(self.media.values(), key=lambda m: (m["timestamp"], m["id"]), reverse=True)
        return self._paged(request, media, request.path)

    def _get_comments(self, request: Recorded, match: re.Match[str]) -> Response:
        media_id = match.group(2)
        if media_id not in self.media:
            return super()._get_comments(request, match)
        fields = request.param("fields") or "id"
        refused = self._auth(request)
        if refused:
            return refused
        for part in split_fields(fields):
            name, _modifiers, sub = parse_field(part)
            if name not in COMMENT_FIELDS:
                return graph_error(100, f"(#100) Tried accessing nonexisting field ({part})")
            if name == "replies" and sub:
                unknown = self._unknown(sub, REPLY_FIELDS)
                if unknown:
                    return unknown
        top = [c for c in self.ig_comments.values() if c["_media"] == media_id and c["_parent"] is None]
        top.sort(key=lambda c: (c["timestamp"], c["id"]), reverse=True)
        page = self._paged(request, top, request.path)
        if isinstance(page.body, dict) and "data" in page.body:
            try:
                page.body["data"] = [
                    self._thread(request, self.ig_comments[c["id"]], fields) for c in page.body["data"]
                ]
            except _Refused as refused:
                return refused.response
        return page

    def _get_replies(self, request: Recorded, match: re.Match[str]) -> Response:
        """`GET /{comment}/replies`: a top-level comment's replies, oldest first, paged."""
        refused = self._auth(request) or self._unknown(request.param("fields"), REPLY_FIELDS)
        if refused:
            return refused
        comment = self.ig_comments.get(match.group(2))
        if comment is None:
            return graph_error(
                100,
                f"Unsupported get request. Object with ID '{match.group(2)}' does not exist",
                kind="GraphMethodException",
            )
        return self._paged(request, self._replies(comment["id"]), request.path)

    def _post_reply(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        comment = self.ig_comments.get(match.group(2))
        message = request.param("message") or ""
        if comment is None:
            return graph_error(
                100, f"Unsupported post request. Object with ID '{match.group(2)}' does not exist"
            )
        if comment["_parent"] is not None:
            return graph_error(100, "(#100) Replies can only be made to top-level comments")
        if not message.strip():
            return graph_error(100, "(#100) The parameter message is required")
        media = self.media[comment["_media"]]
        reply = self.add_ig_comment(media, message, parent=comment, own=True)
        self.ig_replies.append({"object_id": comment["id"], "message": message, "id": reply["id"]})
        return Response(200, {"id": reply["id"]})

    def _post_object(self, request: Recorded, match: re.Match[str]) -> Response:
        comment = self.ig_comments.get(match.group(2))
        if comment is None:
            return super()._post_object(request, match)
        refused = self._auth(request)
        if refused:
            return refused
        if request.param("hide") not in ("true", "false"):
            return graph_error(100, "(#100) Param hide must be a boolean")
        comment["hidden"] = request.param("hide") == "true"
        if comment["hidden"]:
            self.ig_hidden.append(comment["id"])
        return Response(200, {"success": True})
