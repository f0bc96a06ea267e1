"""The running app for the admin tests: Bolt over HTTP, with fake Slack, X and Graph servers.

Requests reach the app signed, the way Slack sends them; every platform call lands on a fake
that records it. The secrets are distinctive strings, so a leak is found by substring search.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from bot.admin.connect import callback_id
from bot.app.wiring import build_slack
from bot.core.context import Context
from bot.slack.app import SlackApp
from bot.slack.serve import start_http_server
from storage import staff
from storage.db import make_sessionmaker
from storage.models import Account
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.bluesky_api import FakeBluesky
from tests.support.fakes.instagram_api import FakeInstagram
from tests.support.fakes.slack_api import FakeSlack
from tests.support.fakes.threads_api import FakeThreads
from tests.support.fakes.x_api import FakeX
from tests.support.signed import SlackResult, SlackSender

SIGNING_SECRET = "test-signing-secret-0123"
SECRET_KEY = "test-secret-key-0123456789"
ADMIN, OFFICER = "U0ADMIN01", "U0OFFICER1"
CHANNEL = "C0REVIEW01"
X_KEYS = {
    "api_key": "xkey-SECRET-consumer-key",
    "api_secret": "xsecret-SECRET-consumer-secret",
    "access_token": "1000-SECRET-access-token",
    "access_token_secret": "xats-SECRET-access-token-secret",
}
PAGE_TOKEN = "EAAB-SECRET-page-token-0123456789"
THREADS_TOKEN = "THAA-SECRET-threads-token-0123456789"
BLUESKY_PASSWORD = "secr-etap-ppas-swrd"


@dataclass
class Env:
    ctx: Context
    slack: FakeSlack
    x: FakeX
    graph: FakeInstagram
    app: SlackApp
    sender: SlackSender
    threads: FakeThreads
    bluesky: FakeBluesky

    def command(self, text: str, user: str = ADMIN, channel: str = CHANNEL) -> SlackResult:
        return self.sender.command(text, user, channel)

    def submit(self, platform: str, values: dict[str, str], user: str = ADMIN) -> SlackResult:
        state = {
            key: {"value": {"type": "plain_text_input", "value": value}} for key, value in values.items()
        }
        metadata = json.dumps({"channel": CHANNEL})
        return self.sender.submit_view(callback_id(platform), state, metadata, user_id=user)

    def accounts(self) -> list[Account]:
        with self.ctx.transaction() as session:
            return list(session.scalars(select(Account).order_by(Account.id)))


@contextmanager
def running_app(db_url: str, engine: Engine, clock: FakeClock, **env: str) -> Iterator[Env]:
    """The app with TWOWAY_ADMINS (default: ADMIN) bootstrapped as start-up does it."""
    slack = FakeSlack().start()
    fake_x = FakeX(
        api_key=X_KEYS["api_key"],
        api_secret=X_KEYS["api_secret"],
        access_token=X_KEYS["access_token"],
        access_token_secret=X_KEYS["access_token_secret"],
    ).start()
    graph = FakeInstagram(page_token=PAGE_TOKEN).start()  # the Graph host, with the Page's Instagram account
    threads = FakeThreads(token=THREADS_TOKEN, clock=clock.now).start()
    bluesky = FakeBluesky(app_password=BLUESKY_PASSWORD).start()
    values = {
        "DATABASE_URL": db_url,
        "TWOWAY_SECRET_KEY": SECRET_KEY,
        "TWOWAY_ADMINS": ADMIN,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "X_API_URL": fake_x.url,
        "FACEBOOK_GRAPH_URL": graph.url,
        "THREADS_API_URL": threads.url,
        "BLUESKY_SERVICE_URL": bluesky.url,
        **env,
    }
    settings = make_settings(**values)
    ctx = Context(settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock)
    with ctx.transaction() as session:
        staff.bootstrap_admins(session, settings.twoway_admins, clock.now())
    app = build_slack(ctx)
    server = start_http_server(ctx, app)
    try:
        sender = SlackSender(server.url, SIGNING_SECRET, slack.response_url_base)
        yield Env(ctx, slack, fake_x, graph, app, sender, threads, bluesky)
    finally:
        server.stop()
        app.close()
        for fake in (slack, fake_x, graph, threads, bluesky):
            fake.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until `condition()` is truthy (work that runs after Slack was answered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
