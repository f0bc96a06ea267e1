"""A fake X API v2 for one connected account, speaking the real wire format to real tweepy.

It keeps users and tweets in memory, serves `GET /2/users/me`, the mentions timeline (with
since_id, start_time, max_results, pagination tokens, expansions and X's ~800 reachable-mentions
cap), `POST /2/tweets` (with X's duplicate-content and reply-restriction refusals) and
`POST /2/users/:id/likes`. Every request is recorded; faults are scripted with `fail_next`.

OAuth 1.0a user-context requests are verified as X verifies them: the consumer key and access
token must be the account's, and the HMAC-SHA1 signature must match the one computed with both
secrets (RFC 5849) over the URL as this server received it, port included. A wrong API secret
or access-token secret therefore gets X's 401 "Could not authenticate you." (code 32).

    fake = FakeX().start()
    tweet = fake.add_mention("where do I get a permit?", author="jane")
    ... connector under test talks to fake.url ...
    assert fake.replies[0]["reply"]["in_reply_to_tweet_id"] == tweet["id"]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from handlers.text import x_weighted_length
from tests.support.fakes.server import FakeServer, Recorded, Response

REACHABLE = 800  # X serves only the newest ~800 mentions of a user
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
    "note_tweet",
)
SHORT_POST = 280  # a longer post (X Premium) comes cut short in `text`, whole in `note_tweet.text`


def x_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def escaped(text: str) -> str:
    """X's escaping of a post's text on the wire: `&`, `<` and `>` only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def long_post(text: str) -> bool:
    return x_weighted_length(text) > SHORT_POST


def error(status: int, title: str, detail: str) -> Response:
    return Response(status, {"title": title, "detail": detail, "type": "about:blank", "status": status})


def not_authenticated() -> Response:
    """What X answers an OAuth 1.0a request whose signature does not match (a wrong API secret
    or access-token secret): the v1.1-style error body, even on the v2 endpoints."""
    return Response(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})


def percent(value: str) -> str:
    """RFC 5849 3.6 percent-encoding: everything but the RFC 3986 unreserved characters."""
    return quote(value, safe="~")


def oauth_signature(request: Recorded, oauth: dict[str, str], consumer_secret: str, token_secret: str) -> str:
    """HMAC-SHA1 of the RFC 5849 signature base string, written here rather than taken from
    oauthlib so that the client's signing is checked by an independent implementation."""
    host = request.headers.get("host", "").lower().removesuffix(":80")  # this fake speaks http
    base_uri = f"http://{host}{request.path}"
    params = [(k, v) for k, values in request.query.items() for v in values]
    params += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(request.body.decode(), keep_blank_values=True)  # JSON bodies are not signed
    normalized = "&".join(f"{k}={v}" for k, v in sorted((percent(k), percent(v)) for k, v in params))
    base = "&".join((request.method.upper(), percent(base_uri), percent(normalized)))
    key = f"{percent(consumer_secret)}&{percent(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


class FakeX(FakeServer):
    """X API v2 with one authenticated account (`me`) and any number of other users."""

    def __init__(
        self,
        *,
        user_id: str = "1000",
        username: str = "agency",
        name: str = "Agency Police",
        bearer_token: str = "x-bearer-token",  # noqa: S107
        api_key: str = "x-api-key",
        api_secret: str = "x-api-secret",  # noqa: S107
        access_token: str | None = None,
        access_token_secret: str = "x-access-token-secret",  # noqa: S107
        now: datetime | None = None,
        reachable: int | None = REACHABLE,
    ) -> None:
        super().__init__()
        self.me = {"id": user_id, "username": username, "name": name}
        self.users: dict[str, dict[str, str]] = {user_id: dict(self.me)}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.timeline: list[str] = []  # ids of tweets that mention `me`, oldest first
        self._created: dict[str, datetime] = {}
        self.bearer_token = bearer_token
        self.api_key = api_key
        self.api_secret = api_secret
        self.access_token = access_token or f"{user_id}-x-access-token"
        self.access_token_secret = access_token_secret
        self.now = now or datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # default created_at
        self.reachable = reachable  # None lifts X's cap (benchmarks of large batches)
        self.revoked = False
        self.replies: list[dict[str, Any]] = []  # accepted POST /2/tweets bodies, plus "id"
        self.likes: list[str] = []  # liked tweet ids
        self.hidden: set[str] = set()  # tweets whose author blocked `me` or protected their posts
        self.rate_remaining = 450
        self.page_faults: list[Response] = []  # answers for the next follow-up page requests
        self._next_id = FIRST_ID
        self._ids = threading.Lock()
        self.route("GET", r"/2/users/me", self._get_me)
        self.route("GET", r"/2/users/(\d+)/mentions", self._get_mentions)
        self.route("POST", r"/2/tweets", self._post_tweet)
        self.route("GET", r"/2/tweets/(\d+)", self._get_tweet)
        self.route("POST", r"/2/users/(\d+)/likes", self._post_like)

    # -- test API ------------------------------------------------------------------------

    @property
    def user_credentials(self) -> dict[str, str]:
        """OAuth 1.0a credentials this fake accepts (keys as the Slack connect modal names them)."""
        return {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
        }

    def new_id(self) -> str:
        with self._ids:
            self._next_id += 1000 + len(self.tweets) % 7
            return str(self._next_id)

    def add_user(self, username: str, name: str | None = None) -> dict[str, str]:
        for user in self.users.values():
            if user["username"].lower() == username.lower():
                return user
        user = {"id": str(5000 + len(self.users)), "username": username, "name": name or username.title()}
        self.users[user["id"]] = user
        return user

    def add_tweet(
        self,
        text: str,
        *,
        author: str,
        created_at: datetime | None = None,
        reply_to: dict[str, Any] | None = None,
        quote: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Any tweet (not necessarily a mention of the account)."""
        user = self.me if author == self.me["username"] else self.add_user(author)
        tweet_id = self.new_id()
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": text,
            "edit_history_tweet_ids": [tweet_id],
            "author_id": user["id"],
            "created_at": x_time(created_at or self.now),
            "conversation_id": reply_to["conversation_id"] if reply_to else tweet_id,
            "lang": "en",
        }
        referenced = []
        if reply_to:
            referenced.append({"type": "replied_to", "id": reply_to["id"]})
            tweet["in_reply_to_user_id"] = reply_to["author_id"]
        if quote:
            referenced.append({"type": "quoted", "id": quote["id"]})
        if referenced:
            tweet["referenced_tweets"] = referenced
        mentions = []
        for match in MENTION.finditer(text):
            target = (
                self.add_user(match.group(1))
                if match.group(1).lower() != self.me["username"].lower()
                else self.me
            )
            mentions.append(
                {
                    "start": match.start(),
                    "end": match.end(),
                    "username": target["username"],
                    "id": target["id"],
                }
            )
        if mentions:
            tweet["entities"] = {"mentions": mentions}
        self.tweets[tweet_id] = tweet
        self._created[tweet_id] = (created_at or self.now).astimezone(UTC)
        return tweet

    def add_mention(
        self,
        text: str = "Thank you for your help today",
        *,
        author: str = "citizen",
        mentions_account: bool = True,
        created_at: datetime | None = None,
        reply_to: dict[str, Any] | None = None,
        quote: dict[str, Any] | None = None,
        omit: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A tweet in the account's mentions timeline.

        With `mentions_account=False` it is a reply to one of the account's posts that does not
        @mention the handle (X lists it, but the API may not answer it).
        """
        handle = "@" + self.me["username"]
        if mentions_account and handle.lower() not in text.lower():
            text = f"{handle} {text}"
        if not mentions_account and reply_to is None and quote is None:
            reply_to = self.add_tweet("An update from the department", author=self.me["username"])
        tweet = self.add_tweet(text, author=author, created_at=created_at, reply_to=reply_to, quote=quote)
        self.timeline.append(tweet["id"])
        for key in omit:  # a malformed item, still served in its place in the timeline
            tweet.pop(key, None)
        return tweet

    def add_retweet(self, tweet: dict[str, Any], *, author: str = "reposter") -> dict[str, Any]:
        """A plain repost: X's text is "RT @author: " and the start of the original, and since
        that names the original's author (and keeps its @mentions), the mentions timeline lists
        it when either is the account."""
        original = self.users[tweet["author_id"]]["username"]
        text = f"RT @{original}: {tweet['text']}"[:140]
        repost = self.add_tweet(text, author=author)
        repost["referenced_tweets"] = [{"type": "retweeted", "id": tweet["id"]}]
        self.timeline.append(repost["id"])
        return repost

    def edit(self, tweet: dict[str, Any], text: str, *, keep_old: bool = False) -> dict[str, Any]:
        """The author edits a mention: X makes a new tweet, and every version's
        `edit_history_tweet_ids` lists the whole chain, oldest first. The timeline shows the newest
        version (and the old one too with `keep_old`)."""
        new = dict(tweet, id=self.new_id(), text=text)
        chain = [*tweet["edit_history_tweet_ids"], new["id"]]
        self.tweets[new["id"]] = new
        for version in chain:
            self.tweets[version]["edit_history_tweet_ids"] = list(chain)
        self._created[new["id"]] = self.now.astimezone(UTC)
        with self.lock:
            kept = [i for i in self.timeline if keep_old or i != tweet["id"]]
            self.timeline = [*kept, new["id"]]
        return new

    def fail_next_page(self, response: Response) -> None:
        """Answer the next mentions request that asks for a later page (a pagination token)."""
        with self.lock:
            self.page_faults.append(response)

    def revoke(self) -> None:
        """The account's tokens stop working (X answers 401)."""
        self.revoked = True

    def rate_limit_next(self, reset: int, path: str = r"/mentions$") -> None:
        """Answer the next matching request with 429 and an `x-rate-limit-reset` epoch."""
        self.fail_next(
            path,
            Response(
                429,
                {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                },
                headers={
                    "x-rate-limit-limit": "450",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset),
                },
            ),
        )

    # -- auth ----------------------------------------------------------------------------

    def _auth(self, request: Recorded, *, user_only: bool = False) -> Response | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and not user_only:
            ok = header[7:] == self.bearer_token
        elif header.startswith("OAuth "):
            oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
            ok = (
                oauth.get("oauth_token") == self.access_token
                and oauth.get("oauth_consumer_key") == self.api_key
            )
            if ok and not self.revoked and not self._signed(request, oauth):
                return not_authenticated()
        elif header.startswith("Bearer "):
            return error(
                403,
                "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
            )
        else:
            ok = False
        if self.revoked or not ok:
            return error(401, "Unauthorized", "Unauthorized")
        return None

    def _signed(self, request: Recorded, oauth: dict[str, str]) -> bool:
        """Whether the request carries the HMAC-SHA1 signature both secrets give."""
        if oauth.get("oauth_signature_method") != "HMAC-SHA1" or oauth.get("oauth_version", "1.0") != "1.0":
            return False
        expected = oauth_signature(request, oauth, self.api_secret, self.access_token_secret)
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))

    def _limits(self, response: Response) -> Response:
        self.rate_remaining = max(self.rate_remaining - 1, 0)
        response.headers.setdefault("x-rate-limit-limit", "450")
        response.headers.setdefault("x-rate-limit-remaining", str(self.rate_remaining))
        response.headers.setdefault("x-rate-limit-reset", str(int(time.time()) + 900))
        return response

    # -- routes --------------------------------------------------------------------------

    def _get_tweet(self, request: Recorded, match: re.Match[str]) -> Response:
        """GET /2/tweets/:id as X answers it: 200 with `data`, or 200 with `errors` saying why not."""
        refused = self._auth(request)
        if refused:
            return refused
        tweet_id = match.group(1)
        if tweet_id in self.hidden:
            problem = {
                "title": "Authorization Error",
                "detail": f"Sorry, you are not authorized to see the Post with id: [{tweet_id}].",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
            }
            return self._limits(Response(200, {"errors": [problem]}))
        tweet = self.tweets.get(tweet_id)
        if tweet is None:
            problem = {
                "title": "Not Found Error",
                "detail": f"Could not find tweet with id: [{tweet_id}].",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            return self._limits(Response(200, {"errors": [problem]}))
        return self._limits(
            Response(200, {"data": self._shape({"id": tweet["id"], "text": tweet["text"]}, set())})
        )

    def _get_me(self, request: Recorded, match: re.Match[str]) -> Response:
        return self._auth(request) or self._limits(Response(200, {"data": dict(self.me)}))

    def _get_mentions(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request)
        if refused:
            return refused
        if match.group(1) != self.me["id"]:
            return self._limits(Response(200, {"meta": {"result_count": 0}}))
        if request.param("pagination_token"):
            with self.lock:
                fault = self.page_faults.pop(0) if self.page_faults else None
            if fault is not None:
                return fault
        max_results = int(request.param("max_results") or 10)
        if not 5 <= max_results <= 100:
            return error(
                400, "Invalid Request", "The `max_results` query parameter value is not between 5 and 100"
            )
        reachable = self.timeline[::-1][: self.reachable]  # ids only grow, so newest first
        since_id = request.param("since_id")
        if since_id:
            since = int(since_id)
            reachable = [i for i in reachable if int(i) > since]
        start_time = request.param("start_time")
        if start_time:
            start = datetime.fromisoformat(start_time)
            reachable = [i for i in reachable if self._created.get(i, start) >= start]
        token = request.param("pagination_token")
        offset = int(token.removeprefix("7140dibdnow9c7btw4")) if token else 0
        ids = reachable[offset : offset + max_results]
        if not ids:
            return self._limits(Response(200, {"meta": {"result_count": 0}}))
        fields = set((request.param("tweet.fields") or "").split(","))
        expansions = set((request.param("expansions") or "").split(","))
        data = [self._shape(self.tweets[i], fields) for i in ids]
        users: dict[str, dict[str, str]] = {}
        referenced: dict[str, dict[str, Any]] = {}
        for tweet in (self.tweets[i] for i in ids):
            if "author_id" in expansions and tweet.get("author_id") in self.users:
                users[tweet["author_id"]] = self.users[tweet["author_id"]]
            if "referenced_tweets.id" in expansions:
                for ref in tweet.get("referenced_tweets", []):
                    parent = self.tweets.get(ref["id"])
                    if parent:
                        referenced[ref["id"]] = self._shape(parent, fields)
                        if "referenced_tweets.id.author_id" in expansions:
                            users[parent["author_id"]] = self.users[parent["author_id"]]
        body: dict[str, Any] = {"data": data}
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = list(users.values())
        if referenced:
            includes["tweets"] = list(referenced.values())
        if includes:
            body["includes"] = includes
        meta: dict[str, Any] = {"result_count": len(ids), "newest_id": ids[0], "oldest_id": ids[-1]}
        if offset + max_results < len(reachable):
            meta["next_token"] = f"7140dibdnow9c7btw4{offset + max_results}"
        body["meta"] = meta
        return self._limits(Response(200, body))

    @staticmethod
    def _shape(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        """A stored tweet (its text as typed) as X sends it: text HTML-escaped, a long post cut
        short in `text` and whole in `note_tweet` when that field is asked for."""
        shaped = {k: v for k, v in tweet.items() if k not in OPTIONAL_FIELDS or k in fields}
        typed = tweet.get("text")
        if isinstance(typed, str):
            shaped["text"] = escaped(typed[: SHORT_POST - 1] + "…" if long_post(typed) else typed)
            if long_post(typed) and "note_tweet" in fields:
                shaped["note_tweet"] = {"text": escaped(typed)}
        return shaped

    def _post_tweet(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request, user_only=True)
        if refused:
            return refused
        body = request.json or {}
        text = body.get("text", "")
        if any(r["text"] == text for r in self.replies):
            return error(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent_id is not None:
            parent = self.tweets.get(parent_id)
            if parent is None or parent_id in self.hidden:  # X says the same for both
                return error(
                    403,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                )
            if not self._summoned_by(parent):
                return error(
                    403,
                    "Forbidden",
                    "Reply to this conversation is not allowed because you have not been mentioned "
                    "or otherwise engaged by the author of the post you are replying to.",
                )
        tweet = self.add_tweet(text, author=self.me["username"], reply_to=self.tweets.get(parent_id or ""))
        self.replies.append({**body, "id": tweet["id"]})
        return self._limits(
            Response(
                201,
                {"data": {"id": tweet["id"], "text": escaped(text), "edit_history_tweet_ids": [tweet["id"]]}},
            )
        )

    def _summoned_by(self, tweet: dict[str, Any]) -> bool:
        mentioned = any(m.get("id") == self.me["id"] for m in tweet.get("entities", {}).get("mentions", []))
        quoted = any(
            ref["type"] == "quoted" and self.tweets.get(ref["id"], {}).get("author_id") == self.me["id"]
            for ref in tweet.get("referenced_tweets", [])
        )
        return mentioned or quoted

    def _post_like(self, request: Recorded, match: re.Match[str]) -> Response:
        refused = self._auth(request, user_only=True)
        if refused:
            return refused
        if match.group(1) != self.me["id"]:
            return error(403, "Forbidden", "You are not permitted to perform this action.")
        tweet_id = (request.json or {}).get("tweet_id")
        if tweet_id not in self.tweets:
            return error(400, "Invalid Request", "The tweet does not exist.")
        self.likes.append(tweet_id)
        return self._limits(Response(200, {"data": {"liked": True}}))
