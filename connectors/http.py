"""The HTTP seam both platform libraries share: configurable base URL and a timeout on every call.

tweepy hard-codes `https://api.twitter.com` and facebook-sdk `https://graph.facebook.com`; both
send every request through a `requests.Session` we may replace, so rewriting the URL prefix here
is how a proxy, a regional endpoint or a test's fake server is reached. Neither library sets a
timeout by default, and a call without one can hang a scheduler thread forever.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests

TWEEPY_HOST = "https://api.twitter.com"
GRAPH_HOST = "https://graph.facebook.com"

_SECRET_QUERY = re.compile(r"(?i)((?:access_token|oauth_token|oauth_signature)=)[^&\s\"']+")


class ServerError(requests.RequestException):
    """A 5xx answer, raised by the session when the library itself would not notice it.

    facebook-sdk reads any JSON body without looking at the status; raising here (as a
    RequestException that is not an HTTPError, which the library would mishandle) lets the
    connector tell a server failure from a refusal.
    """

    def __init__(self, status: int, code: Any = None, message: str = "") -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        # The platform's own error in a JSON body, when it sent one: Graph answers "please reduce
        # the amount of data you're asking for" (code 1) with a 500, and it asks for a smaller page.
        self.code = code
        self.message = message


class RewritingSession(requests.Session):
    """A Session that sends `prefix...` URLs to `base_url...` and never waits without a limit."""

    def __init__(
        self, *, prefix: str, base_url: str, timeout: float, raise_server_errors: bool = False
    ) -> None:
        super().__init__()
        self.prefix = prefix.rstrip("/")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.raise_server_errors = raise_server_errors

    def rewrite(self, url: str) -> str:
        if url == self.prefix or url.startswith(self.prefix + "/"):
            return self.base_url + url[len(self.prefix) :]
        return url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, bytes):
            url = url.decode()
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().request(method, self.rewrite(url), *args, **kwargs)
        if self.raise_server_errors and response.status_code >= 500:
            code, message = _json_error(response)
            response.close()
            raise ServerError(response.status_code, code, message)
        return response


def _json_error(response: requests.Response) -> tuple[Any, str]:
    """The `error` object's code and message of a JSON error body; (None, "") for any other body."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    return error.get("code"), redact(str(error.get("message") or ""))[:300]


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a transport failure, for logs and account status."""
    if isinstance(exc, ServerError):
        return f"server error (HTTP {exc.status})"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return redact(f"{type(exc).__name__}: {exc}")[:300]


def redact(text: str) -> str:
    """Remove token values that libraries put into URLs and exception messages."""
    return _SECRET_QUERY.sub(r"\1[redacted]", text)


def quiet_library_debug_logs() -> None:
    """Libraries under the connectors log secrets at DEBUG: keep them at INFO at least.

    tweepy logs request headers (bearer tokens), oauthlib and requests_oauthlib log the OAuth 1.0a
    consumer key and access token while signing, urllib3 logs URLs (Graph `access_token=`).
    """
    for name in ("tweepy", "oauthlib", "requests_oauthlib", "urllib3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
