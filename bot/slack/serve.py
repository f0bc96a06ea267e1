"""Serving the Bolt app: HTTP (`/slack/events`, `/healthz` and the platforms' webhook routes,
such as `/facebook/events`) or Socket Mode.

Slack's requests are checked before Bolt sees them: a body that is not what Slack sends is
refused (400 when signed, 401 when not) instead of reaching a listener half-parsed. A webhook
route is a function of a `WebRequest` given by the app's wiring; it checks its own signatures.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from waitress import serve  # type: ignore[import-untyped]

from bot.core import ids
from bot.core.config import ConfigError
from bot.core.context import Context
from bot.slack.app import HTTP_THREADS, SlackApp
from storage import db

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebRequest:
    method: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class WebAnswer:
    status: int
    body: str = ""


Route = Callable[[WebRequest], WebAnswer]

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger unread
# Meta batches up to 1,000 changes in one webhook delivery, non-ASCII text escaped as \uXXXX: a
# busy post's burst passes 1 MB, and a delivery refused is retried for 36 hours, then dropped.
MAX_WEBHOOK_BODY = 16_000_000


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


class EventsHandler(SlackRequestHandler):
    """slack_bolt's WSGI adapter, with what a public endpoint needs around it: `GET /healthz`, a
    bound on the body, the `payload` quirk fixed, and a 400 (never a 500) for a body Slack would
    not send, once the signature has said whether Slack sent it (401 when not)."""

    def __init__(
        self,
        ctx: Context,
        slack: SlackApp | None,
        events: bool = True,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self.ctx, self.slack, self.events = ctx, slack, events
        self.routes = dict(routes or {})
        self.verifier = SignatureVerifier(slack.signing_secret) if slack is not None else None
        if slack is not None:
            super().__init__(slack.app, path=EVENTS_PATH)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if method == "GET" and path == HEALTH_PATH:
            status, text = (200, "ok") if db.reachable(self.ctx.engine) else (503, "database unavailable")
            return self._answer(start_response, BoltResponse(status=status, body=text))
        if path in self.routes:
            return self._route(self.routes[path], environ, start_response)
        if self.slack is None or not self.events:
            return self._answer(start_response, BoltResponse(status=404, body="Not Found"))
        return super().__call__(environ, start_response)

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        length = int(request.environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return BoltResponse(status=413, body="Payload Too Large")
        data = request.environ["wsgi.input"].read(length) if length else b""
        headers = {k: str(v) for k, v in request.get_headers().items()}
        headers.setdefault("content-type", "")
        if not _readable_signature(headers):
            # slack_sdk would raise inside Bolt: a forged request would get the generic ephemeral
            # answer (a 200) and an error in the log.
            return BoltResponse(status=401, body="")
        raw = _text(data)
        if raw is None or _broken(raw, headers["content-type"]):
            # Nothing Slack sends looks like this: refuse it, after the signature says who sent it.
            signed = self._signed(data, raw, headers)
            return BoltResponse(status=400 if signed else 401, body="Bad Request" if signed else "")
        try:
            return self.app.dispatch(bolt_request(raw, request.query_string, headers))
        except Exception as exc:  # a malformed payload that Bolt cannot read: never a 500
            log.warning("unreadable Slack request (%s)", type(exc).__name__)
            return BoltResponse(status=400, body="Bad Request")

    def _signed(self, data: bytes, raw: str | None, headers: dict[str, str]) -> bool:
        """slack_sdk's check of the signature. It reads the timestamp with int(), compares the
        signature as str (which raises on non-ASCII) and reads the body as UTF-8 text, so headers it
        cannot read are refused first, and a body that is not UTF-8 (which Slack never sends, and a
        test signs to get its 400) is checked byte for byte."""
        stamp, given = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        if self.verifier is None or not (ids.is_number(stamp) and given.isascii()):
            return False
        if raw is not None:
            return self.verifier.is_valid(raw, stamp, given)
        if abs(time.time() - int(stamp)) > 300:
            return False
        secret = self.verifier.signing_secret.encode()
        digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + data, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"v0={digest}", given)

    def _route(
        self, route: Route, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_WEBHOOK_BODY:
            return self._answer(start_response, BoltResponse(status=413, body="Payload Too Large"))
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {
            k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
        }
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        request = WebRequest(environ.get("REQUEST_METHOD", "GET"), query, headers, body)
        try:
            answer = route(request)
        except Exception:
            log.exception("webhook route %s failed", environ.get("PATH_INFO"))
            answer = WebAnswer(500, "Internal Server Error")
        return self._answer(start_response, BoltResponse(status=answer.status, body=answer.body))

    @staticmethod
    def _answer(start_response: StartResponse, response: BoltResponse) -> Iterable[bytes]:
        answer = WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
        start_response(answer.status, answer.get_headers())
        return answer.get_body()


def make_wsgi(
    ctx: Context, slack: SlackApp | None, events: bool = True, routes: Mapping[str, Route] | None = None
) -> EventsHandler:
    """The WSGI app: POST /slack/events to Bolt, GET /healthz, the webhook `routes`, 404 for the rest."""
    return EventsHandler(ctx, slack, events, routes)


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _readable_signature(headers: Mapping[str, str]) -> bool:
    """Slack's stamp is ASCII digits and its signature ASCII text. slack_sdk reads the stamp with
    int() and compares the signature as str, which raises on a non-ASCII character; either
    header may be missing (that is a plain 401 from Bolt)."""
    stamp, given = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    return (stamp is None or ids.is_number(stamp)) and (given is None or given.isascii())


def _broken(raw: str, content_type: str) -> bool:
    """An empty body, an interaction that is not an object with a type (and, for clicks, a
    list of actions each with an action id; for forms, a view object), or an event callback
    without an event object with a type: Slack sends none of these."""
    if not raw.strip():
        return True
    if content_type.startswith("application/json") or raw.lstrip().startswith("{"):  # as Bolt reads it
        try:
            body = json.loads(raw)
        except ValueError:
            return True
        if not _typed(body):
            return True
        return body["type"] == "event_callback" and not _typed(body.get("event"))
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "command" in form or "ssl_check" in form:
        return False
    if "payload" not in form:
        return True  # a form that is neither a command nor an interaction
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return True
    if not _typed(payload):
        return True
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        return not (
            isinstance(actions, list)
            and actions
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if payload["type"] in ("view_submission", "view_closed"):
        return not isinstance(payload.get("view"), dict)
    return False


def _typed(value: Any) -> bool:
    """An object with a `type`, as every interaction payload and every event is."""
    return isinstance(value, dict) and isinstance(value.get("type"), str)


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
    ctx: Context,
    slack: SlackApp | None,
    host: str = "127.0.0.1",
    port: int = 0,
    events: bool = True,
    routes: Mapping[str, Route] | None = None,
) -> HttpServer:
    """Serve the app from a thread, one thread per request (tests, the benchmark, Socket Mode health).

    `twoway run` in HTTP mode uses waitress instead (`serve_forever`); both serve `make_wsgi`.
    """
    server = make_server(
        host,
        port,
        make_wsgi(ctx, slack, events=events, routes=routes),
        server_class=_ThreadingWSGIServer,
        handler_class=_Handler,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return HttpServer(server=server, thread=thread, host=host)


def reserve_port(port: int) -> socket.socket:
    """$PORT, bound before `twoway run` migrates, registers accounts or takes the scheduler, so a
    port in use stops it with one line before it has done anything. `serve_forever` serves on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
    try:
        with _port_in_use(port):
            listener.bind(("0.0.0.0", port))  # noqa: S104
    except BaseException:
        listener.close()
        raise
    return listener


def serve_forever(
    ctx: Context,
    slack: SlackApp,
    routes: Mapping[str, Route] | None = None,
    listener: socket.socket | None = None,
) -> None:
    """`twoway run`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT (on `listener`,
    from `reserve_port`, when given)."""
    settings = ctx.settings
    check_bot_token(slack.client)
    if settings.socket_mode and settings.slack_app_token is not None:
        if listener is not None:
            listener.close()  # the health server binds $PORT itself
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
    sock = listener or reserve_port(settings.port)
    try:
        serve(
            make_wsgi(ctx, slack, routes=routes),
            sockets=[sock],
            threads=HTTP_THREADS,
            ident="twoway",
            connection_limit=200,
            channel_timeout=60,
            clear_untrusted_proxy_headers=True,
        )
    finally:
        # Refuse new requests at once (a new copy takes them) rather than leave them waiting
        # unanswered while the clicks already acked are finished.
        sock.close()
        slack.close()


# Slack's answers when the token itself is wrong, revoked, or its user or workspace is gone.
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


def check_bot_token(client: Any) -> None:
    """auth.test at start-up: who TwoWay is in Slack, or one line naming SLACK_BOT_TOKEN with
    Slack's error code (never the token). TwoWay keeps starting either way: requests retry it."""
    try:
        who = client.auth_test()
    except SlackApiError as exc:
        code = _error_code(exc)
        if code in TOKEN_REFUSED:
            log.error(
                "SLACK_BOT_TOKEN was refused by Slack at start-up (auth.test: %s): set it to the Bot User "
                "OAuth Token (xoxb-...) of the installed app; requests will retry it",
                code,
            )
        else:
            log.warning(
                "SLACK_BOT_TOKEN could not be checked at start-up (auth.test: %s); requests will retry it",
                code,
            )
        return
    except Exception as exc:
        log.warning(
            "SLACK_BOT_TOKEN could not be checked at start-up: Slack's auth.test failed (%s); "
            "requests will retry it",
            type(exc).__name__,
        )
        return
    log.info("connected to Slack as %s in team %s", who.get("user_id"), who.get("team_id"))


def _error_code(exc: SlackApiError) -> str:
    """Slack's `error` field (`invalid_auth`), or the HTTP status when the answer had none."""
    try:
        code = exc.response.get("error")
    except Exception:
        code = None
    if isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", code):
        return code
    status = getattr(exc.response, "status_code", None)
    return f"HTTP {status}" if isinstance(status, int) else "no error code"


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
