"""X (formerly Twitter) through tweepy's API v2 `Client`.

Reading mentions works with a bearer token or with the OAuth 1.0a user credentials; replying and
liking need the user credentials. tweepy never waits here (`wait_on_rate_limit=False`): a 429 is
turned into `RateLimited` with X's reset time, and the scheduler decides when to come back.
See docs/connectors.md for the cursor, overlap and gap rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
import tweepy

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    CredentialField,
    Duplicate,
    Options,
    Page,
    PlatformSpec,
    PollOutcome,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.http import TWEEPY_HOST, RewritingSession, describe, quiet_library_debug_logs
from domain import AccountIdentity, Author, Mention, Platform, PostedReply, ReplyRules

log = logging.getLogger(__name__)

REACHABLE_MENTIONS = 800  # X serves only about the newest 800 mentions of an account
# "About": posts deleted or withheld inside X's window make it serve fewer, so a batch this
# close to the cap that misses the cursor post is treated as cut short too.
GAP_SUSPECT = 700
PAGE_SIZE = 100
MAX_PAGES = REACHABLE_MENTIONS // PAGE_SIZE + 2  # more than X ever serves: a token loop
EXCERPT_CHARS = 500
EXPANSIONS = [
    "author_id",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
    "entities.mentions.username",
    "in_reply_to_user_id",
]
TWEET_FIELDS = [
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "author_id",
    "lang",
    "note_tweet",
]
USER_FIELDS = ["username", "name"]
# Errors the library or a broken body can raise while we read a payload.
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class _Malformed(Exception):
    """One payload item lacks a field TwoWay needs."""


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _versions(item: Mapping[str, Any]) -> tuple[str, ...]:
    """`edit_history_tweet_ids` when the post was edited: every version lists the whole chain,
    oldest first. Nothing when it was not, or when the chain does not name the post itself."""
    chain = tuple(i for i in _listed(item.get("edit_history_tweet_ids")) if isinstance(i, str) and i)
    return chain if len(chain) > 1 and item["id"] in chain else ()


_ESCAPES = re.compile(r"&(amp|lt|gt);")
_ESCAPED = {"amp": "&", "lt": "<", "gt": ">"}


def post_text(tweet: Mapping[str, Any]) -> str | None:
    """What the author wrote. X sends a post's text with `&`, `<` and `>` HTML-escaped (a typed
    "&amp;" arrives as "&amp;amp;"), and a long post (X Premium, over 280 characters) cut short
    in `text`, whole only in `note_tweet.text`: an emergency told at length must not lose its end,
    and "Me &amp; my kids" is not what anyone typed."""
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else None
    text = text if text else tweet.get("text")
    return _ESCAPES.sub(lambda m: _ESCAPED[m.group(1)], text) if isinstance(text, str) else None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _readable_reset(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
    """Drop an `x-rate-limit-reset` that int() cannot read: tweepy reads it with int() before it
    raises TooManyRequests, so a 429 would come out as a ValueError (a malformed answer, or a
    crash on a reply) instead of a rate limit to wait out."""
    reset = response.headers.get("x-rate-limit-reset")
    if reset is not None:
        try:
            int(reset)
        except ValueError:
            del response.headers["x-rate-limit-reset"]
    return response


def _epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC) if value else None
    except (ValueError, OverflowError, OSError, TypeError):  # milliseconds, garbage, year 300000
        return None


def _reset_at(exc: tweepy.TooManyRequests) -> datetime | None:
    """When X lets the account in again: `x-rate-limit-reset` (epoch seconds), or the later
    `x-user-limit-24hour-reset` or `x-app-limit-24hour-reset` when the account's or the app's
    daily cap on posts is what ran out (the 15-minute window may reopen long before that). None
    when none makes sense."""
    headers = getattr(exc.response, "headers", None) or {}
    resets = [getattr(exc, "reset_time", None)]
    for cap in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{cap}-remaining") == "0":
            resets.append(headers.get(f"{cap}-reset"))
    return max((t for t in map(_epoch, resets) if t is not None), default=None)


def _api_message(exc: tweepy.HTTPException) -> str:
    status = getattr(exc.response, "status_code", "?")
    messages = "; ".join(str(m) for m in exc.api_messages)[:300]
    return f"HTTP {status}" + (f": {messages}" if messages else "")


class XConnector:
    """One X account. `account_id`/`handle` come from `identify()` when not given."""

    platform: Platform = "x"

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float,
        bearer_token: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        account_id: str | None = None,
        handle: str | None = None,
        first_poll_hours: int = 24,
    ) -> None:
        self.user_context = all((api_key, api_secret, access_token, access_token_secret))
        if not bearer_token and not self.user_context:
            raise ValueError("X needs a bearer token or all four OAuth 1.0a user credentials")
        quiet_library_debug_logs()
        self.account_id = account_id
        self.handle = handle
        self.first_poll = timedelta(hours=first_poll_hours)
        # Reads use the bearer token when there is one (the app-wide limit is the larger one).
        self.read_user_auth = not bearer_token
        self.client = tweepy.Client(
            bearer_token=bearer_token or None,
            consumer_key=api_key,
            consumer_secret=api_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,
        )
        self.client.session = RewritingSession(prefix=TWEEPY_HOST, base_url=base_url, timeout=timeout)
        self.client.session.hooks["response"].append(_readable_reset)

    # -- identity ------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        body = self._read(lambda: self.client.get_me(user_auth=self.user_context, user_fields=USER_FIELDS))
        try:
            data = body["data"]
            user_id, username = data["id"], data["username"]
            if not (isinstance(user_id, str) and isinstance(username, str) and user_id and username):
                raise TypeError("id and username must be strings")
            name = str(data.get("name") or "")
        except MALFORMED as exc:
            raise TransientError("X sent a malformed answer to GET /2/users/me") from exc
        self.account_id, self.handle = user_id, username
        return AccountIdentity(platform="x", external_id=user_id, handle=username, name=name)

    def check_all(self) -> None:
        """Prove the bearer token too (`ChecksAll`): `/2/users/me` used the user keys, but polls
        read mentions with the bearer, so a wrong one would pass `identify` and fail every poll.
        One small app-auth read of the very endpoint polls use, only when an admin connects."""
        if not (self.user_context and not self.read_user_auth):
            return
        try:
            self._read(
                partial(self.client.get_users_mentions, self._own_id(), max_results=5, user_auth=False)
            )
        except AuthFailed as exc:
            raise AuthFailed(f"X refused the bearer token ({exc})", field="bearer_token") from None

    def _own_id(self) -> str:
        if self.account_id is None:
            self.identify()
        assert self.account_id is not None
        return self.account_id

    # -- reading -------------------------------------------------------------------------

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        account_id = self._own_id()
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "user_auth": self.read_user_auth,
        }
        previous = int(cursor) if cursor and cursor.isdigit() else None
        if previous is not None:
            # Re-read the cursor post itself: an idle poll returns exactly it, and its absence
            # after a full window is how a backlog gap is recognised.
            params["since_id"] = str(previous - 1)
        else:
            params["start_time"] = now - self.first_poll
        token: str | None = None
        newest: int | None = None
        total = 0
        saw_previous = False
        tokens: set[str] = set()
        while True:
            outcome.requests += 1  # counted before the call: a refused request is still a request
            body = self._read(
                partial(self.client.get_users_mentions, account_id, pagination_token=token, **params)
            )
            data, includes, meta = self._parts(body)
            if newest is None:
                newest = self._newest(data, meta)
            total += len(data)
            saw_previous = saw_previous or any(
                isinstance(t, dict) and t.get("id") == str(previous) for t in data
            )
            yield self._page(data, includes)
            next_token = meta.get("next_token")
            if not next_token:
                break
            token = str(next_token)
            if token in tokens or len(tokens) + 1 >= MAX_PAGES:
                # Pages read so far are kept; the cursor stays, so the next poll reads them again.
                raise TransientError(f"X kept paging (page token repeated or over {MAX_PAGES} pages)")
            tokens.add(token)
        best = max((n for n in (previous, newest) if n is not None), default=None)
        outcome.cursor = str(best) if best is not None else cursor
        if total >= GAP_SUSPECT and not saw_previous:
            outcome.backlog_gap = True
            where = "since the last poll" if previous is not None else "in the first-poll window"
            outcome.notes.append(
                f"X returned {total} mentions, about its maximum of {REACHABLE_MENTIONS}, and could not reach "
                f"back to the previous cursor: older mentions {where} are unreachable through the API"
            )

    @staticmethod
    def _parts(body: Any) -> tuple[list[Any], Mapping[str, Any], Mapping[str, Any]]:
        try:
            data = body.get("data") or []
            includes = body.get("includes") or {}
            meta = body.get("meta") or {}
            if not (isinstance(data, list) and isinstance(includes, dict) and isinstance(meta, dict)):
                raise TypeError("unexpected shape")
        except MALFORMED as exc:
            raise TransientError("X sent a malformed mentions page") from exc
        errors = body.get("errors")
        if errors and "data" not in body and not meta:
            # An idle poll has `meta` (result_count 0); errors alone are X refusing the request.
            first = errors[0] if isinstance(errors, list) and errors else {}
            detail = first.get("detail") or first.get("title") if isinstance(first, dict) else None
            raise TransientError(f"X answered with errors only: {str(detail or errors)[:200]}")
        return data, includes, meta

    @staticmethod
    def _newest(data: list[Any], meta: Mapping[str, Any]) -> int | None:
        candidates = [str(meta.get("newest_id") or "")]
        candidates += [str(t.get("id") or "") for t in data if isinstance(t, dict)]
        ids = [int(c) for c in candidates if c.isdigit()]
        return max(ids, default=None)

    def _page(self, data: list[Any], includes: Mapping[str, Any]) -> Page:
        users = {u["id"]: u for u in _listed(includes.get("users")) if isinstance(u, dict) and "id" in u}
        tweets = {t["id"]: t for t in _listed(includes.get("tweets")) if isinstance(t, dict) and "id" in t}
        mentions: list[Mention] = []
        skipped = 0
        for item in data:
            try:
                mention = self._mention(item, users, tweets)
            except (_Malformed, *MALFORMED) as exc:  # one odd field must not cost the whole page
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "skipped an X mention (id=%s) with a missing or malformed field: %s", item_id, exc
                )
                skipped += 1
                continue
            if mention is not None:
                mentions.append(mention)
        return Page(mentions=tuple(mentions), skipped=skipped)

    def _mention(self, item: Any, users: Mapping[str, Any], tweets: Mapping[str, Any]) -> Mention | None:
        if not isinstance(item, dict):
            raise _Malformed("not an object")
        for key in ("id", "text", "author_id"):
            if not isinstance(item.get(key), str) or (key != "text" and not item[key]):
                raise _Malformed(f"{key} missing")
        if item["author_id"] == self.account_id:
            return None  # the account's own post
        if any(
            isinstance(r, dict) and r.get("type") == "retweeted"
            for r in _listed(item.get("referenced_tweets"))
        ):
            return None  # a repost ("RT @…") carries no words of its reposter's to answer
        try:
            created_at = datetime.fromisoformat(str(item["created_at"])).astimezone(UTC)
        except MALFORMED as exc:
            raise _Malformed("created_at missing or not a time") from exc
        user = users.get(item["author_id"])
        username = str(user.get("username") or "") if isinstance(user, dict) else ""
        name = str(user.get("name") or "") if isinstance(user, dict) else ""
        parent_id, parent = self._parent(item, tweets)
        parent_text = post_text(parent) if isinstance(parent, dict) else None
        return Mention(
            platform="x",
            external_id=item["id"],
            account_external_id=self.account_id or "",
            author=Author(
                id=item["author_id"],
                handle=username,
                name=name,
                url=f"https://x.com/{username}" if username else "",
            ),
            text=post_text(item) or "",
            url=f"https://x.com/{username or 'i/web'}/status/{item['id']}",
            created_at=created_at,
            conversation_id=str(item["conversation_id"]) if item.get("conversation_id") else None,
            parent_id=parent_id,
            parent_text=excerpt(parent_text) if isinstance(parent_text, str) else None,
            explicit_mention=self._summons(item, tweets),
            raw={"tweet": item, "author": user, "referenced": [parent] if parent else []},
            versions=_versions(item),
        )

    @staticmethod
    def _parent(item: Mapping[str, Any], tweets: Mapping[str, Any]) -> tuple[str | None, Any]:
        refs = [r for r in item.get("referenced_tweets") or [] if isinstance(r, dict)]
        for kind in ("replied_to", "quoted"):
            for ref in refs:
                if ref.get("type") == kind and isinstance(ref.get("id"), str):
                    parent = tweets.get(ref["id"])
                    return ref["id"], parent if isinstance(parent, dict) else None
        return None, None

    def _summons(self, item: Mapping[str, Any], tweets: Mapping[str, Any]) -> bool:
        """Whether X lets the API answer this post: it @mentions the account or quotes its post."""
        handle = (self.handle or "").lower()
        entities = item.get("entities")
        mentions = entities.get("mentions") if isinstance(entities, dict) else None
        if isinstance(mentions, list):
            named = any(
                isinstance(m, dict)
                and (str(m.get("username", "")).lower() == handle or m.get("id") == self.account_id)
                for m in mentions
            )
        else:
            named = (
                bool(handle)
                and re.search(rf"(?<![\w@])@{re.escape(handle)}\b", item["text"], re.I) is not None
            )
        quoted = any(
            isinstance(ref, dict)
            and ref.get("type") == "quoted"
            and isinstance(tweets.get(str(ref.get("id"))), dict)
            and tweets[ref["id"]].get("author_id") == self.account_id
            for ref in item.get("referenced_tweets") or []
        )
        return named or quoted

    # -- writing -------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        self._need_user_context("reply")
        try:
            body = self._write(
                lambda: self.client.create_tweet(
                    text=text, in_reply_to_tweet_id=mention.external_id, user_auth=True
                )
            )
        except PostGone:
            if self._not_found(mention.external_id):
                raise
            raise Rejected(
                "X will not let the account reply to this post, which it can no longer see: its author "
                "may have blocked the account, protected their posts or limited who can reply"
            ) from None
        try:
            post_id = body["data"]["id"]
            if not isinstance(post_id, str) or not post_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise AmbiguousOutcome("X accepted the reply but its answer was unreadable") from exc
        return PostedReply(
            external_id=post_id, url=f"https://x.com/{self.handle or 'i/web'}/status/{post_id}"
        )

    def _not_found(self, post_id: str) -> bool:
        """Whether X says the post does not exist: "deleted or not visible to you" is also what a
        reply gets when its author blocked the account, and a post that still exists must not be
        recorded as deleted. Anything short of X's "Not Found Error" is no proof."""
        try:
            body = self._read(lambda: self.client.get_tweet(post_id, user_auth=self.read_user_auth))
        except ConnectorError:
            return False
        errors = body.get("errors") if isinstance(body, dict) and not body.get("data") else None
        if not isinstance(errors, list):
            return False
        return any(
            isinstance(e, dict) and str(e.get("type", "")).endswith("resource-not-found") for e in errors
        )

    def like(self, mention: Mention) -> None:
        self._need_user_context("like")
        account_id = self._own_id()
        response = self._write(
            lambda: self.client.request(
                "POST", f"/2/users/{account_id}/likes", json={"tweet_id": mention.external_id}, user_auth=True
            )
        )
        try:  # `Client.request` hands back the HTTP response itself
            data = response.json().get("data")
        except (*MALFORMED, requests.RequestException):
            data = None
        if not (isinstance(data, dict) and data.get("liked") is True):
            raise AmbiguousOutcome("X did not confirm the like")

    def hide(self, mention: Mention) -> None:
        raise Rejected("X offers no way for an account to hide a reply through this API")

    def _need_user_context(self, what: str) -> None:
        if not self.user_context:
            raise Rejected(
                f"X lets an app {what} only with the account's OAuth 1.0a user credentials "
                "(API key and secret, access token and secret); only a bearer token is configured"
            )

    # -- error mapping -------------------------------------------------------------------

    @staticmethod
    def _read(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except tweepy.TooManyRequests as exc:
            raise RateLimited(f"X rate limit reached ({_api_message(exc)})", _reset_at(exc)) from None
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            raise AuthFailed(f"X refused the credentials ({_api_message(exc)})") from None
        except tweepy.HTTPException as exc:
            raise TransientError(f"X answered {_api_message(exc)}") from None
        except requests.RequestException as exc:
            raise TransientError(f"X request {describe(exc)}") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise TransientError(f"X sent a malformed answer ({type(exc).__name__})") from None

    @staticmethod
    def _write(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except tweepy.TooManyRequests as exc:
            raise RateLimited(f"X rate limit reached ({_api_message(exc)})", _reset_at(exc)) from None
        except tweepy.Unauthorized as exc:
            raise AuthFailed(f"X refused the credentials ({_api_message(exc)})") from None
        except tweepy.TwitterServerError as exc:
            raise AmbiguousOutcome(f"X answered {_api_message(exc)}; the post may exist") from None
        except tweepy.HTTPException as exc:
            message = _api_message(exc)
            words = message.lower()
            if "duplicate content" in words:  # usually the same template sent to someone else
                raise Duplicate(
                    f"X refused it ({message}); X never posts the same text twice from one account, "
                    "so change a few words and send again"
                ) from None
            if "does not exist" in words or "deleted" in words:
                raise PostGone(f"X says the post no longer exists ({message})") from None
            raise Rejected(f"X refused it ({message})") from None
        except requests.RequestException as exc:
            raise AmbiguousOutcome(f"X request {describe(exc)}; the post may exist") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise AmbiguousOutcome(f"X sent a malformed answer ({type(exc).__name__})") from None


# -- the platform as the rest of TwoWay sees it ------------------------------------------------

USER_KEYS = ("api_key", "api_secret", "access_token", "access_token_secret")


def _incomplete(creds: Mapping[str, str]) -> str | None:
    if "bearer_token" not in creds and not all(k in creds for k in USER_KEYS):
        return (
            "X credentials are incomplete: give a bearer token, or all four of "
            "API key, API secret, access token and access token secret"
        )
    return None


def build(options: Options, creds: Mapping[str, str], identity: AccountIdentity | None) -> XConnector:
    return XConnector(
        base_url=options["X_API_URL"],
        timeout=options["TWOWAY_HTTP_TIMEOUT"],
        bearer_token=creds.get("bearer_token"),
        api_key=creds.get("api_key"),
        api_secret=creds.get("api_secret"),
        access_token=creds.get("access_token"),
        access_token_secret=creds.get("access_token_secret"),
        account_id=identity.external_id if identity else None,
        handle=identity.handle if identity else None,
        first_poll_hours=options["TWOWAY_X_FIRST_POLL_HOURS"],
    )


SPEC = PlatformSpec(
    name="x",
    title="X",
    noun="an X account",
    rules=ReplyRules(
        limit=280,
        counting="x_weighted",
        unit="weighted characters",
        unit_hint=" (links count 23)",
        address_author=True,  # X refuses a post whose text repeats an earlier one
    ),
    fields=(
        CredentialField("api_key", "API key", "Keys and tokens > Consumer keys > API Key", "X_API_KEY"),
        CredentialField("api_secret", "API key secret", "Shown next to the API key", "X_API_SECRET"),
        CredentialField(
            "access_token",
            "Access token",
            "Keys and tokens > Authentication tokens, generated while signed in as the agency's"
            " account, with Read and Write permission",
            "X_ACCESS_TOKEN",
        ),
        CredentialField(
            "access_token_secret",
            "Access token secret",
            "Shown next to the access token",
            "X_ACCESS_TOKEN_SECRET",
        ),
        CredentialField(
            "bearer_token",
            "Bearer token (optional)",
            "Keys and tokens > Bearer Token; used to read mentions",
            "X_BEARER_TOKEN",
            optional=True,
        ),
    ),
    build=build,
    intro="Paste the keys of your X developer app (developer.x.com > Projects & Apps > your app)."
    " TwoWay checks them with X before saving and stores them encrypted; they are never shown again.",
    refused="X refused these keys. Check all four values, the bearer token if you gave one, and that"
    " the tokens are for the agency's account.",
    env_groups=(("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),),
    env_triggers=("X_BEARER_TOKEN", "X_API_KEY"),
    incomplete=_incomplete,
    restriction="the author did not @mention {account}",
    permissions="Read and Write app permission; OAuth 1.0a user context to reply and like",
)
