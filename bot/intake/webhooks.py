"""Meta's webhooks (`POST /facebook/events`): a Page's `feed` changes name the posts to read now.

Meta signs each delivery with the app secret (`X-Hub-Signature-256: sha256=HMAC(body)`); an
unsigned or wrongly signed delivery is refused before its body is read as JSON. Subscribing
answers Meta's `GET` check with the verify token. A delivery only leaves a pointer in the
account's poll progress (which post has new activity) and asks for that account's poll at once:
the poll reads the post itself, so nothing on a card comes from the webhook body, and polling
stays the backstop when a delivery is lost (or TwoWay runs in Socket Mode, without a public URL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.context import Context
from bot.slack.serve import WebAnswer, WebRequest
from connectors import registry
from storage import accounts, progress

log = logging.getLogger(__name__)

PATH = "/facebook/events"


@dataclass
class PollNow:
    """How this process asks for an account's poll at once (set by the scheduler, if it runs here)."""

    request: Callable[[int], None] | None = None


def signed(secret: str, body: bytes, header: str) -> bool:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _same(f"sha256={digest}", header.strip())


def _same(expected: str, given: str) -> bool:
    """compare_digest on bytes: on str it raises for a non-ASCII character (a forged header)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


class MetaWebhook:
    """The endpoint Meta's app dashboard is pointed at (Webhooks > Page > feed)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __call__(self, request: WebRequest) -> WebAnswer:
        settings = self.ctx.settings
        secret, verify = settings.facebook_app_secret, settings.facebook_verify_token
        if secret is None or verify is None:
            return WebAnswer(404, "Not Found")  # webhooks are off until both are configured
        if request.method == "GET":
            if request.query.get("hub.mode") == "subscribe" and _same(
                verify.get_secret_value(), request.query.get("hub.verify_token", "")
            ):
                log.info("Meta webhook subscription verified")
                return WebAnswer(200, request.query.get("hub.challenge", ""))
            return WebAnswer(403, "Forbidden")
        if request.method != "POST":
            return WebAnswer(405, "Method Not Allowed")
        if not signed(
            secret.get_secret_value(), request.body, request.headers.get("x-hub-signature-256", "")
        ):
            log.warning("refused a webhook delivery without a valid X-Hub-Signature-256")
            return WebAnswer(401, "")
        try:
            delivery = json.loads(request.body)
        except ValueError:
            return WebAnswer(400, "Bad Request")
        if not isinstance(delivery, dict) or not isinstance(delivery.get("entry"), list):
            return WebAnswer(400, "Bad Request")
        woken = self._record(delivery)
        waker = self.ctx.state(PollNow).request
        for account_id in woken:
            if waker is not None:
                waker(account_id)
        return WebAnswer(200, "ok")

    def _record(self, delivery: dict[str, Any]) -> set[int]:
        """Save each entry's pointers with its account; returns the accounts to poll now."""
        specs = [s for s in registry.PLATFORMS.values() if s.webhook_object == delivery.get("object")]
        woken: set[int] = set()
        now = self.ctx.clock.now()
        with self.ctx.transaction() as session:
            for entry in delivery["entry"]:
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str | int):
                    continue
                for spec in specs:
                    account = accounts.by_platform_id(session, spec.name, str(entry["id"]))
                    if account is None or not account.enabled or spec.webhook_progress is None:
                        continue
                    hints = spec.webhook_progress(entry)
                    if hints:
                        progress.save(session, account.id, dict(hints), now)
                        woken.add(account.id)
        if woken:
            log.info("webhook: new activity for account(s) %s; polling now", sorted(woken))
        return woken
