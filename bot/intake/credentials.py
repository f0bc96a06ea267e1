"""Whether the configured keys open every stored credential, and re-sealing them with the newest.

Only accounts connected from Slack keep credentials in the database (sealed); env accounts read
theirs from the environment. Nothing here ever writes credentials it could not open: an account
whose credentials no key opens is named and left exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.core.config import EXPECTED, ConfigError
from bot.core.context import Context
from bot.core.crypto import CredentialsError, Keyring
from connectors import registry
from storage import accounts
from storage.models import Account

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a row changed by `/twoway connect` during the rotation is read again


def label(account: Account) -> str:
    """`X @cityPD (account 3)`: how people recognise an account in one line."""
    spec = registry.PLATFORMS.get(account.platform)
    if spec is None:
        return f"{account.platform} {account.name or account.external_id} (account {account.id})"
    return (
        f"{spec.title} {spec.label(account.handle, account.name, account.external_id)} (account {account.id})"
    )


@dataclass
class Rotation:
    resealed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def unreadable_accounts(ctx: Context) -> list[str]:
    """Labels of the accounts whose stored credentials no configured key opens."""
    keys = ctx.settings.secret_keys
    with ctx.transaction() as session:
        sealed = [(label(a), a.credentials or "") for a in accounts.sealed_accounts(session)]
    if not keys:
        return [name for name, _token in sealed]
    keyring = Keyring(keys)
    bad = []
    for name, token in sealed:
        try:
            keyring.unseal(token)
        except CredentialsError:
            bad.append(name)
    return bad


def unreadable_line(names: list[str], keys_set: bool) -> str:
    """The one line that says which accounts cannot be read, and what to do."""
    if not keys_set:
        return (
            f"TWOWAY_SECRET_KEY is not set, so the stored credentials of {', '.join(names)} cannot be "
            "read; nothing of theirs was changed"
        )
    return (
        f"no key in TWOWAY_SECRET_KEY opens the stored credentials of {', '.join(names)}: add the key "
        "they were saved with after the new one, or reconnect them with /twoway connect; nothing of "
        "theirs was changed"
    )


def warn_if_unreadable(ctx: Context) -> list[str]:
    """At start-up: one warning line naming the accounts that cannot be polled for this reason."""
    names = unreadable_accounts(ctx)
    if names:
        log.warning("%s", unreadable_line(names, bool(ctx.settings.secret_keys)))
    return names


def rotate(ctx: Context) -> Rotation:
    """Re-seal every stored credential with the newest key; safe to run again at any time.

    Each row is swapped only if it still holds what was read (a guarded update), so credentials
    an admin saves during the rotation are never replaced by older ones.
    """
    keys = ctx.settings.secret_keys
    if not keys:
        names = unreadable_accounts(ctx)
        if names:
            raise ConfigError(unreadable_line(names, False))
        raise ConfigError(f"TWOWAY_SECRET_KEY is not set: expected {EXPECTED['TWOWAY_SECRET_KEY']}")
    keyring = Keyring(keys)
    result = Rotation()
    with ctx.transaction() as session:
        ids = [a.id for a in accounts.sealed_accounts(session)]
    for account_id in ids:
        _rotate_one(ctx, keyring, account_id, result)
    with ctx.transaction() as session:
        kept = [a.id for a in accounts.accounts_with_sessions(session)]
    for account_id in kept:
        _rotate_session(ctx, keyring, account_id)
    return result


def _rotate_session(ctx: Context, keyring: Keyring, account_id: int) -> None:
    """A kept session (a refreshed token, a login) re-sealed too, so dropping the old key later
    does not cost a login or a refreshed token. One no key opens is left for the connector to
    replace; one changed meanwhile (a poll refreshed it) is already sealed with the newest key."""
    with ctx.transaction() as session:
        account = accounts.get(session, account_id)
        if account is None or account.session is None or keyring.is_current(account.session):
            return
        token = account.session
    try:
        fresh = keyring.rotate(token)
    except CredentialsError:
        return
    with ctx.transaction() as session:
        accounts.replace_session(session, account_id, token, fresh)


def _rotate_one(ctx: Context, keyring: Keyring, account_id: int, result: Rotation) -> None:
    for _ in range(ATTEMPTS):
        with ctx.transaction() as session:
            account = accounts.get(session, account_id)
            if account is None or account.credentials is None:
                return  # removed, or now an env account: nothing stored to re-seal
            name, token = label(account), account.credentials
        if keyring.is_current(token):
            result.current.append(name)
            return
        try:
            fresh = keyring.rotate(token)
        except CredentialsError:
            result.unreadable.append(name)
            return
        with ctx.transaction() as session:
            if accounts.replace_credentials(session, account_id, token, fresh, ctx.clock.now()):
                result.resealed.append(name)
                log.info("re-encrypted the stored credentials of %s with the newest key", name)
                return
    result.unreadable.append(f"{name} (changed during the rotation: run it again)")
