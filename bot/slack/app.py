"""The Bolt app: built once from the Context, served over HTTP or Socket Mode.

Listeners live in the modules of `LISTENER_MODULES`, each with `register(app, ctx)`. They ack
first and hand slow work (platform calls, chat.update, DMs) to `after_ack`, so Slack's 3-second
rule never depends on X or Facebook. Request verification is always on: in HTTP mode with the
signing secret, in Socket Mode through the authenticated WebSocket.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import importlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltResponse
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_sdk import WebClient
from sqlalchemy import text

from bot.commands import CommandError
from bot.config import ConfigError
from bot.context import Context
from bot.slack.client import make_posting_client, make_web_client
from bot.slack.roles import Refused

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
LISTENER_MODULES = ("bot.slack.actions", "bot.slack.dispatch", "bot.slack.connect")
MAX_BODY = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger unread
HTTP_THREADS = 48  # enough for bursts of concurrent clicks without queueing the acks
WORK_THREADS = 4  # slow work after the ack (platform calls, chat.update)
UI_THREADS = 8
SLACK_APP_KEY = "slack.app"


@dataclass
class SlackApp:
    """The Bolt app, the clients it uses and the pool that runs work after the ack."""

    app: App
    client: WebClient
    poster: WebClient  # for messages that must exist once (no blind retries)
    work: ThreadPoolExecutor
    ui: ThreadPoolExecutor  # quick Slack-only work (views.open must beat the trigger's 3 s)
    listeners: ThreadPoolExecutor  # Bolt runs listeners (which only ack and queue) here
    signing_secret: str = ""  # to tell a signed but unreadable body (400) from a forged one (401)
    _pending: set[Future[Any]] = field(default_factory=set)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def submit(self, fn: Callable[..., Any], *args: Any, fast: bool = False) -> Future[Any]:
        """Run `fn` in the work pool; its exceptions are logged, never lost silently."""

        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("work after ack failed in %s", getattr(fn, "__name__", fn))
                raise

        with self._lock:
            future = (self.ui if fast else self.work).submit(run)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Wait until no work is queued or running (tests, benchmarks and shutdown use it)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending, timeout=timeout)

    def close(self) -> None:
        self.wait_idle(5.0)
        self.work.shutdown(wait=False, cancel_futures=True)
        self.ui.shutdown(wait=False, cancel_futures=True)
        self.listeners.shutdown(wait=False, cancel_futures=True)


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _QuietTokenNotice) for f in logger.filters):
        logger.addFilter(_QuietTokenNotice())
    return logger


def slack_app(ctx: Context) -> SlackApp:
    found = ctx.extras.get(SLACK_APP_KEY)
    if not isinstance(found, SlackApp):
        raise RuntimeError("the Slack app is not built; call bot.slack.app.build_slack(ctx) first")
    return found


def after_ack(ctx: Context, fn: Callable[..., Any], *args: Any, fast: bool = False) -> None:
    """Run work after the listener has acked; `fast` for Slack-only work that must not queue."""
    found = ctx.extras.get(SLACK_APP_KEY)
    if isinstance(found, SlackApp):
        found.submit(fn, *args, fast=fast)
    else:  # no app (a CLI path): run it now
        fn(*args)


def user_message(error: BaseException) -> str:
    if isinstance(error, (Refused, CommandError)):
        return str(error)
    return "Sorry, something went wrong and nothing was changed. The error has been logged for your admins."


class _QuietTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it is unused because we pass our own
    client (which carries the same token and our base URL and retry handlers); the warning
    would only alarm admins reading the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


def build_slack(ctx: Context) -> SlackApp:
    """Build the Bolt app with TwoWay's listeners and set `ctx.slack`."""
    settings = ctx.settings
    settings.require("SLACK_BOT_TOKEN")
    client = make_web_client(settings)
    signing = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    if not signing:
        # Socket Mode needs no signing secret; an unguessable one keeps HTTP requests refused.
        signing = secrets.token_hex(32)
    listeners = ThreadPoolExecutor(max_workers=HTTP_THREADS, thread_name_prefix="bolt")
    app = App(
        client=client,
        signing_secret=signing,
        token_verification_enabled=False,  # auth.test on the first request, not at import time
        process_before_response=False,
        listener_executor=listeners,
        logger=_bolt_logger(),
    )
    slack = SlackApp(
        app=app,
        client=client,
        poster=make_posting_client(settings),
        work=ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="twoway-work"),
        ui=ThreadPoolExecutor(max_workers=UI_THREADS, thread_name_prefix="twoway-ui"),
        listeners=listeners,
        signing_secret=signing,
    )
    ctx.slack = client
    ctx.extras[SLACK_APP_KEY] = slack

    app.error(_on_error)
    _register_events(app, ctx)
    for name in LISTENER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            log.warning("Slack listener module %s is not installed; its features are off", name)
            continue
        module.register(app, ctx)
    _register_fallbacks(app, ctx)
    return slack


UNKNOWN_ACTION = "TwoWay does not know this button (it may be from an older card). Nothing was changed."
UNKNOWN_FORM = "TwoWay does not know this form (it may be from an older version). Nothing was saved."


def _register_fallbacks(app: App, ctx: Context) -> None:
    """Registered last, so they only catch what no listener took: an answer instead of a 404."""

    def unknown_action(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        log.info("unknown action id %r", str(action.get("action_id"))[:60])
        if body.get("response_url"):
            after_ack(ctx, _tell_unknown, respond, fast=True)

    def unknown_form(ack: Any, body: dict[str, Any]) -> None:
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        first = next(iter(values), None)
        if first is None:
            ack()
        else:
            ack(response_action="errors", errors={first: UNKNOWN_FORM})

    def closed(ack: Any) -> None:
        ack()  # a modal closed without saving: nothing to do, and not a 404

    app.action(re.compile(".*"))(unknown_action)
    app.view(re.compile(".*"))(unknown_form)
    app.view_closed(re.compile(".*"))(closed)


def _tell_unknown(respond: Any) -> None:
    try:
        respond(text=UNKNOWN_ACTION, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not tell the user about an unknown action")


def _on_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse:
    """The last line: a clear ephemeral answer, and a log line without request bodies or secrets."""
    if isinstance(error, (Refused, CommandError)):
        log.info("refused: %s", error)
    else:
        log.error("Slack listener failed: %s", type(error).__name__, exc_info=error)
    message = user_message(error)
    if body.get("type") == "view_submission":
        # Keep the form open with the message next to its first input; nothing was saved.
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        first = next(iter(values), None)
        if first is not None:
            return BoltResponse(status=200, body={"response_action": "errors", "errors": {first: message}})
        return BoltResponse(status=200, body="")
    if body.get("type") == "block_actions" and body.get("response_url"):
        try:
            respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("could not tell the user about an error")
    return BoltResponse(status=200, body={"response_type": "ephemeral", "text": message})


def _register_events(app: App, ctx: Context) -> None:
    from storage import audit

    def uninstalled(event: dict[str, Any], ack: Callable[..., None], request: BoltRequest) -> None:
        ack()
        if request.headers.get("x-slack-retry-num"):
            return  # Slack re-sent an event it thinks we missed; the first delivery did the work
        kind = str(event.get("type", "app_uninstalled"))
        log.error("Slack says %s: TwoWay can no longer post; reinstall the app and update the token", kind)
        # In the work pool, like every other write after an ack, so shutdown and tests can wait for it.
        after_ack(ctx, record, kind)

    def record(kind: str) -> None:
        with ctx.transaction() as session:
            audit.record(session, ctx.clock.now(), "slack_" + kind)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(uninstalled)


# -- HTTP ------------------------------------------------------------------------------------------


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
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return 503, "database unavailable"
    return 200, "ok"


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
        from slack_bolt.adapter.socket_mode import SocketModeHandler

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
    from waitress import serve  # type: ignore[import-untyped]

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
