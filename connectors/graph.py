"""What the Facebook and Instagram connectors share: facebook-sdk's `GraphAPI` and Graph's error codes.

facebook-sdk 3.1.0 (2018) refuses every Graph version that exists today in its constructor, so
the version is set on the instance afterwards; it has no default timeout and a hard-coded host,
both supplied through `RewritingSession`. Paging is followed here rather than with
`get_all_connections`, which breaks on a `paging.next` URL without an access token and cannot
stop early. Instagram's endpoints live on the same host with the same Page token, so both
connectors call Graph through one `Graph` object each.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import requests

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from connectors.http import (
    GRAPH_HOST,
    RewritingSession,
    ServerError,
    describe,
    quiet_library_debug_logs,
    redact,
)

AUTH_CODES = {102, 190}  # token expired, revoked or invalidated
PERMISSION_CODES = {10} | set(range(200, 300))
RATE_CODES = {4, 17, 32, 341, 613} | set(range(80001, 80015))  # 341: "feed action request limit"
# Code 368 is a block: for a policy matter a refusal, but with this subcode Graph's "we limit how
# often you can post, comment or do other things": wait and try again, as for a rate limit.
POSTING_THROTTLE = (368, 1390008)
TEMPORARY_CODES = {1, 2}  # "unknown error" / "service temporarily unavailable"
GONE_CODES = {100}  # "does not exist / cannot be loaded": deleted since it was listed
GONE_SUBCODE = 33  # code 100's "object does not exist, cannot be loaded due to missing permissions"
USAGE_HEADERS = ("x-business-use-case-usage", "x-ad-account-usage", "x-app-usage")
MAX_PAGES = 200  # of one listing in one poll: beyond it Graph is looping
EXCERPT_CHARS = 500
SMALLEST_PAGE = 5  # a page Graph still finds too big at this size is not asked for smaller
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError)


class Malformed(Exception):
    """One item lacks a field TwoWay needs."""


class Gone(TransientError):
    """One object cannot be read (Graph code 100): the others are still read."""


class TooMuch(TransientError):
    """Graph's "please reduce the amount of data you're asking for" (code 1): a page of long
    comments or heavy attachments is refused at its size, every time, and served smaller."""


def _too_much(code: Any, message: str) -> bool:
    return code == 1 and "reduce the amount of data" in message.lower()


def fewer(limit: int, exc: TooMuch) -> int:
    """Half the page size, to ask for the refused page again; `exc` when it is small already."""
    if limit <= SMALLEST_PAGE:
        raise exc
    return max(SMALLEST_PAGE, limit // 2)


def regain_minutes(response: requests.Response) -> int | None:
    """Graph's `estimated_time_to_regain_access` (minutes) in its usage headers, the largest one
    given; None when no header says (then nobody knows how long the limit lasts)."""
    found: list[int] = []
    for name in USAGE_HEADERS:
        try:
            usage = json.loads(response.headers.get(name) or "null")
        except ValueError:
            continue
        entries = [usage] if isinstance(usage, dict) else []
        for value in usage.values() if isinstance(usage, dict) else ():
            entries += value if isinstance(value, list) else []
        for entry in entries:
            minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
            if isinstance(minutes, int) and 0 < minutes <= 24 * 60:
                found.append(minutes)
    return max(found, default=None)


def _gone(exc: facebook.GraphAPIError) -> bool:
    """Graph says the object a write is aimed at no longer exists (a deleted post or comment).

    Code 100 alone also means a bad parameter ("Replies to a reply are not allowed"), so only
    subcode 33 or Graph's "does not exist" / "Unsupported post request" wording counts.
    """
    words = str(exc.message).lower()
    return exc.code in GONE_CODES and (
        _subcode(exc) == GONE_SUBCODE or "does not exist" in words or "unsupported post request" in words
    )


def _subcode(exc: facebook.GraphAPIError) -> Any:
    error = exc.result.get("error") if isinstance(getattr(exc, "result", None), dict) else None
    return error.get("error_subcode") if isinstance(error, dict) else None


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


def maybe_time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except MALFORMED:
        return None


def next_args(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The query of `paging.next` without the token (the library adds its own)."""
    paging = body.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(nxt, str) or not nxt:
        return None
    args = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items() if k != "access_token"}
    return args or None


def items(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise TransientError("Graph sent a malformed list (no data array)")
    return data


class Pages:
    """The next page's arguments, unless Graph repeats a page or pages without end."""

    def __init__(self, what: str, limit: int = MAX_PAGES, platform: str = "Graph") -> None:
        self.what = what
        self.limit = limit
        self.platform = platform
        self.seen: set[tuple[tuple[str, str], ...]] = set()

    def next(self, args: dict[str, str] | None) -> dict[str, str] | None:
        if args is None:
            return None
        key = tuple(sorted(args.items()))
        if key in self.seen or len(self.seen) + 1 >= self.limit:
            raise TransientError(
                f"{self.platform} kept paging the {self.what} (a page repeated or over {self.limit})"
            )
        self.seen.add(key)
        return args


class Graph:
    """facebook-sdk's client for one token, and Graph's errors as connector errors."""

    def __init__(self, *, base_url: str, version: str, timeout: float, token: str, who: str) -> None:
        quiet_library_debug_logs()
        session = RewritingSession(
            prefix=GRAPH_HOST, base_url=base_url, timeout=timeout, raise_server_errors=True
        )
        self.token = token
        self.who = who  # "Facebook" / "Instagram", in error texts
        self.api = facebook.GraphAPI(access_token=token, timeout=timeout, session=session)
        self.api.version = version
        # The library drops the headers of an error answer; the rate-limit estimate is kept here,
        # per thread because one connector serves a poll and several clicks at once.
        self._last = threading.local()
        session.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
        self._last.regain = regain_minutes(response)
        return response

    def _rate_limited(self, exc: facebook.GraphAPIError) -> RateLimited:
        minutes = getattr(self._last, "regain", None)
        reset_at = datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None
        return RateLimited(f"{self.who} rate limit reached ({self.describe(exc)})", reset_at)

    @property
    def version(self) -> str:
        return str(self.api.version)

    def get(self, path: str, **args: str) -> Any:
        """`GET /{version}/{path}` through the library (it adds the token)."""
        return self.api.request(f"{self.version}/{path}", args)

    def post(self, path: str, **args: str) -> Any:
        return self.api.request(f"{self.version}/{path}", post_args=dict(args))

    def describe(self, exc: facebook.GraphAPIError) -> str:
        """Graph's own words, which can quote the token back ("Malformed access token EAA...")."""
        code = exc.code if exc.code is not None else "none"
        message = str(exc.message)
        if self.token:
            message = message.replace(self.token, "[redacted]")
        return redact(f"Graph error code {code}: {message[:300]}")

    def read(
        self, call: Callable[[], Any], refused: set[int] | None = None, gone: set[int] | None = None
    ) -> Any:
        try:
            return call()
        except facebook.GraphAPIError as exc:
            code = exc.code
            if gone and code in gone:
                raise Gone(self.describe(exc)) from None
            if refused and code in refused:
                raise Rejected(f"{self.who} refused it ({self.describe(exc)})") from None
            if code in AUTH_CODES:
                raise AuthFailed(f"{self.who} refused the Page token ({self.describe(exc)})") from None
            if code in PERMISSION_CODES:
                raise AuthFailed(f"the Page token lacks a permission ({self.describe(exc)})") from None
            if code in RATE_CODES:
                raise self._rate_limited(exc) from None
            if _too_much(code, str(exc.message)):
                raise TooMuch(self.describe(exc)) from None
            raise TransientError(self.describe(exc)) from None
        except requests.RequestException as exc:
            if isinstance(exc, ServerError) and _too_much(exc.code, exc.message):
                raise TooMuch(f"Graph request {describe(exc)}: {exc.message}") from None
            raise TransientError(f"Graph request {describe(exc)}") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise TransientError(f"Graph sent a malformed answer ({type(exc).__name__})") from None

    def write(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except facebook.GraphAPIError as exc:
            code = exc.code
            if code in AUTH_CODES:
                raise AuthFailed(f"{self.who} refused the Page token ({self.describe(exc)})") from None
            if code in RATE_CODES or (code, _subcode(exc)) == POSTING_THROTTLE:
                raise self._rate_limited(exc) from None
            if code is None or code in TEMPORARY_CODES:
                raise AmbiguousOutcome(f"{self.describe(exc)}; the comment may exist") from None
            if _gone(exc):
                raise PostGone(f"{self.who} says it no longer exists ({self.describe(exc)})") from None
            raise Rejected(f"{self.who} refused it ({self.describe(exc)})") from None
        except requests.RequestException as exc:
            raise AmbiguousOutcome(f"Graph request {describe(exc)}; the comment may exist") from None
        except ConnectorError:
            raise
        except MALFORMED as exc:
            raise AmbiguousOutcome(f"Graph sent a malformed answer ({type(exc).__name__})") from None
