"""Which connector speaks for which account, and how accounts get connected.

Accounts come from two places: the environment (X_* and FACEBOOK_* variables, registered at
start-up) and Slack (`/twoway connect`, credentials sealed with TWOWAY_SECRET_KEY in the row).
Connectors are cached per account and rebuilt when the row's credentials change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.core.config import EXPECTED, ConfigError, Settings
from bot.core.context import Context
from bot.core.crypto import CredentialsError, seal, unseal
from bot.core.retry import backoff
from connectors.base import AuthFailed, Connector, ConnectorError
from connectors.facebook import FacebookConnector
from connectors.http import redact
from connectors.x import XConnector
from domain import AccountIdentity
from storage import accounts
from storage.audit import SYSTEM
from storage.models import ACCOUNT_ERROR, Account

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60  # an unidentified env account is retried after 1, 2, 4 ... minutes
DUE_SLACK = timedelta(seconds=5)
X_KEYS = ("bearer_token", "api_key", "api_secret", "access_token", "access_token_secret")
FACEBOOK_KEYS = ("page_id", "page_token")
NAMES = {"x": "X", "facebook": "Facebook"}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def env_credentials(settings: Settings, platform: str) -> dict[str, str]:
    """The credentials the environment holds for `platform` (empty when it holds none)."""
    if platform == "x":
        values = {
            "bearer_token": _secret(settings.x_bearer_token),
            "api_key": _secret(settings.x_api_key),
            "api_secret": _secret(settings.x_api_secret),
            "access_token": _secret(settings.x_access_token),
            "access_token_secret": _secret(settings.x_access_token_secret),
        }
    else:
        values = {"page_id": settings.facebook_page_id, "page_token": _secret(settings.facebook_page_token)}
    return {k: v for k, v in values.items() if v}


def connector_from_credentials(
    settings: Settings,
    platform: str,
    creds: Mapping[str, str],
    *,
    account_id: str | None = None,
    handle: str | None = None,
) -> Connector:
    """A connector for credentials typed into the Slack connect modal (or read from the env)."""
    creds = {k: v.strip() for k, v in creds.items() if isinstance(v, str) and v.strip()}
    if platform == "x":
        user_keys = X_KEYS[1:]
        if "bearer_token" not in creds and not all(k in creds for k in user_keys):
            raise ConfigError(
                "X credentials are incomplete: give a bearer token, or all four of "
                "API key, API secret, access token and access token secret"
            )
        return XConnector(
            base_url=settings.x_api_url,
            timeout=settings.http_timeout,
            bearer_token=creds.get("bearer_token"),
            api_key=creds.get("api_key"),
            api_secret=creds.get("api_secret"),
            access_token=creds.get("access_token"),
            access_token_secret=creds.get("access_token_secret"),
            account_id=account_id,
            handle=handle,
            first_poll_hours=settings.x_first_poll_hours,
        )
    if platform == "facebook":
        missing = [k for k in FACEBOOK_KEYS if k not in creds]
        if missing:
            raise ConfigError(f"Facebook credentials are incomplete: {' and '.join(missing)} missing")
        return FacebookConnector(
            base_url=settings.facebook_graph_url,
            version=settings.facebook_graph_version,
            timeout=settings.http_timeout,
            page_id=creds["page_id"],
            page_token=creds["page_token"],
            lookback_days=settings.facebook_lookback_days,
        )
    raise ConfigError(f"unknown platform {platform!r}: expected x or facebook")


def connector_for(ctx: Context, account: Account) -> Connector:
    """The connector for a stored account; raises AuthFailed when its credentials are unusable."""
    cache = ctx.state(_Connectors).by_account
    fingerprint = (account.source, account.credentials, account.external_id, account.handle)
    cached = cache.get(account.id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    connector = _build(ctx.settings, account)
    cache[account.id] = (fingerprint, connector)
    return connector


def _build(settings: Settings, account: Account) -> Connector:
    name = NAMES.get(account.platform, account.platform)
    if account.source == "env" or account.credentials is None:
        creds = env_credentials(settings, account.platform)
        if not creds:
            raise AuthFailed(f"the {name} credentials for this account are no longer in the environment")
        if account.platform == "facebook" and creds.get("page_id") != account.external_id:
            raise AuthFailed("FACEBOOK_PAGE_ID now names a different Page than this account")
    else:
        if not settings.secret_keys:
            raise AuthFailed("TWOWAY_SECRET_KEY is not set, so the stored credentials cannot be read")
        try:
            creds = unseal(settings.secret_keys, account.credentials)
        except CredentialsError as exc:
            raise AuthFailed(str(exc)) from None
    try:
        return connector_from_credentials(
            settings, account.platform, creds, account_id=account.external_id, handle=account.handle
        )
    except (ConfigError, ValueError) as exc:
        raise AuthFailed(f"the stored {name} credentials are unusable: {exc}") from None


def save_connected_account(
    session: Session,
    settings: Settings,
    identity: AccountIdentity,
    creds: Mapping[str, str],
    by: str,
    now: datetime,
) -> Account:
    """Seal the credentials into the account row (created or refreshed) for an admin's connect."""
    if not settings.secret_keys:
        raise ConfigError(f"TWOWAY_SECRET_KEY is not set: expected {EXPECTED['TWOWAY_SECRET_KEY']}")
    keys = X_KEYS if identity.platform == "x" else FACEBOOK_KEYS
    kept = {k: creds[k].strip() for k in keys if isinstance(creds.get(k), str) and creds[k].strip()}
    token = seal(settings.secret_keys, kept)  # with the newest key
    return accounts.upsert_account(session, identity, "slack", token, now, actor=by)


@dataclass
class Pending:
    """An env account whose identification failed and that no stored row stands in for."""

    reason: str
    kind: str
    failures: int
    retry_at: datetime


@dataclass
class _Connectors:
    """Connectors by account id, with the fingerprint of the row they were built from."""

    by_account: dict[int, tuple[tuple[Any, ...], Connector]] = field(default_factory=dict)


@dataclass
class _Pending:
    by_platform: dict[str, Pending] = field(default_factory=dict)


def _pending(ctx: Context) -> dict[str, Pending]:
    return ctx.state(_Pending).by_platform


def unidentified_env_accounts(ctx: Context) -> dict[str, str]:
    """Platform -> reason for each env account that is configured but not being polled."""
    return {platform: pending.reason for platform, pending in _pending(ctx).items()}


def register_env_accounts(ctx: Context) -> list[Account]:
    """Register the X account and Facebook Page whose credentials are in the environment.

    A platform that refuses or does not answer must not stop start-up: one log line says why,
    and an existing row shows the trouble (needs attention for refused credentials). Without a
    row the account is remembered as pending, for `retry_env_accounts` to try again.
    """
    registered: list[Account] = []
    for platform in _env_platforms(ctx.settings):
        registered += _register(ctx, platform)
    return registered


def retry_env_accounts(ctx: Context) -> list[Account]:
    """Try again the env accounts start-up could not identify, once each is due (backoff)."""
    now = ctx.clock.now()
    registered: list[Account] = []
    for platform, pending in list(_pending(ctx).items()):
        if pending.retry_at - now <= DUE_SLACK:
            registered += _register(ctx, platform)
    return registered


def _env_platforms(settings: Settings) -> list[str]:
    return [p for p, on in (("x", settings.x_configured), ("facebook", settings.facebook_configured)) if on]


def _register(ctx: Context, platform: str) -> list[Account]:
    settings = ctx.settings
    name = NAMES[platform]
    now = ctx.clock.now()
    try:
        identity = connector_from_credentials(
            settings, platform, env_credentials(settings, platform)
        ).identify()
    except (ConnectorError, ConfigError, ValueError) as exc:
        with ctx.transaction() as session:
            existing = _existing_env_rows(session, ctx.settings, platform)
            for account in existing:
                if isinstance(exc, AuthFailed):
                    accounts.mark_needs_attention(session, account, now, str(exc))
                else:
                    accounts.mark_failure(
                        session, account, now, status=ACCOUNT_ERROR, error=str(exc), retry_after=None
                    )
        if existing:  # the stored row is polled (and shows the trouble) meanwhile
            _pending(ctx).pop(platform, None)
            log.warning("%s account from the environment could not be checked: %s", name, exc)
        else:
            _remember_failure(ctx, platform, exc, now)
        return existing
    with ctx.transaction() as session:
        account = accounts.upsert_account(session, identity, "env", None, now)
        for other in accounts.env_accounts(session, platform):
            if other.id != account.id and other.enabled:
                log.warning(
                    "%s account %s is no longer the one in the environment; pausing it",
                    name,
                    other.external_id,
                )
                accounts.set_enabled(session, other.id, False, by=SYSTEM, now=now)
    _pending(ctx).pop(platform, None)
    label = f"@{identity.handle}" if platform == "x" else identity.name or identity.external_id
    log.info("%s account %s from the environment is connected (account id %s)", name, label, account.id)
    return [account]


def _remember_failure(ctx: Context, platform: str, exc: Exception, now: datetime) -> None:
    """Back off like a failing poll; warn once per kind of failure, not at every retry."""
    previous = _pending(ctx).get(platform)
    failures = (previous.failures if previous else 0) + 1
    delay = backoff(failures, RETRY_BASE_SECONDS)
    reason = redact(str(exc))[:300]
    kind = type(exc).__name__
    _pending(ctx)[platform] = Pending(reason, kind, failures, now + delay)
    level = logging.WARNING if previous is None or previous.kind != kind else logging.INFO
    log.log(
        level,
        "%s account from the environment could not be identified, so it is not polled yet: %s "
        "(try %s; next in %s s)",
        NAMES[platform],
        reason,
        failures,
        int(delay.total_seconds()),
    )


def _existing_env_rows(session: Session, settings: Settings, platform: str) -> list[Account]:
    if platform == "facebook" and settings.facebook_page_id:
        row = accounts.by_platform_id(session, "facebook", settings.facebook_page_id)
        return [row] if row is not None else []
    return [a for a in accounts.env_accounts(session, platform) if a.enabled]
