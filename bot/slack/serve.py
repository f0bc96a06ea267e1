"""Serving the Bolt app: HTTP (`/slack/events` and `/healthz`) or Socket Mode.

Slack's requests are checked before Bolt sees them: a body that is not what Slack sends is
refused (400 when signed, 401 when not) instead of reaching a listener half-parsed.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from waitress import serve  # type: ignore[import-untyped]

from bot.core.config import ConfigError
from bot.core.context import Context
from bot.slack.app import HTTP_THREADS, SlackApp
from storage import db

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger unread


def bolt_request(raw: str, query: str, headers: dict[str, str]) -> BoltRequest:
    """A BoltRequest, with Bolt's `payload` quirk fixed for slash commands.

    Bolt parses any form body containing the substring "payload" as an interactive payload and
    finds nothing in `/twoway ... payload ...`. The signature is still checked on the raw body;
    only the parsed form is corrected, and only for a form with a `command` and no `payload`.
    """
    request = BoltRequest(body=raw, query=query, headers=dict(headers))
    if not request.body and "payload" in raw and not raw.lstrip().startswith("{"):
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if "command" in form and "payload" not in form:
            request.body = form
            request.context = build_context(BoltContext(), form)
    return request


def _health(ctx: Context) -> tuple[int, str]:
    return (200, "ok") if db.reachable(ctx.engine) else (503, "database unavailable")


def make_wsgi(ctx: Context, slack: SlackApp | None, events: bool = True) -> Callable[..., Iterable[bytes]]:
    """The WSGI app: POST /slack/events to Bolt, GET /healthz, 404 for the rest."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        status, body, content_type, extra = 404, "Not Found", "text/plain; charset=utf-8", []
        if method == "GET" and path == HEALTH_PATH:
            status, body = _health(ctx)
        elif method == "POST" and path == EVENTS_PATH and events and slack is not None:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_BODY:
                status, body = 413, "Payload Too Large"
            else:
                data = environ["wsgi.input"].read(length) if length else b""
                headers = {
                    k[5:].replace("_", "-").lower(): str(v)
                    for k, v in environ.items()
                    if k.startswith("HTTP_")
                }
                headers["content-type"] = environ.get("CONTENT_TYPE", "")
                raw = _text(data)
                if raw is None or _broken(raw, headers["content-type"]):
                    # Nothing Slack sends looks like this: refuse it, after the signature says who sent it.
                    signed = _signed(slack.signing_secret, data, headers)
                    response = BoltResponse(
                        status=400 if signed else 401, body="Bad Request" if signed else ""
                    )
                else:
                    try:
                        response = slack.app.dispatch(
                            bolt_request(raw, environ.get("QUERY_STRING", ""), headers)
                        )
                    except Exception as exc:  # a malformed payload that Bolt cannot read: never a 500
                        log.warning("unreadable Slack request (%s)", type(exc).__name__)
                        response = BoltResponse(status=400, body="Bad Request")
                status, body = response.status, response.body
                content_type = ""
                for key, values in response.headers.items():
                    for value in values:
                        if key.lower() == "content-type":
                            content_type = value
                        elif key.lower() != "content-length":
                            extra.append((key, value))
                content_type = content_type or "text/plain; charset=utf-8"
        data = body.encode()
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
        headers_out = [("Content-Type", content_type), ("Content-Length", str(len(data))), *extra]
        start_response(f"{status} {reason}", headers_out)
        return [data]

    return application


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _signed(secret: str, data: bytes, headers: dict[str, str]) -> bool:
    """Slack's v0 signature over the raw bytes (slack-sdk's verifier wants text, and these may
    not be text), at most five minutes old."""
    stamp, given = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
    if not (secret and stamp.isdigit() and abs(time.time() - int(stamp)) <= 300):
        return False
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + data, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", given)


def _broken(raw: str, content_type: str) -> bool:
    """An empty body, or an interaction that is not an object with a type (and, for clicks, a
    list of actions each with an action id): Slack sends none of these."""
    if not raw.strip():
        return True
    if content_type.startswith("application/json") or raw.lstrip().startswith("{"):  # as Bolt reads it
        try:
            body = json.loads(raw)
        except ValueError:
            return True
        return not (isinstance(body, dict) and isinstance(body.get("type"), str))
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "command" in form or "ssl_check" in form:
        return False
    if "payload" not in form:
        return True  # a form that is neither a command nor an interaction
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return True
    if not (isinstance(payload, dict) and isinstance(payload.get("type"), str)):
        return True
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        return not (
            isinstance(actions, list)
            and actions
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    return False


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: %s", format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of clicks must not wait in SYN retries


@dataclass
class HttpServer:
    """A running threaded server: `url`, `port`, `stop()`."""

    server: _ThreadingWSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_http_server(
    ctx: Context, slack: SlackApp | None, host: str = "127.0.0.1", port: int = 0, events: bool = True
) -> HttpServer:
    """Serve the app from a thread, one thread per request (tests, the benchmark, Socket Mode health).

    `twoway run` in HTTP mode uses waitress instead (`serve_forever`); both serve `make_wsgi`.
    """
    server = make_server(
        host,
        port,
        make_wsgi(ctx, slack, events=events),
        server_class=_ThreadingWSGIServer,
        handler_class=_Handler,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return HttpServer(server=server, thread=thread, host=host)


def serve_forever(ctx: Context, slack: SlackApp) -> None:
    """`twoway run`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT."""
    settings = ctx.settings
    try:
        who = slack.client.auth_test()
        log.info("connected to Slack as %s in team %s", who.get("user_id"), who.get("team_id"))
    except Exception as exc:
        log.warning("Slack auth.test failed at start-up (%s); requests will retry it", type(exc).__name__)
    if settings.socket_mode and settings.slack_app_token is not None:
        with _port_in_use(settings.port):
            health = start_http_server(ctx, None, host="0.0.0.0", port=settings.port, events=False)  # noqa: S104
        log.info("Socket Mode; health check on :%s%s", health.port, HEALTH_PATH)
        handler = SocketModeHandler(slack.app, settings.slack_app_token.get_secret_value())
        try:
            _connect_socket_mode(handler)
            threading.Event().wait()  # what handler.start() does after connecting; SIGTERM ends it
        finally:
            # Hang up first: an envelope acked while the work pool drains would lose its work.
            handler.close()  # type: ignore[no-untyped-call]
            health.stop()
            slack.close()
        return
    log.info("HTTP mode: Slack requests on :%s%s", settings.port, EVENTS_PATH)
    try:
        with _port_in_use(settings.port):
            serve(
                make_wsgi(ctx, slack),
                host="0.0.0.0",  # noqa: S104
                port=settings.port,
                threads=HTTP_THREADS,
                ident="twoway",
                connection_limit=200,
                channel_timeout=60,
                clear_untrusted_proxy_headers=True,
            )
    finally:
        slack.close()


@contextmanager
def _port_in_use(port: int) -> Iterator[None]:
    """Another program on $PORT is a configuration problem: one line, exit 2, no traceback."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(f"PORT {port} is already in use by another program: stop it or set PORT") from None


SOCKET_RETRY_MAX = 60.0  # seconds between attempts to open the first Socket Mode connection


def _connect_socket_mode(handler: Any) -> None:
    """Slack unreachable at start-up is retried, as HTTP mode keeps serving: no crash loop."""
    delay = 2.0
    while True:
        try:
            handler.connect()
            return
        except Exception as exc:
            log.error(
                "cannot open the Socket Mode connection to Slack (%s: %s); trying again in %.0f s",
                type(exc).__name__,
                str(exc)[:200],
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, SOCKET_RETRY_MAX)
