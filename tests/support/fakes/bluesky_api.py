"""A fake Bluesky service (PDS and AppView in one) speaking XRPC to the real `atproto` client.

It serves what TwoWay calls, as strictly as the lexicons and the reference PDS: `createSession`
with an app password (access token 2 hours, refresh token 60 days, JWTs with `exp`, and never a
`didDoc`, which would send the client to the host it names; at most 30 logins per 5 minutes, then
429 with the `ratelimit-*` headers), `refreshSession` (a new pair; the old refresh token is
revoked at once), `app.bsky.actor.getProfile`, `app.bsky.notification.listNotifications`
(`reasons` filter, `limit` 1..100, opaque cursors, newest first), `app.bsky.feed.getPosts`
(25 URIs at most) and `com.atproto.repo.createRecord` for posts (300 graphemes at most; a reply
must name a root and a parent that exist, each by uri and cid) and likes. Expired tokens are
400 `ExpiredToken`, revoked or unknown ones 401; `revoke_app_password()` refuses the password and
every session made with it.

    fake = FakeBluesky().start()
    post = fake.add_post("Road closure on Main St today")             # by the account
    reply = fake.add_reply(post, "Is the bridge open?", handle="jane.bsky.social")
    ... BlueskyConnector(service_url=fake.url, handle=fake.handle, app_password=fake.app_password) ...
    assert fake.posted[0]["record"]["reply"]["parent"]["uri"] == reply["uri"]
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import regex

from tests.support.fakes.server import FakeServer, Recorded, Response

ACCESS_LIFETIME = timedelta(hours=2)
REFRESH_LIFETIME = timedelta(days=60)
LOGINS_PER_WINDOW = 30
LOGIN_WINDOW = 300  # seconds
REASONS = {"like", "repost", "follow", "mention", "reply", "quote"}


def bsky_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": error, "message": message}, headers=headers or {})


def rate_limited(reset: int | None = None, limit: int = 3000, window: int = 300) -> Response:
    """The service past a limit: 429 `RateLimitExceeded` with its `ratelimit-*` headers."""
    reset = reset if reset is not None else int(time.time()) + window
    return xrpc_error(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{limit};w={window}",
        },
    )


def graphemes(text: str) -> int:
    """As the PDS counts: extended grapheme clusters (UAX #29, as `Intl.Segmenter` does)."""
    return len(regex.findall(r"\X", unicodedata.normalize("NFC", text)))


def _jwt(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.{secrets.token_urlsafe(32)}"


class FakeBluesky(FakeServer):
    """One account (with its app password) and the people who talk to it."""

    def __init__(
        self,
        *,
        handle: str = "agencypolice.bsky.social",
        app_password: str = "abcd-efgh-ijkl-mnop",  # noqa: S107
        did: str = "did:plc:agencypolice00000000000",
        now: datetime | None = None,
        access_lifetime: timedelta = ACCESS_LIFETIME,
    ) -> None:
        super().__init__()
        self.handle, self.app_password, self.did = handle, app_password, did
        self.display_name = "Agency Police"
        self.now = now or datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # default post time
        self.access_lifetime = access_lifetime
        self.people: dict[str, dict[str, str]] = {}  # handle -> profile
        self.posts: dict[str, dict[str, Any]] = {}  # uri -> {"uri", "cid", "author", "record", "indexedAt"}
        self.gated: set[str] = set()  # posts whose author does not let the account reply
        self.notifications: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []  # createRecord bodies for posts, with the new uri
        self.likes: list[dict[str, Any]] = []
        self.access: dict[str, dict[str, Any]] = {}  # token -> {"exp", "revoked"}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.logins: list[float] = []  # when each createSession was accepted
        self.password_revoked = False
        self._serial = 0
        x = "/xrpc/"
        self.route("POST", x + r"com\.atproto\.server\.createSession", self._create_session)
        self.route("POST", x + r"com\.atproto\.server\.refreshSession", self._refresh_session)
        self.route("GET", x + r"app\.bsky\.actor\.getProfile", self._get_profile)
        self.route("GET", x + r"app\.bsky\.notification\.listNotifications", self._list_notifications)
        self.route("GET", x + r"app\.bsky\.feed\.getPosts", self._get_posts)
        self.route("POST", x + r"com\.atproto\.repo\.createRecord", self._create_record)

    # -- test API ------------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, str]:
        return {"handle": self.handle, "app_password": self.app_password}

    def person(self, handle: str, name: str = "") -> dict[str, str]:
        if handle not in self.people:
            did = "did:plc:" + base64.b32encode(handle.encode()).decode().lower().rstrip("=")[:24].ljust(
                24, "a"
            )
            self.people[handle] = {
                "did": did,
                "handle": handle,
                "displayName": name or handle.split(".")[0].title(),
            }
        return self.people[handle]

    def me(self) -> dict[str, str]:
        return {"did": self.did, "handle": self.handle, "displayName": self.display_name}

    def _tid(self) -> str:
        self._serial += 1
        return f"3l{self._serial:011d}"

    def add_post(
        self, text: str = "An update from the department", *, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """A post by the account itself."""
        return self._store(self.me(), {"$type": "app.bsky.feed.post", "text": text}, created_at)

    def add_reply(
        self,
        to: dict[str, Any],
        text: str = "Thank you officers!",
        *,
        handle: str = "jane.bsky.social",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A reply to `to`; notifies the account when `to` is the account's post."""
        root = to["record"].get("reply", {}).get("root") or {"uri": to["uri"], "cid": to["cid"]}
        record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "reply": {"root": root, "parent": {"uri": to["uri"], "cid": to["cid"]}},
        }
        post = self._store(self.person(handle), record, created_at)
        if to["author"]["did"] == self.did:
            self._notify(post, "reply", to["uri"])
        return post

    def add_mention(
        self,
        text: str = "@agencypolice.bsky.social thank you",
        *,
        handle: str = "sam.bsky.social",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        post = self._store(self.person(handle), {"$type": "app.bsky.feed.post", "text": text}, created_at)
        self._notify(post, "mention", None)
        return post

    def add_quote(
        self,
        of: dict[str, Any],
        text: str = "Worth reading",
        *,
        handle: str = "kim.bsky.social",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "embed": {"$type": "app.bsky.embed.record", "record": {"uri": of["uri"], "cid": of["cid"]}},
        }
        post = self._store(self.person(handle), record, created_at)
        self._notify(post, "quote", of["uri"])
        return post

    def add_like_notification(self, of: dict[str, Any], handle: str = "fan.bsky.social") -> None:
        """A like of the account's post: a notification TwoWay must not ask for."""
        like = {"uri": f"at://{self.person(handle)['did']}/app.bsky.feed.like/{self._tid()}", "cid": self._cid(),
                "author": self.person(handle), "record": {"$type": "app.bsky.feed.like", "subject": {"uri": of["uri"], "cid": of["cid"]}, "createdAt": bsky_time(self.now)},
                "indexedAt": bsky_time(self.now)}  # fmt: skip
        self.notifications.append(
            {**like, "reason": "like", "reasonSubject": of["uri"], "isRead": False, "labels": []}
        )

    @staticmethod
    def link(post: dict[str, Any], shown: str, uri: str) -> dict[str, Any]:
        """Make `shown`, part of the post's text, a link to `uri` as the app does: a facet over
        its UTF-8 bytes (the app writes a long link shortened, "youtube.com/watch?v=dQw4...")."""
        text = post["record"]["text"]
        start = len(text[: text.index(shown)].encode())
        facet = {
            "$type": "app.bsky.richtext.facet",
            "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        }
        post["record"].setdefault("facets", []).append(facet)
        return post

    def gate(self, post: dict[str, Any]) -> None:
        """The author's threadgate leaves the account out: Bluesky would still store its reply,
        and hide it, and tells a reader beforehand with the post's `viewer.replyDisabled`."""
        self.gated.add(post["uri"])

    def delete(self, post: dict[str, Any]) -> None:
        self.posts.pop(post["uri"], None)

    def revoke_app_password(self) -> None:
        self.password_revoked = True
        for table in (self.access, self.refresh):
            for record in table.values():
                record["revoked"] = True

    def expire_access_tokens(self) -> None:
        for record in self.access.values():
            record["exp"] = int(time.time()) - 1

    # -- storage ---------------------------------------------------------------------------------

    def _cid(self) -> str:
        return "bafyrei" + base64.b32encode(secrets.token_bytes(32)).decode().lower().rstrip("=")

    def _store(
        self, author: dict[str, str], record: dict[str, Any], created_at: datetime | None
    ) -> dict[str, Any]:
        moment = created_at or self.now
        record = {**record, "createdAt": bsky_time(moment)}
        uri = f"at://{author['did']}/app.bsky.feed.post/{self._tid()}"
        post = {
            "uri": uri,
            "cid": self._cid(),
            "author": dict(author),
            "record": record,
            "indexedAt": bsky_time(moment),
        }
        self.posts[uri] = post
        return post

    def _notify(self, post: dict[str, Any], reason: str, subject: str | None) -> None:
        notification = {**post, "reason": reason, "isRead": False, "labels": []}
        if subject:
            notification["reasonSubject"] = subject
        self.notifications.append(notification)

    # -- auth ------------------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        now = int(time.time())
        access = _jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": self.did,
                "iat": now,
                "exp": now + int(self.access_lifetime.total_seconds()),
            }
        )
        refresh = _jwt({"scope": "com.atproto.refresh", "sub": self.did, "iat": now, "exp": now + int(REFRESH_LIFETIME.total_seconds()), "jti": secrets.token_hex(8)})  # fmt: skip
        self.access[access] = {"exp": now + int(self.access_lifetime.total_seconds()), "revoked": False}
        self.refresh[refresh] = {"exp": now + int(REFRESH_LIFETIME.total_seconds()), "revoked": False}
        # No didDoc: the client would follow the PDS it names, away from this fake.
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": self.did,
            "active": True,
        }

    def _bearer(self, request: Recorded, table: dict[str, dict[str, Any]]) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return xrpc_error(401, "AuthMissing", "Authentication Required")
        record = table.get(header.removeprefix("Bearer "))
        if record is None or record["revoked"]:
            return xrpc_error(401, "InvalidToken", "Token has been revoked")
        if record["exp"] <= time.time():
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        return None

    def _create_session(self, request: Recorded, match: re.Match[str]) -> Response:
        body = request.json or {}
        identifier, password = body.get("identifier"), body.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            return xrpc_error(400, "InvalidRequest", 'Input must have the property "identifier"')
        now = time.time()
        recent = [t for t in self.logins if now - t < LOGIN_WINDOW]
        if len(recent) >= LOGINS_PER_WINDOW:
            reset = int(min(recent) + LOGIN_WINDOW)
            return rate_limited(reset=reset, limit=LOGINS_PER_WINDOW, window=LOGIN_WINDOW)
        known = identifier.lower().removeprefix("@") in (self.handle, self.did)
        if not known or password != self.app_password or self.password_revoked:
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.logins.append(now)
        return Response(200, self._issue())

    def _refresh_session(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._bearer(request, self.refresh)
        if refused:
            return refused
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.refresh[token]["revoked"] = True  # a refresh token is good for one refresh only
        return Response(200, self._issue())

    # -- reads -----------------------------------------------------------------------------------

    def _get_profile(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._bearer(request, self.access)
        if refused:
            return refused
        actor = request.param("actor")
        profiles = [self.me(), *self.people.values()]
        found = next((p for p in profiles if actor in (p["did"], p["handle"])), None)
        if found is None:
            return xrpc_error(400, "InvalidRequest", "Profile not found")
        return Response(
            200, {**found, "followersCount": 120, "followsCount": 8, "postsCount": len(self.posts)}
        )

    def _list_notifications(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._bearer(request, self.access)
        if refused:
            return refused
        try:
            limit = int(request.param("limit") or 50)
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "limit must be an integer")
        if not 1 <= limit <= 100:
            return xrpc_error(400, "InvalidRequest", "limit can not be greater than 100")
        reasons = request.query.get("reasons") or []
        if any(r not in REASONS for r in reasons):
            return xrpc_error(400, "InvalidRequest", "reasons has an unknown value")
        found = [n for n in self.notifications if not reasons or n["reason"] in reasons]
        found.sort(key=lambda n: (n["indexedAt"], n["uri"]), reverse=True)
        cursor = request.param("cursor")
        start = 0
        if cursor:
            try:
                start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
            except ValueError:
                return xrpc_error(400, "InvalidRequest", "malformed cursor")
        chunk = found[start : start + limit]
        body: dict[str, Any] = {"notifications": chunk, "seenAt": bsky_time(self.now)}
        if start + limit < len(found):
            body["cursor"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        return Response(200, body)

    def _get_posts(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._bearer(request, self.access)
        if refused:
            return refused
        uris = request.query.get("uris") or []
        if len(uris) > 25:
            return xrpc_error(400, "InvalidRequest", "uris can not be longer than 25")
        views = [
            {
                **self.posts[u],
                "replyCount": 0,
                "repostCount": 0,
                "likeCount": 0,
                "quoteCount": 0,
                "labels": [],
                "viewer": {"replyDisabled": True} if u in self.gated else {},
            }
            for u in uris
            if u in self.posts
        ]
        return Response(200, {"posts": views})

    # -- writes ----------------------------------------------------------------------------------

    def _create_record(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._bearer(request, self.access)
        if refused:
            return refused
        body = request.json or {}
        record = body.get("record")
        if body.get("repo") not in (self.did, self.handle):
            return xrpc_error(400, "InvalidRequest", "repo does not match the session")
        if not isinstance(record, dict):
            return xrpc_error(400, "InvalidRequest", 'Input must have the property "record"')
        collection = body.get("collection")
        if collection == "app.bsky.feed.like":
            subject = record.get("subject") or {}
            if (
                subject.get("uri") not in self.posts
                or subject.get("cid") != self.posts[subject["uri"]]["cid"]
            ):
                return xrpc_error(
                    400, "InvalidRequest", "Could not locate record: " + str(subject.get("uri"))
                )
            uri = f"at://{self.did}/app.bsky.feed.like/{self._tid()}"
            self.likes.append({"uri": uri, "subject": subject})
            return Response(200, {"uri": uri, "cid": self._cid(), "validationStatus": "valid"})
        if collection != "app.bsky.feed.post" or record.get("$type") != "app.bsky.feed.post":
            return xrpc_error(400, "InvalidRequest", "Invalid collection or $type")
        text = record.get("text")
        if not isinstance(text, str) or graphemes(text) > 300 or len(text.encode()) > 3000:
            return xrpc_error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
            )
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if (
                    not isinstance(ref, dict)
                    or ref.get("uri") not in self.posts
                    or ref.get("cid") != self.posts[ref["uri"]]["cid"]
                ):
                    return xrpc_error(
                        400,
                        "InvalidRequest",
                        f"Invalid app.bsky.feed.post record: reply/{part} must be a strong ref to a post",
                    )
        post = self._store(
            self.me(), {k: v for k, v in record.items() if k != "createdAt"}, datetime.now(UTC)
        )
        self.posted.append({**body, "uri": post["uri"]})
        return Response(
            200,
            {
                "uri": post["uri"],
                "cid": post["cid"],
                "commit": {"cid": self._cid(), "rev": self._tid()},
                "validationStatus": "valid",
            },
        )
