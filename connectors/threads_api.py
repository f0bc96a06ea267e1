"""A thin client for the Threads Graph API on `requests`, and its errors as connector errors.

There is no maintained Python SDK for Threads, and facebook-sdk cannot be pointed at a second host
(`graph.threads.net`) without redirecting the Facebook calls too, so the few calls TwoWay makes
are plain HTTPS requests here. Errors come in Graph's shape (`{"error": {"code": ...}}`) with
Graph's codes, so they map to connector errors as Facebook's do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
from connectors.graph import (
    AUTH_CODES,
    GONE_CODES,
    MALFORMED,
    PERMISSION_CODES,
    RATE_CODES,
    TEMPORARY_CODES,
    Gone,
)
from connectors.http import describe, quiet_library_debug_logs, redact

VERSION = "v1.0"


class ThreadsError(Exception):
    """Threads answered with an error object (or a status without one)."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ThreadsApi:
    """One access token on the Threads host; the token may be replaced when it is refreshed."""

    def __init__(self, *, base_url: str, timeout: float, token: str) -> None:
        quiet_library_debug_logs()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token
        self.session = requests.Session()
        self.sent = 0  # every HTTP request, for the poll's count

    # -- transport ---------------------------------------------------------------------------

    def get(self, path: str, **params: str) -> Any:
        """`GET /v1.0/{path}`; the token goes in the query, as Threads documents."""
        return self._send("GET", f"{VERSION}/{path}", params={**params, "access_token": self.token})

    def post(self, path: str, **data: str) -> Any:
        """`POST /v1.0/{path}` with a form body (the token in the body, not the URL)."""
        return self._send("POST", f"{VERSION}/{path}", data={**data, "access_token": self.token})

    def get_root(self, path: str, **params: str) -> Any:
        """A call outside the versioned API (`/refresh_access_token`)."""
        return self._send("GET", path, params={**params, "access_token": self.token})

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        self.sent += 1
        response = self.session.request(method, f"{self.base_url}/{path}", timeout=self.timeout, **kwargs)
        if response.status_code >= 500:
            response.close()
            raise ThreadsError(response.status_code, None, f"server error (HTTP {response.status_code})")
        try:
            body = response.json()
        except ValueError:
            raise ThreadsError(response.status_code, None, "an answer that is not JSON") from None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) or response.status_code >= 400:
            error = error if isinstance(error, dict) else {}
            code = error.get("code")
            message = str(error.get("message") or f"HTTP {response.status_code}")
            raise ThreadsError(response.status_code, code if isinstance(code, int) else None, message)
        return body

    # -- errors -------------------------------------------------------------------------------

    def describe(self, exc: ThreadsError) -> str:
        """Threads' own words, without the token (Graph can quote a malformed token back)."""
        message = exc.message.replace(self.token, "[redacted]") if self.token else exc.message
        code = exc.code if exc.code is not None else f"HTTP {exc.status}"
        return redact(f"Threads error {code}: {message[:300]}")

    def read(self, call: Callable[[], Any], gone: bool = False) -> Any:
        """A read; any failure becomes the connector error that says what to do next."""
        try:
            body = call()
        except ThreadsError as exc:
            code = exc.code
            if gone and code in GONE_CODES:
                raise Gone(self.describe(exc)) from None
            if code in AUTH_CODES or exc.status == 401:
                raise AuthFailed(f"Threads refused the access token ({self.describe(exc)})") from None
            if code in PERMISSION_CODES:
                raise AuthFailed(f"the Threads token lacks a permission ({self.describe(exc)})") from None
            if code in RATE_CODES or exc.status == 429:
                raise RateLimited(f"Threads rate limit reached ({self.describe(exc)})") from None
            raise TransientError(self.describe(exc)) from None
        except requests.RequestException as exc:
            raise TransientError(f"Threads request {describe(exc)}") from None
        if not isinstance(body, dict):
            raise TransientError("Threads sent a malformed answer (not an object)")
        return body

    def write(self, call: Callable[[], Any], published: bool = True) -> Any:
        """A write. `published=False` for steps that make nothing public (a reply's container):
        whatever happens there, nothing was posted."""
        try:
            body = call()
        except ThreadsError as exc:
            code = exc.code
            if code in AUTH_CODES or exc.status == 401:
                raise AuthFailed(f"Threads refused the access token ({self.describe(exc)})") from None
            if code in RATE_CODES or exc.status == 429:
                raise RateLimited(f"Threads rate limit reached ({self.describe(exc)})") from None
            if code in GONE_CODES and "does not exist" in exc.message.lower():
                raise PostGone(f"Threads says the post no longer exists ({self.describe(exc)})") from None
            if code in PERMISSION_CODES:
                # About this post, not the token (who may reply is the author's choice; a read with
                # the same token works): as Facebook's and Instagram's writes, a refusal.
                raise Rejected(
                    f"Threads will not let the account do this here ({self.describe(exc)})"
                ) from None
            if not published:
                raise Rejected(
                    f"Threads did not prepare it ({self.describe(exc)}); nothing was posted"
                ) from None
            if exc.status >= 500 or code is None or code in TEMPORARY_CODES:
                raise AmbiguousOutcome(f"{self.describe(exc)}; the reply may exist") from None
            raise Rejected(f"Threads refused it ({self.describe(exc)})") from None
        except requests.RequestException as exc:
            if published:
                raise AmbiguousOutcome(f"Threads request {describe(exc)}; it may have happened") from None
            raise Rejected(f"Threads request {describe(exc)}; nothing was posted") from None
        except ConnectorError:
            raise
        if not isinstance(body, dict):
            if published:
                raise AmbiguousOutcome("Threads sent an unreadable answer; it may have happened")
            raise Rejected("Threads sent an unreadable answer; nothing was posted")
        return body


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def ref_id(value: Any) -> str | None:
    """`{"id": "..."}` (how Threads names a root post or the post replied to) -> its id."""
    found = value.get("id") if isinstance(value, Mapping) else None
    return found if isinstance(found, str) and found else None


__all__ = ["MALFORMED", "VERSION", "ThreadsApi", "ThreadsError", "ref_id", "text_of"]
