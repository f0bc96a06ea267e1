"""The Bolt app: built once from the Context, served by `bot.slack.serve`.

Each feature registers its listeners with `register(app, ctx)` (`bot.app` calls them). They ack
first and hand slow work (platform calls, chat.update, DMs) to `after_ack`, so Slack's 3-second
rule never depends on X or Facebook. Request verification is always on: in HTTP mode with the
signing secret, in Socket Mode through the authenticated WebSocket.

Slack has been told yes once a listener acks, so a stop (SIGTERM) finishes that work first:
`SlackApp.close` keeps the pool running for DRAIN_SECONDS, and whatever has not started by then
is not started at all; its clicker is told (a listener passes `dropped` to say how) and the
log says so.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
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
# At a stop, acked work may still start for this long. Hosts kill about 30 s after SIGTERM
# (Heroku, Kubernetes; systemd 90 s; Docker 10 s unless its stop timeout is raised), and work
# started by then ends within one platform timeout (TWOWAY_HTTP_TIMEOUT, 10 s) and a card redraw.
DRAIN_SECONDS = 15.0
TELL_SECONDS = 5.0  # then, for telling the clickers of work that never started


class ListenerPool(ThreadPoolExecutor):
    """Bolt's listener pool, counting the listeners in flight. A listener acks, then queues its
    work, and the ack can reach Slack (or a test) before the work is queued: `wait_idle` waits for
    the listeners too, so nothing acked is still on its way to the work pool."""

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._idle = threading.Condition()
        self._running = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._running += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._idle:
            self._running -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout)


@dataclass(frozen=True)
class _Job:
    name: str
    dropped: Callable[[], None] | None  # tells the clicker it was not done; None: log only


@dataclass
class SlackApp:
    """The Bolt app, the clients it uses and the pool that runs work after the ack."""

    app: App
    client: WebClient
    poster: WebClient  # for messages that must exist once (no blind retries)
    work: ThreadPoolExecutor
    ui: ThreadPoolExecutor  # quick Slack-only work (views.open must beat the trigger's 3 s)
    listeners: ListenerPool  # Bolt runs listeners (which only ack and queue) here
    signing_secret: str = ""  # to tell a signed but unreadable body (400) from a forged one (401)
    _pending: dict[Future[Any], _Job] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False  # past the drain: new work is dropped, not started

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        fast: bool = False,
        dropped: Callable[[], None] | None = None,
    ) -> Future[Any]:
        """Run `fn` in the work pool; its exceptions are logged, never lost silently. `dropped`
        tells the person who asked for it, if a stop comes before it starts."""

        def run() -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("work after ack failed in %s", getattr(fn, "__name__", fn))
                raise

        job = _Job(getattr(fn, "__qualname__", str(fn)), dropped)
        with self._lock:
            stopped = self._stopped
            if not stopped:
                future = (self.ui if fast else self.work).submit(run)
                self._pending[future] = job
        if stopped:  # acked while the process was already past its drain
            log.warning("stopping: acked work arrived after the drain and was not carried out: %s", job.name)
            self._tell_dropped([job])
            future = Future()
            future.cancel()
            return future
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.pop(future, None)
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Wait until no listener is running and no work is queued or running (tests, benchmarks
        and shutdown use it). A listener queues its work before it ends, so once the listeners
        are idle, the work pool holds everything that was acked."""
        deadline = time.monotonic() + timeout
        if not self.listeners.wait_idle(timeout):
            return False
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._pending, timeout=max(0.0, deadline - time.monotonic())
            )

    def close(self, drain: float = DRAIN_SECONDS) -> None:
        """Stop after the work Slack was already told yes to, within `drain` seconds.

        Queued work keeps starting until then; what has not started is cancelled and its clicker
        told (nothing of it happened, so a click again is safe). Work still running is left to
        finish while the process exits: a reply cut off by the host's kill stays `sending` and
        the sweep turns it `unknown` for staff to check, as after a crash.
        """
        with self._lock:
            waiting = len(self._pending)
        if waiting:
            log.info("stopping: finishing %d acked job(s) first (up to %.0f s)", waiting, drain)
        if not self.wait_idle(drain):
            with self._lock:
                self._stopped = True
                queued = [job for future, job in list(self._pending.items()) if future.cancel()]
                running = len(self._pending)
            if queued:
                log.warning(
                    "stopping: %d acked job(s) had not started after %.0f s and were not carried out "
                    "(the people who asked are told): %s",
                    len(queued),
                    drain,
                    ", ".join(sorted({job.name for job in queued})),
                )
                self._tell_dropped(queued)
            if running:
                log.warning(
                    "stopping: %d job(s) still running; a reply cut off by the stop shows as "
                    "unconfirmed on its card after 10 minutes",
                    running,
                )
        with self._lock:
            self._stopped = True
        self.work.shutdown(wait=False, cancel_futures=True)
        self.ui.shutdown(wait=False, cancel_futures=True)
        self.listeners.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _tell_dropped(jobs: list[_Job]) -> None:
        """Tell everyone at once, within TELL_SECONDS: the host's kill is coming."""
        tells = [job.dropped for job in jobs if job.dropped is not None]
        if not tells:
            return
        began = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=min(8, len(tells)), thread_name_prefix="twoway-stop")
        futures = [pool.submit(_quietly, tell) for tell in tells]
        late = wait_all(futures, timeout=TELL_SECONDS).not_done
        pool.shutdown(wait=False, cancel_futures=True)
        if late:
            log.warning(
                "stopping: %d of %d people could not be told in %.0f s that their click was not carried out",
                len(late),
                len(tells),
                time.monotonic() - began,
            )


def _quietly(tell: Callable[[], None]) -> None:
    try:
        tell()
    except Exception:
        log.warning("stopping: could not tell someone their click was not carried out", exc_info=True)


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


def after_ack(
    ctx: Context,
    fn: Callable[..., Any],
    *args: Any,
    fast: bool = False,
    dropped: Callable[[], None] | None = None,
) -> None:
    """Run work after the listener has acked; `fast` for Slack-only work that must not queue;
    `dropped` tells the clicker when a stop comes before the work starts."""
    found = ctx.attached(SlackApp)
    if found is not None:
        found.submit(fn, *args, fast=fast, dropped=dropped)
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
    listeners = ListenerPool(max_workers=HTTP_THREADS, thread_name_prefix="bolt")
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
