"""A Threads long-lived token, refreshed before it expires, and what a person must know when it cannot be.

A long-lived Threads token lasts 60 days; `GET /refresh_access_token?grant_type=th_refresh_token`
gives a new one for another 60 days, but only for a token at least 24 hours old that has not
expired. The token an admin pastes has an unknown age, so the first refresh is tried at once: a
refusal then may only mean the token is younger than a day, and it is tried again a day later.
A refusal after that (or of a token whose expiry is known) will not heal by itself: the account
keeps working while the token lasts, and `attention()` says so (an alert card). The refreshed
token is kept sealed in `accounts.session` (through the connector's saver), tied to the token
it came from, so pasting a new token starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import SessionSaver
from connectors.threads_api import ThreadsApi, ThreadsError

log = logging.getLogger(__name__)

REFRESH_BEFORE = timedelta(days=30)  # refresh once fewer days than this are left (60-day tokens)
WARN_BEFORE = timedelta(days=7)  # not refreshed this close to the end: a person must know
RETRY_FAILED = timedelta(hours=1)  # after a failed refresh (refusal or outage)
YOUNG_TOKEN = timedelta(hours=24)  # Threads refreshes only tokens at least this old
MAX_LIFETIME = timedelta(days=90)  # an `expires_in` beyond this is not believed


def origin_of(token: str) -> str:
    """Which configured token a saved state came from, without keeping the token twice in clear."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass
class TokenState:
    token: str
    origin: str
    expires_at: str | None = None  # ISO; None while the age of the pasted token is unknown
    tried_at: str | None = None  # the last failed refresh
    refusals: int = 0  # refusals in a row
    reason: str | None = None  # Threads' words for the last refusal


class TokenKeeper:
    """The token to use now, refreshed through `api` when due; saved through the saver."""

    def __init__(self, api: ThreadsApi, configured: str) -> None:
        self.api = api
        self.state = TokenState(token=configured, origin=origin_of(configured))
        self.saver: SessionSaver | None = None

    # -- saved state --------------------------------------------------------------------------

    def restore(self, saved: str) -> None:
        try:
            loaded: Any = json.loads(saved)
            state = TokenState(**loaded)
        except (ValueError, TypeError):
            log.warning("the saved Threads token state is unreadable; using the configured token")
            return
        if state.origin != self.state.origin or not isinstance(state.token, str) or not state.token:
            return  # saved for a token that is no longer the configured one
        self.state = state
        self.api.token = state.token

    def dump(self) -> str:
        return json.dumps(asdict(self.state), sort_keys=True)

    def _save(self) -> None:
        if self.saver is not None:
            self.saver(self.dump())

    # -- refreshing ---------------------------------------------------------------------------

    def expires_at(self) -> datetime | None:
        return _time(self.state.expires_at)

    def refresh_if_due(self, now: datetime) -> None:
        state = self.state
        expires = self.expires_at()
        if expires is not None and expires - now > REFRESH_BEFORE:
            return
        tried = _time(state.tried_at)
        wait = YOUNG_TOKEN if expires is None and state.refusals == 1 else RETRY_FAILED
        if tried is not None and now - tried < wait:
            return
        try:
            body = self.api.get_root("refresh_access_token", grant_type="th_refresh_token")
            token, lifetime = body["access_token"], int(body["expires_in"])
            if not isinstance(token, str) or not token or not lifetime > 0:
                raise TypeError("no token or lifetime")
        except ThreadsError as exc:
            state.tried_at = now.isoformat()
            if exc.status < 500 and exc.code is not None:
                state.refusals += 1
                state.reason = self.api.describe(exc)
                log.warning("Threads would not refresh the access token: %s", state.reason)
            else:
                log.warning("Threads token refresh failed (%s); trying again later", self.api.describe(exc))
            self._save()
            return
        except Exception as exc:  # transport trouble or a malformed answer: try again later
            state.tried_at = now.isoformat()
            log.warning("Threads token refresh failed (%s); trying again later", type(exc).__name__)
            self._save()
            return
        lifetime_left = min(timedelta(seconds=lifetime), MAX_LIFETIME)
        self.state = TokenState(
            token=token, origin=state.origin, expires_at=(now + lifetime_left).isoformat()
        )
        self.api.token = token
        log.info("refreshed the Threads access token; it now expires %s", self.state.expires_at)
        self._save()

    def attention(self, now: datetime) -> str | None:
        """Why a person must act before the token stops working, or None."""
        state = self.state
        expires = self.expires_at()
        until = f"on {expires:%Y-%m-%d}" if expires else "60 days after it was created"
        fix = "Create a new long-lived token and reconnect with `/twoway connect threads` (or set THREADS_TOKEN)."
        if state.refusals >= 2 or (state.refusals >= 1 and expires is not None):
            return f"Threads would not refresh the access token ({state.reason}); it stops working {until}. {fix}"
        if expires is not None and expires - now <= WARN_BEFORE:
            return f"The Threads access token could not be refreshed yet and stops working {until}. {fix}"
        return None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
