"""A Facebook Page through facebook-sdk's `GraphAPI`, kept behind this class so it can be replaced.

facebook-sdk 3.1.0 (2018) refuses every Graph version that exists today in its constructor, so
the version is set on the instance afterwards; it has no default timeout and a hard-coded host,
both supplied through `RewritingSession`. Paging is followed here rather than with
`get_all_connections`, which breaks on a `paging.next` URL without an access token and cannot
stop early. See docs/connectors.md for the cursor and overlap rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import requests

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    Page,
    PollOutcome,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.http import GRAPH_HOST, RewritingSession, describe, quiet_library_debug_logs, redact
from domain import AccountIdentity, Author, Mention, Platform, PostedReply

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # comments re-read before the cursor, de-duplicated on insert
PAGE_SIZE = 100
EXCERPT_CHARS = 500
POST_FIELDS = "id,message,created_time,permalink_url"
COMMENT_FIELDS = "id,message,from,created_time,parent,permalink_url"
AUTH_CODES = {102, 190}  # token expired, revoked or invalidated
PERMISSION_CODES = {10} | set(range(200, 300))
RATE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
TEMPORARY_CODES = {1, 2}  # "unknown error" / "service temporarily unavailable"
GONE_CODES = {100}  # "does not exist / cannot be loaded": a post deleted since it was listed
MAX_PAGES = 200  # of posts, or of one post's comments, in one poll: beyond it Graph is looping
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class _Malformed(Exception):
    """One comment lacks a field TwoWay needs."""


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_time(value: Any) -> datetime:
    """Graph's `2026-11-20T14:00:00+0000`, or our own ISO cursor, as aware UTC."""
    if not isinstance(value, str):
        raise TypeError("not a time string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("time without an offset")
    return moment.astimezone(UTC)


def _next_args(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The query of `paging.next` without the token (the library adds its own)."""
    paging = body.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(nxt, str) or not nxt:
        return None
    args = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items() if k != "access_token"}
    return args or None


class _Gone(TransientError):
    """One post's comments cannot be read (Graph code 100): the other posts are still read."""


class _Pages:
    """The next page's arguments, unless Graph repeats a page or pages without end."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.seen: set[tuple[tuple[str, str], ...]] = set()

    def next(self, args: dict[str, str] | None) -> dict[str, str] | None:
        if args is None:
            return None
        key = tuple(sorted(args.items()))
        if key in self.seen or len(self.seen) + 1 >= MAX_PAGES:
            raise TransientError(f"Graph kept paging the {self.what} (a page repeated or over {MAX_PAGES})")
        self.seen.add(key)
        return args


class FacebookConnector:
    """One Facebook Page, read and answered with its Page access token."""

    platform: Platform = "facebook"

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        timeout: float,
        page_id: str,
        page_token: str,
        lookback_days: int = 3,
    ) -> None:
        quiet_library_debug_logs()
        self.page_id = page_id
        self.lookback = timedelta(days=lookback_days)
        session = RewritingSession(
            prefix=GRAPH_HOST, base_url=base_url, timeout=timeout, raise_server_errors=True
        )
        self._token = page_token
        self.graph = facebook.GraphAPI(access_token=page_token, timeout=timeout, session=session)
        self.graph.version = version

    # -- identity ------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        # Code 100/803: no such object. For a typed-in Page ID that is a definite "no".
        body = self._read(lambda: self.graph.get_object(self.page_id, fields="id,name"), refused={100, 803})
        try:
            page_id, name = body["id"], str(body.get("name") or "")
            if not isinstance(page_id, str) or not page_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise TransientError("Graph sent a malformed answer for the Page") from exc
        return AccountIdentity(platform="facebook", external_id=page_id, handle=name, name=name)

    # -- reading -------------------------------------------------------------------------

    def fetch(self, cursor: str | None, now: datetime, outcome: PollOutcome) -> Iterator[Page]:
        previous = self._cursor_time(cursor)
        since = previous - OVERLAP if previous else now - self.lookback
        newest = previous
        posts_args: dict[str, str] | None = {
            "fields": POST_FIELDS,
            "since": str(int(min(now - self.lookback, since).timestamp())),
            "limit": str(PAGE_SIZE),
        }
        pages = _Pages("posts")
        read, gone = 0, []
        while posts_args is not None:
            outcome.requests += 1  # counted before the call: a refused request is still a request
            body = self._read(partial(self.graph.get_connections, self.page_id, "posts", **posts_args))
            for post in self._items(body):
                if not isinstance(post, dict) or not isinstance(post.get("id"), str):
                    log.warning("skipped a Facebook post without an id")
                    continue
                try:
                    for page, seen in self._comment_pages(post, since, outcome):
                        if seen is not None and (newest is None or seen > newest):
                            newest = seen
                        yield page
                except _Gone as exc:
                    gone.append(post["id"])
                    outcome.notes.append(f"skipped the comments of post {post['id']}: {exc}")
                    continue
                read += 1
            posts_args = pages.next(_next_args(body))
        if gone and not read:
            # Every post failing the same way is our request at fault, not deleted posts: keep the
            # cursor where it was, so nothing is skipped for good.
            raise TransientError(f"Graph could not read the comments of any post ({outcome.notes[-1]})")
        outcome.cursor = newest.isoformat() if newest else cursor

    @staticmethod
    def _cursor_time(cursor: str | None) -> datetime | None:
        if not cursor:
            return None
        try:
            return parse_time(cursor)
        except MALFORMED:
            log.warning("ignored an unreadable Facebook cursor; reading the look-back window instead")
            return None

    @staticmethod
    def _items(body: Any) -> list[Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise TransientError("Graph sent a malformed list (no data array)")
        return data

    def _comment_pages(
        self, post: Mapping[str, Any], since: datetime, outcome: PollOutcome
    ) -> Iterator[tuple[Page, datetime | None]]:
        """Newest first, until comments are older than `since`; yields each page with its newest time."""
        args: dict[str, str] | None = {
            "filter": "stream",
            "order": "reverse_chronological",
            "fields": COMMENT_FIELDS,
            "limit": str(PAGE_SIZE),
        }
        pages = _Pages(f"comments of post {post['id']}")
        while args is not None:
            outcome.requests += 1
            body = self._read(
                partial(self.graph.get_connections, post["id"], "comments", **args), gone=GONE_CODES
            )
            mentions: list[Mention] = []
            skipped = 0
            newest: datetime | None = None
            reached_old = False
            for item in self._items(body):
                try:
                    created = parse_time(item.get("created_time") if isinstance(item, dict) else None)
                except MALFORMED:
                    created = None
                if created is not None and created < since:
                    reached_old = True
                    break
                if created is not None and (newest is None or created > newest):
                    newest = created
                try:
                    mention = self._mention(item, post)
                except (_Malformed, *MALFORMED) as exc:  # one odd field must not cost the whole page
                    item_id = item.get("id") if isinstance(item, dict) else None
                    log.warning(
                        "skipped a Facebook comment (id=%s) with a missing or malformed field: %s",
                        item_id,
                        exc,
                    )
                    skipped += 1
                    continue
                if mention is not None:
                    mentions.append(mention)
            yield Page(mentions=tuple(mentions), skipped=skipped), newest
            args = None if reached_old else pages.next(_next_args(body))

    def _mention(self, item: Any, post: Mapping[str, Any]) -> Mention | None:
        if not isinstance(item, dict):
            raise _Malformed("not an object")
        for key in ("id", "message", "created_time"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise _Malformed(f"{key} missing")
        author: Mapping[str, Any] = item["from"] if isinstance(item.get("from"), dict) else {}
        author_id = str(author.get("id") or "")
        if author_id == self.page_id:
            return None  # the Page's own comment or reply
        try:
            created_at = parse_time(item["created_time"])
        except MALFORMED as exc:
            raise _Malformed("created_time is not a time with an offset") from exc
        parent: Mapping[str, Any] | None = item["parent"] if isinstance(item.get("parent"), dict) else None
        post_text = post.get("message") if isinstance(post.get("message"), str) else None
        if parent is not None and isinstance(parent.get("id"), str):
            parent_id = parent["id"]
            parent_text = parent.get("message") if isinstance(parent.get("message"), str) else post_text
        else:
            parent_id, parent_text = post["id"], post_text
        permalink = item.get("permalink_url")
        return Mention(
            platform="facebook",
            external_id=item["id"],
            account_external_id=self.page_id,
            author=Author(
                id=author_id or "unknown",
                name=str(author.get("name") or ""),
                url=f"https://www.facebook.com/{author_id}" if author_id else "",
            ),
            text=item["message"],
            url=permalink
            if isinstance(permalink, str) and permalink
            else f"https://www.facebook.com/{item['id']}",
            created_at=created_at,
            conversation_id=post["id"],
            parent_id=parent_id,
            parent_text=excerpt(parent_text) if parent_text else None,
            explicit_mention=True,  # a Page may always answer comments on its own posts
            raw={
                "comment": item,
                "post": {k: post[k] for k in ("id", "message", "permalink_url") if k in post},
            },
        )

    # -- writing -------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        # Facebook threads are one level deep (a reply comment has can_comment=false): an answer
        # to a reply goes to its top-level comment, where the Facebook UI would put it too.
        is_reply = mention.parent_id is not None and mention.parent_id != mention.conversation_id
        target = mention.parent_id if is_reply and mention.parent_id else mention.external_id
        body = self._write(lambda: self.graph.put_comment(target, message=text))
        try:
            reply_id = body["id"]
            if not isinstance(reply_id, str) or not reply_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise AmbiguousOutcome("Graph accepted the reply but its answer was unreadable") from exc
        return PostedReply(external_id=reply_id, url=f"https://www.facebook.com/{reply_id}")

    def like(self, mention: Mention) -> None:
        body = self._write(lambda: self.graph.put_like(mention.external_id))
        if not (isinstance(body, dict) and body.get("success") is True):
            raise AmbiguousOutcome("Graph did not confirm the like")

    # -- error mapping -------------------------------------------------------------------

    def _graph_error(self, exc: facebook.GraphAPIError) -> str:
        """Graph's own words, which can quote the token back ("Malformed access token EAA...")."""
        code = exc.code if exc.code is not None else "none"
        message = str(exc.message)
        if self._token:
            message = message.replace(self._token, "[redacted]")
        return redact(f"Graph error code {code}: {message[:300]}")

    def _read(
        self, call: Callable[[], Any], refused: set[int] | None = None, gone: set[int] | None = None
    ) -> Any:
        try:
            return call()
        except facebook.GraphAPIError as exc:
            code = exc.code
            if gone and code in gone:
                raise _Gone(self._graph_error(exc)) from None
            if refused and code in refused:
                raise Rejected(f"Facebook refused it ({self._graph_error(exc)})") from None
            if code in AUTH_CODES:
                raise AuthFailed(f"Facebook refused the Page token ({self._graph_error(exc)})") from None
            if code in PERMISSION_CODES:
                raise AuthFailed(f"the Page token lacks a permission ({self._graph_error(exc)})") from None
            if code in RATE_CODES:
                raise RateLimited(f"Facebook rate limit reached ({self._graph_error(exc)})") from None
            raise TransientError(self._graph_error(exc)) from None
        except requests.RequestException as exc:
            raise TransientError(f"Graph request {describe(exc)}") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise TransientError(f"Graph sent a malformed answer ({type(exc).__name__})") from None

    def _write(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except facebook.GraphAPIError as exc:
            code = exc.code
            if code in AUTH_CODES:
                raise AuthFailed(f"Facebook refused the Page token ({self._graph_error(exc)})") from None
            if code in RATE_CODES:
                raise RateLimited(f"Facebook rate limit reached ({self._graph_error(exc)})") from None
            if code is None or code in TEMPORARY_CODES:
                raise AmbiguousOutcome(f"{self._graph_error(exc)}; the comment may exist") from None
            raise Rejected(f"Facebook refused it ({self._graph_error(exc)})") from None
        except requests.RequestException as exc:
            raise AmbiguousOutcome(f"Graph request {describe(exc)}; the comment may exist") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise AmbiguousOutcome(f"Graph sent a malformed answer ({type(exc).__name__})") from None
