"""Which connector speaks for which account, and how accounts get connected.

Accounts come from two places: the environment (each platform's variables, named in its
connector's spec, registered at start-up) and Slack (`/twoway connect`, credentials sealed with TWOWAY_SECRET_KEY in the row).
Connectors are cached per account and rebuilt when the row's credentials change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.core.config import EXPECTED, ConfigError, Settings, is_secret
from bot.core.context import Context
from bot.core.crypto import CredentialsError, seal, unseal
from bot.core.logs import redact_everywhere, scrub
from bot.core.retry import backoff
from connectors import registry
from connectors.base import AuthFailed, Connector, ConnectorError, KeepsSession
from connectors.http import redact
from domain import AccountIdentity
from storage import accounts
from storage.audit import SYSTEM
from storage.models import ACCOUNT_ERROR, Account

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60  # an unidentified env account is retried after 1, 2, 4 ... minutes
DUE_SLACK = timedelta(seconds=5)


def env_credentials(settings: Settings, platform: str) -> dict[str, str]:
    """The credentials the environment holds for `platform` (empty when it holds none)."""
    values = {f.key: settings.env_value(f.env) for f in registry.spec(platform).fields if f.env}
    return {k: v for k, v in values.items() if v}


def connector_from_credentials(
    settings: Settings,
    platform: str,
    creds: Mapping[str, str],
    *,
    identity: AccountIdentity | None = None,
) -> Connector:
    """A connector for credentials typed into the Slack connect modal (or read from the env)."""
    spec = registry.PLATFORMS.get(platform)
    if spec is None:
        raise ConfigError(f"unknown platform {platform!r}: expected {' or '.join(registry.names())}")
    creds = {k: v.strip() for k, v in creds.items() if isinstance(v, str) and v.strip()}
    redact_everywhere(secret_credentials(platform, creds))  # before any request can fail
    problem = spec.incomplete(creds)
    if problem:
        raise ConfigError(problem)
    return spec.build(settings.options(), creds, identity)


def secret_credentials(platform: str, creds: Mapping[str, str]) -> list[str]:
    """The tokens and passwords among `creds`: not the ids and handles, which are shown anyway.

    A credential is secret when the environment holds it as one (X_API_KEY, not FACEBOOK_PAGE_ID);
    one with no variable is taken for a secret.
    """
    fields = registry.spec(platform).fields
    return [creds[f.key] for f in fields if creds.get(f.key) and (f.env is None or is_secret(f.env))]


def connector_for(ctx: Context, account: Account) -> Connector:
    """The connector for a stored account; raises AuthFailed when its credentials are unusable.

    A connector that keeps a session (a refreshed token, a login) gets the row's back, and a
    saver that seals each new one into the row at once: another process (or the next start)
    then reuses it instead of logging in again.
    """
    cache = ctx.state(_Connectors).by_account
    fingerprint = _fingerprint(account)
    cached = cache.get(account.id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    connector = _build(ctx.settings, account)
    if isinstance(connector, KeepsSession):
        restore_session(ctx.settings, connector, account)
        connector.keep(_Saver(ctx, account.id, connector))
    cache[account.id] = (fingerprint, connector)
    return connector


def _fingerprint(account: Account) -> tuple[Any, ...]:
    return (account.source, account.credentials, account.external_id, account.handle, account.session)


def restore_session(settings: Settings, connector: KeepsSession, account: Account) -> None:
    """Hand the row's sealed session back to its connector; one no key opens is left unused."""
    if not account.session or not settings.secret_keys:
        return
    try:
        connector.restore(unseal(settings.secret_keys, account.session)["session"])
    except (CredentialsError, KeyError):
        log.warning("the stored session of account %s cannot be read; it logs in afresh", account.id)


def seal_session(settings: Settings, value: str | None) -> str | None:
    """A session sealed for the row, or None (nothing to keep, or no key to seal it with)."""
    if value is None or not settings.secret_keys:
        return None
    return seal(settings.secret_keys, {"session": value})


@dataclass
class _NoKeyWarned:
    said: bool = False


def _sealed_or_warn(ctx: Context, value: str | None) -> str | None:
    """`seal_session`, saying once per process why nothing can be kept without a key."""
    if value is not None and not ctx.settings.secret_keys and not ctx.state(_NoKeyWarned).said:
        ctx.state(_NoKeyWarned).said = True
        log.warning(
            "TWOWAY_SECRET_KEY is not set, so refreshed tokens and login sessions are kept in memory only:"
            " each start logs in again, and a refreshed Threads token is lost at a restart"
        )
    return seal_session(ctx.settings, value)


class _Saver:
    """Seals a connector's new session into its account row, and keeps the cache in step."""

    def __init__(self, ctx: Context, account_id: int, connector: Connector) -> None:
        self.ctx, self.account_id, self.connector = ctx, account_id, connector

    def __call__(self, value: str) -> None:
        sealed = _sealed_or_warn(self.ctx, value)
        if sealed is None:
            return
        with self.ctx.transaction() as session:
            account = accounts.save_session(session, self.account_id, sealed)
            fingerprint = _fingerprint(account) if account is not None else None
        cache = self.ctx.state(_Connectors).by_account
        cached = cache.get(self.account_id)
        if fingerprint is not None and cached is not None and cached[1] is self.connector:
            cache[self.account_id] = (fingerprint, self.connector)  # our own write: no rebuild


def _build(settings: Settings, account: Account) -> Connector:
    name = registry.title(account.platform)
    if account.platform not in registry.PLATFORMS:
        raise AuthFailed(f"this TwoWay has no connector for the platform {account.platform!r}")
    spec = registry.spec(account.platform)
    if account.source == "env" or account.credentials is None:
        creds = env_credentials(settings, account.platform)
        if not creds:
            raise AuthFailed(f"the {name} credentials for this account are no longer in the environment")
        pinned = next((f for f in spec.fields if f.key == spec.pinned), None)
        if pinned is not None and creds.get(pinned.key) != account.external_id:
            raise AuthFailed(f"{pinned.env} now names a different account than this one")
    else:
        if not settings.secret_keys:
            raise AuthFailed("TWOWAY_SECRET_KEY is not set, so the stored credentials cannot be read")
        try:
            creds = unseal(settings.secret_keys, account.credentials)
        except CredentialsError as exc:
            raise AuthFailed(str(exc)) from None
    try:
        identity = AccountIdentity(account.platform, account.external_id, account.handle, account.name)
        return connector_from_credentials(settings, account.platform, creds, identity=identity)
    except (ConfigError, ValueError) as exc:
        raise AuthFailed(f"the stored {name} credentials are unusable: {exc}") from None


def save_connected_account(
    session: Session,
    settings: Settings,
    identity: AccountIdentity,
    creds: Mapping[str, str],
    by: str,
    now: datetime,
    kept_session: str | None = None,
) -> Account:
    """Seal the credentials into the account row (created or refreshed) for an admin's connect.

    `kept_session` is what the check's connector keeps (a Bluesky login): saved too, so the first
    poll does not log in again. New credentials replace any session kept for the old ones.
    """
    if not settings.secret_keys:
        raise ConfigError(f"TWOWAY_SECRET_KEY is not set: expected {EXPECTED['TWOWAY_SECRET_KEY']}")
    keys = [f.key for f in registry.spec(identity.platform).fields]
    kept = {k: creds[k].strip() for k in keys if isinstance(creds.get(k), str) and creds[k].strip()}
    token = seal(settings.secret_keys, kept)  # with the newest key
    account = accounts.upsert_account(session, identity, "slack", token, now, actor=by)
    account.session = seal_session(settings, kept_session)
    return account


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
    """Register the accounts whose credentials are in the environment (each platform's variables).

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
    """The platforms the environment holds an account of."""
    return [
        spec.name
        for spec in registry.PLATFORMS.values()
        if any(settings.env_value(name) is not None for name in spec.env_triggers)
    ]


def _register(ctx: Context, platform: str) -> list[Account]:
    settings = ctx.settings
    name = registry.title(platform)
    now = ctx.clock.now()
    connector: Connector | None = None
    try:
        connector = connector_from_credentials(settings, platform, env_credentials(settings, platform))
        if isinstance(connector, KeepsSession):  # reuse the session kept by an earlier run
            with ctx.transaction() as session:
                for row in accounts.env_accounts(session, platform):
                    restore_session(settings, connector, row)
        identity = connector.identify()
    except (ConnectorError, ConfigError, ValueError) as exc:
        with ctx.transaction() as session:
            existing = _existing_env_rows(session, ctx.settings, platform)
            for account in existing:
                if isinstance(exc, AuthFailed):
                    accounts.mark_needs_attention(session, account, now, scrub(str(exc)))
                else:
                    accounts.mark_failure(
                        session, account, now, status=ACCOUNT_ERROR, error=scrub(str(exc)), retry_after=None
                    )
        if existing:  # the stored row is polled (and shows the trouble) meanwhile
            _pending(ctx).pop(platform, None)
            log.warning("%s account from the environment could not be checked: %s", name, exc)
        else:
            _remember_failure(ctx, platform, exc, now)
        return existing
    with ctx.transaction() as session:
        account = accounts.upsert_account(session, identity, "env", None, now)
        if isinstance(connector, KeepsSession):
            account.session = _sealed_or_warn(ctx, connector.saved()) or account.session
        for other in accounts.env_accounts(session, platform):
            if other.id != account.id and other.enabled:
                log.warning(
                    "%s account %s is no longer the one in the environment; pausing it",
                    name,
                    other.external_id,
                )
                accounts.set_enabled(session, other.id, False, by=SYSTEM, now=now)
    _pending(ctx).pop(platform, None)
    label = registry.spec(platform).label(identity.handle, identity.name, identity.external_id)
    log.info("%s account %s from the environment is connected (account id %s)", name, label, account.id)
    return [account]


def _remember_failure(ctx: Context, platform: str, exc: Exception, now: datetime) -> None:
    """Back off like a failing poll; warn once per kind of failure, not at every retry."""
    previous = _pending(ctx).get(platform)
    failures = (previous.failures if previous else 0) + 1
    delay = backoff(failures, RETRY_BASE_SECONDS)
    reason = scrub(redact(str(exc)))[:300]
    kind = type(exc).__name__
    _pending(ctx)[platform] = Pending(reason, kind, failures, now + delay)
    level = logging.WARNING if previous is None or previous.kind != kind else logging.INFO
    log.log(
        level,
        "%s account from the environment could not be identified, so it is not polled yet: %s "
        "(try %s; next in %s s)",
        registry.title(platform),
        reason,
        failures,
        int(delay.total_seconds()),
    )


def _existing_env_rows(session: Session, settings: Settings, platform: str) -> list[Account]:
    pinned = next(
        (f for f in registry.spec(platform).fields if f.key == registry.spec(platform).pinned), None
    )
    pinned_id = settings.env_value(pinned.env) if pinned is not None and pinned.env else None
    if pinned_id:
        row = accounts.by_platform_id(session, platform, pinned_id)
        return [row] if row is not None else []
    return [a for a in accounts.env_accounts(session, platform) if a.enabled]
