"""A simulated X account behind X API v2, for TwoWay's real tweepy connector.

It serves what the connector calls (`GET /2/users/me`, the mentions timeline with since_id,
start_time, pagination and expansions, `POST /2/tweets`, `POST /2/users/:id/likes`) and keeps
X's rules that shape TwoWay: no reply through the API to a post that did not @mention or quote
the account, and no duplicate text.
"""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from bot.sandbox.feed import ACCOUNT_POSTS, Item
from bot.sandbox.platforms import AGENCY_HANDLE, AGENCY_NAME, Post, Timeline, slug
from bot.sandbox.web import Request, Response, Router

ACCOUNT_ID = "1590000000000000001"
FIRST_ID = 1_860_000_000_000_000_000
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
OPTIONAL_FIELDS = (
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "lang",
)


def x_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(status: int, title: str, detail: str) -> Response:
    return Response(status, {"title": title, "detail": detail, "type": "about:blank", "status": status})


class SimulatedX:
    key = "x"
    label = "X"

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.me = {"id": ACCOUNT_ID, "username": AGENCY_HANDLE, "name": AGENCY_NAME}
        self.users: dict[str, dict[str, str]] = {ACCOUNT_ID: dict(self.me)}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.mentions: list[str] = []  # ids of posts in the account's mentions timeline, oldest first
        self.by_key: dict[str, str] = {}  # feed keys and account posts -> tweet id
        self.bearer_token = secrets.token_urlsafe(24)
        self.api_key = "sandbox-" + secrets.token_hex(8)
        self.lock = threading.RLock()
        self._next_id = FIRST_ID

    # -- what the sandbox asks of a platform ----------------------------------------------------

    def mount(self, router: Router, prefix: str) -> None:
        router.route("GET", prefix + r"/2/users/me", self._get_me)
        router.route("GET", prefix + r"/2/users/(\d+)/mentions", self._get_mentions)
        router.route("POST", prefix + r"/2/tweets", self._post_tweet)
        router.route("POST", prefix + r"/2/users/(\d+)/likes", self._post_like)

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "x_api_url": base_url,
            "x_bearer_token": SecretStr(self.bearer_token),
            "x_api_key": SecretStr(self.api_key),
            "x_api_secret": SecretStr(secrets.token_urlsafe(24)),
            "x_access_token": SecretStr(f"{ACCOUNT_ID}-{secrets.token_hex(12)}"),
            "x_access_token_secret": SecretStr(secrets.token_urlsafe(24)),
        }

    def publish(self, item: Item, at: datetime) -> None:
        with self.lock:
            parent = (
                self._account_post(item.on)
                if item.on
                else self.tweets.get(self.by_key.get(item.reply_to, ""))
            )
            text = item.text
            if item.mentions_account and f"@{AGENCY_HANDLE}".lower() not in text.lower():
                text = f"@{AGENCY_HANDLE} {text}"
            tweet = self._add(text, author=item.author, at=at, reply_to=parent)
            if item.mentions_account or parent is not None:
                self.mentions.append(tweet["id"])  # X lists replies to the account's posts too
            if item.key:
                self.by_key[item.key] = tweet["id"]

    # -- the posts ------------------------------------------------------------------------------

    def _account_post(self, key: str) -> dict[str, Any] | None:
        if key in self.by_key:
            return self.tweets[self.by_key[key]]
        if key not in ACCOUNT_POSTS or ACCOUNT_POSTS[key][0] != "x":
            return None
        _platform, text, age = ACCOUNT_POSTS[key]
        tweet = self._add(text, author=AGENCY_NAME, at=datetime.now(UTC) - timedelta(minutes=age))
        self.by_key[key] = tweet["id"]
        return tweet

    def _user(self, name: str) -> dict[str, str]:
        if name == AGENCY_NAME:
            return self.me
        handle = slug(name)
        for user in self.users.values():
            if user["username"] == handle:
                return user
        user = {"id": str(4_000_000_000 + len(self.users)), "username": handle, "name": name}
        self.users[user["id"]] = user
        return user

    def _add(
        self,
        text: str,
        *,
        author: str,
        at: datetime,
        reply_to: dict[str, Any] | None = None,
        via_api: bool = False,
    ) -> dict[str, Any]:
        user = self._user(author)
        self._next_id += 1_000_003
        tweet_id = str(self._next_id)
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": text,
            "edit_history_tweet_ids": [tweet_id],
            "author_id": user["id"],
            "created_at": x_time(at),
            "conversation_id": reply_to["conversation_id"] if reply_to else tweet_id,
            "lang": "es" if "¿" in text else "en",
        }
        if reply_to:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to["id"]}]
            tweet["in_reply_to_user_id"] = reply_to["author_id"]
        mentions = []
        for match in MENTION.finditer(text):
            named = self.me if match.group(1).lower() == AGENCY_HANDLE.lower() else None
            if named is not None:
                mentions.append(
                    {
                        "start": match.start(),
                        "end": match.end(),
                        "username": named["username"],
                        "id": named["id"],
                    }
                )
        if mentions:
            tweet["entities"] = {"mentions": mentions}
        self.tweets[tweet_id] = tweet
        self.timeline.add(
            Post(
                id=tweet_id,
                author=user["name"],
                handle=user["username"],
                text=text,
                created=at,
                parent=reply_to["id"] if reply_to else None,
                by_account=user is self.me,
                via_api=via_api,
            )
        )
        return tweet

    # -- auth -----------------------------------------------------------------------------------

    def _auth(self, request: Request, *, user_only: bool = False) -> Response | None:
        header = request.headers.get("authorization", "")
        if (
            header.startswith("Bearer ")
            and not user_only
            and secrets.compare_digest(header[7:], self.bearer_token)
        ):
            return None
        if header.startswith("OAuth ") and f'oauth_consumer_key="{self.api_key}"' in header:
            return None
        return _error(401, "Unauthorized", "Unauthorized")

    # -- routes ---------------------------------------------------------------------------------

    def _get_me(self, request: Request, match: re.Match[str]) -> Response:
        return self._auth(request) or Response(200, {"data": dict(self.me)})

    def _get_mentions(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if match.group(1) != ACCOUNT_ID:
            return _error(403, "Forbidden", "You can only read this account's mentions here.")
        since_id = int(request.arg("since_id") or 0)
        start = request.arg("start_time")
        start_time = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        max_results = max(5, min(100, int(request.arg("max_results") or 10)))
        offset = (
            int(request.arg("pagination_token").removeprefix("page") or 0)
            if request.arg("pagination_token")
            else 0
        )
        fields = set(request.arg("tweet.fields").split(",")) | {"id", "text", "edit_history_tweet_ids"}
        expansions = set(request.arg("expansions").split(","))
        with self.lock:
            wanted = [
                self.tweets[i]
                for i in reversed(self.mentions)
                if int(i) > since_id
                and (
                    start_time is None
                    or datetime.fromisoformat(self.tweets[i]["created_at"].replace("Z", "+00:00"))
                    >= start_time
                )
            ]
            chunk = wanted[offset : offset + max_results]
            if not chunk:
                return Response(200, {"meta": {"result_count": 0}})
            users: dict[str, dict[str, str]] = {}
            referenced: dict[str, dict[str, Any]] = {}
            for tweet in chunk:
                if "author_id" in expansions:
                    users[tweet["author_id"]] = self.users[tweet["author_id"]]
                for ref in tweet.get("referenced_tweets", []) if "referenced_tweets.id" in expansions else []:
                    parent = self.tweets.get(ref["id"])
                    if parent:
                        referenced[parent["id"]] = self._shape(parent, fields)
                        users[parent["author_id"]] = self.users[parent["author_id"]]
        body: dict[str, Any] = {"data": [self._shape(t, fields) for t in chunk]}
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = list(users.values())
        if referenced:
            includes["tweets"] = list(referenced.values())
        if includes:
            body["includes"] = includes
        meta: dict[str, Any] = {
            "result_count": len(chunk),
            "newest_id": chunk[0]["id"],
            "oldest_id": chunk[-1]["id"],
        }
        if offset + max_results < len(wanted):
            meta["next_token"] = f"page{offset + max_results}"
        body["meta"] = meta
        return Response(200, body)

    @staticmethod
    def _shape(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {k: v for k, v in tweet.items() if k not in OPTIONAL_FIELDS or k in fields}

    def _post_tweet(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request, user_only=True)
        if refused:
            return refused
        body = request.json() or {}
        text = str(body.get("text") or "")
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        with self.lock:
            if any(t["text"] == text and t["author_id"] == ACCOUNT_ID for t in self.tweets.values()):
                return _error(
                    403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
                )
            parent = self.tweets.get(str(parent_id)) if parent_id is not None else None
            if parent_id is not None and parent is None:
                return _error(400, "Invalid Request", "The tweet you are replying to does not exist.")
            if parent is not None and not self._summoned_by(parent):
                return _error(
                    403,
                    "Forbidden",
                    "Reply to this conversation is not allowed because you have not been mentioned "
                    "or otherwise engaged by the author of the post you are replying to.",
                )
            tweet = self._add(text, author=AGENCY_NAME, at=datetime.now(UTC), reply_to=parent, via_api=True)
        return Response(
            201, {"data": {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}}
        )

    def _summoned_by(self, tweet: dict[str, Any]) -> bool:
        return any(m.get("id") == ACCOUNT_ID for m in tweet.get("entities", {}).get("mentions", []))

    def _post_like(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._auth(request, user_only=True)
        if refused:
            return refused
        if match.group(1) != ACCOUNT_ID:
            return _error(403, "Forbidden", "You are not permitted to perform this action.")
        tweet_id = str((request.json() or {}).get("tweet_id") or "")
        if not self.timeline.like(tweet_id):
            return _error(400, "Invalid Request", "The tweet does not exist.")
        return Response(200, {"data": {"liked": True}})
