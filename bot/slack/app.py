"""The Bolt app: built once from the Context, served by `bot.slack.serve`.

Each feature registers its listeners with `register(app, ctx)` (`bot.app` calls them). They ack
first and hand slow work (platform calls, chat.update, DMs) to `after_ack`, so Slack's 3-second
rule never depends on X or Facebook. Request verification is always on: in HTTP mode with the
signing secret, in Socket Mode through the authenticated WebSocket.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.core.context import Context
from bot.core.errors import UserError
from bot.slack.client import make_web_client, posting_client_for
from storage import audit
from storage.audit import Action

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

HTTP_THREADS = 48  # enough for bursts of concurrent clicks without queueing the acks
WORK_THREADS = 4  # slow work after the ack (platform calls, chat.update)
UI_THREADS = 8


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
    found = ctx.attached(SlackApp)
    if found is None:
        raise RuntimeError("the Slack app is not built; call bot.app.wiring.build_slack(ctx) first")
    return found


def after_ack(ctx: Context, fn: Callable[..., Any], *args: Any, fast: bool = False) -> None:
    """Run work after the listener has acked; `fast` for Slack-only work that must not queue."""
    found = ctx.attached(SlackApp)
    if found is not None:
        found.submit(fn, *args, fast=fast)
    else:  # no app (a CLI path): run it now
        fn(*args)


def user_message(error: BaseException) -> str:
    if isinstance(error, UserError):
        return str(error)
    return "Sorry, something went wrong and nothing was changed. The error has been logged for your admins."


class _QuietTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it is unused because we pass our own
    client (which carries the same token and our base URL and retry handlers); the warning
    would only alarm admins reading the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


def build_bolt(ctx: Context) -> SlackApp:
    """Build the Bolt app, with the error handler and the uninstall events, and set `ctx.slack`.

    `bot.app` adds each feature's listeners, then `register_fallbacks`.
    """
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
        poster=posting_client_for(client),
        work=ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="twoway-work"),
        ui=ThreadPoolExecutor(max_workers=UI_THREADS, thread_name_prefix="twoway-ui"),
        listeners=listeners,
        signing_secret=signing,
    )
    ctx.slack, ctx.poster = client, slack.poster
    ctx.attach(slack)

    app.error(_on_error)
    _register_events(app, ctx)
    return slack


UNKNOWN_ACTION = "TwoWay does not know this button (it may be from an older card). Nothing was changed."
UNKNOWN_FORM = "TwoWay does not know this form (it may be from an older version). Nothing was saved."


def register_fallbacks(app: App, ctx: Context) -> None:
    """Registered last (by `bot.app`), so they only catch what no listener took: an answer instead of a 404."""

    def unknown_action(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        log.info("unknown action id %r", str(action.get("action_id"))[:60])
        if body.get("response_url"):
            after_ack(ctx, _tell_unknown, respond, fast=True)

    def unknown_form(ack: Any, body: dict[str, Any]) -> None:
        first = _first_input(body)
        if first is None:
            ack()
        else:
            ack(response_action="errors", errors={first: UNKNOWN_FORM})

    def closed(ack: Any) -> None:
        ack()  # a modal closed without saving: nothing to do, and not a 404

    app.action(re.compile(".*"))(unknown_action)
    app.view(re.compile(".*"))(unknown_form)
    app.view_closed(re.compile(".*"))(closed)


def _first_input(body: dict[str, Any]) -> str | None:
    """The block id of a submitted form's first input, where a form error can be shown; None
    when there is none, or the view is not in the shape Slack sends (the error handler must not fail)."""
    view = body.get("view")
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    return next(iter(values), None) if isinstance(values, dict) else None


def _tell_unknown(respond: Any) -> None:
    try:
        respond(text=UNKNOWN_ACTION, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not tell the user about an unknown action")


def _on_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse:
    """The last line: a clear ephemeral answer, and a log line without request bodies or secrets."""
    if isinstance(error, UserError):
        log.info("refused: %s", error)
    else:
        log.error("Slack listener failed: %s", type(error).__name__, exc_info=error)
    message = user_message(error)
    if body.get("type") == "view_submission":
        # Keep the form open with the message next to its first input; nothing was saved.
        first = _first_input(body)
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
    def uninstalled(event: dict[str, Any], ack: Callable[..., None], request: BoltRequest) -> None:
        ack()
        if request.headers.get("x-slack-retry-num"):
            return  # Slack re-sent an event it thinks we missed; the first delivery did the work
        kind = str(event.get("type", "app_uninstalled"))
        action = Action.SLACK_TOKENS_REVOKED if kind == "tokens_revoked" else Action.SLACK_APP_UNINSTALLED
        log.error("Slack says %s: TwoWay can no longer post; reinstall the app and update the token", kind)
        # In the work pool, like every other write after an ack, so shutdown and tests can wait for it.
        after_ack(ctx, record, action)

    def record(action: Action) -> None:
        with ctx.transaction() as session:
            audit.record(session, ctx.clock.now(), action)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(uninstalled)
