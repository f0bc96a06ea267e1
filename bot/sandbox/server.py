"""The sandbox put together: one port for the page, the fakes and TwoWay's own endpoint.

sandbox = Sandbox.bind(3000)           # fails at once if the port is taken
settings = ... sandbox.settings() ...  # point TwoWay at the fakes
sandbox.serve_app(make_wsgi(...))      # /slack/events and /healthz are TwoWay's
sandbox.start(every=8)                 # the feed starts; the page is live
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pydantic import SecretStr

from bot.sandbox.facebook import SimulatedFacebook
from bot.sandbox.feed import Feeder, Item
from bot.sandbox.page import Page
from bot.sandbox.platforms import Platform
from bot.sandbox.relay import Relay
from bot.sandbox.render import Renderer
from bot.sandbox.slack import CHANNEL, PERSONAS, SimulatedSlack
from bot.sandbox.web import Hub, Router
from bot.sandbox.x import SimulatedX

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: the sandbox is for the person at this computer


def platforms() -> list[Platform]:
    """Every simulated platform; a new one is a module with the `Platform` shape, added here."""
    return [SimulatedX(), SimulatedFacebook()]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox http: %s", format % args)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # live-update streams end with the process
    request_queue_size = 64


class Sandbox:
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.hub = Hub()
        self.router = Router()
        self.platforms = {p.key: p for p in platforms()}
        self.slack = SimulatedSlack(self.hub, self.url)
        self.signing_secret = secrets.token_hex(32)
        self.relay = Relay(self.slack, self.url + "/slack/events", self.signing_secret)
        self.renderer = Renderer(self.slack, self.platforms)
        self.page = Page(self.slack, self.relay, self.renderer, self.hub)
        self.slack.mount(self.router)
        self.page.mount(self.router)
        for key, platform in self.platforms.items():
            platform.mount(self.router, f"/{key}")
            platform.timeline.listeners.append(self._announcer(key))
        self.feeder: Feeder | None = None
        self.thread: threading.Thread | None = None
        server.set_app(self.router)

    def _announcer(self, key: str) -> Callable[[], None]:
        def announce() -> None:
            self.hub.publish({"kind": "timeline", "platform": key})

        return announce

    @classmethod
    def bind(cls, port: int) -> Sandbox:
        """Take the port now (OSError when it is in use), so settings can name it before serving."""
        return cls(make_server(HOST, port, lambda e, s: [], server_class=_Server, handler_class=_Quiet))

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Settings (by field name) that point TwoWay at the simulated Slack and platforms."""
        values: dict[str, Any] = {
            "slack_bot_token": SecretStr(self.slack.token),
            "slack_signing_secret": SecretStr(self.signing_secret),
            "slack_api_url": self.slack.api_url,
            "twoway_channel": CHANNEL,
            "twoway_secret_key": SecretStr(secrets.token_urlsafe(32)),
        }
        for key, platform in self.platforms.items():
            values.update(platform.settings(f"{self.url}/{key}"))
        return values

    @staticmethod
    def staff() -> dict[str, str]:
        """The simulated people and the TwoWay role each is given."""
        return {p.id: p.role for p in PERSONAS}

    def serve_app(self, app: WSGIApplication) -> None:
        """Whatever the sandbox does not serve itself (`/slack/events`, `/healthz`) goes to `app`."""
        self.router.fallback = app

    def start(self, every: float) -> None:
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()
        self.feeder = Feeder(self.publish, every)
        self.feeder.start()

    def publish(self, item: Item, at: datetime) -> None:
        platform = self.platforms.get(item.platform)
        if platform is not None:  # an item for a platform this build does not simulate
            platform.publish(item, at)

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def stop(self) -> None:
        if self.feeder is not None:
            self.feeder.stop()
        self.server.shutdown()
        self.server.server_close()
