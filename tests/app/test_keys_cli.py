"""`twoway keys rotate` and `check`: moving stored credentials to a new key, losing nothing."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.context import Context
from bot.core.crypto import unseal
from bot.intake.accounts import save_connected_account
from bot.intake.credentials import warn_if_unreadable
from domain import AccountIdentity
from storage import accounts
from storage.models import Account, AuditEvent
from tests.conftest import make_settings
from tests.support.process import run_twoway

OLD, NEW, LOST = "the-old-agency-key-0123", "the-new-agency-key-4567", "a-key-nobody-has-any-more"
X_CREDS = {"bearer_token": "x-bearer-SECRET", "api_key": "k", "api_secret": "s"}
FB_CREDS = {"page_id": "555", "page_token": "EAAB-page-SECRET"}


def _connect(ctx: Context, key: str, identity: AccountIdentity, creds: dict[str, str]) -> int:
    settings = make_settings(DATABASE_URL=ctx.settings.database_url, TWOWAY_SECRET_KEY=key)
    with ctx.transaction() as session:
        return save_connected_account(session, settings, identity, creds, "U0ADMIN", ctx.clock.now()).id


def _stored(ctx: Context) -> dict[int, str | None]:
    with ctx.transaction() as session:
        return {a.id: a.credentials for a in session.scalars(select(Account))}


def _keys(
    db_url: str, cwd: Path, key: str | None, action: str = "rotate"
) -> subprocess.CompletedProcess[str]:
    values = {"DATABASE_URL": db_url} | ({"TWOWAY_SECRET_KEY": key} if key is not None else {})
    return run_twoway(cwd, "keys", *([action] if action else []), **values)


def _error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("twoway:")]


@pytest.fixture
def connected(ctx: Context) -> tuple[int, int]:
    x = _connect(ctx, OLD, AccountIdentity("x", "1000", "cityPD", "City PD"), X_CREDS)
    fb = _connect(ctx, OLD, AccountIdentity("facebook", "555", "", "City PD Page"), FB_CREDS)
    with ctx.transaction() as session:  # an env account has nothing stored, and must stay so
        accounts.upsert_account(session, AccountIdentity("x", "2000", "envPD"), "env", None, ctx.clock.now())
    return x, fb


def test_rotate_reseals_everything_with_the_first_key_and_is_safe_to_repeat(
    ctx: Context, connected: tuple[int, int], db_url: str, tmp_path: Path
) -> None:
    x, fb = connected
    done = _keys(db_url, tmp_path, f"{NEW},{OLD}")
    assert done.returncode == 0, done.stderr
    assert (
        "re-encrypted 2 stored credentials with the first key of TWOWAY_SECRET_KEY; 0 already used it"
        in done.stdout
    )
    stored = _stored(ctx)
    assert unseal(NEW, stored[x] or "") == X_CREDS  # the new key alone opens them now
    assert unseal(NEW, stored[fb] or "") == FB_CREDS
    with ctx.transaction() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "credentials_resealed")))
    assert sorted(e.account_id for e in events) == [x, fb]

    again = _keys(db_url, tmp_path, f"{NEW},{OLD}")
    assert again.returncode == 0, again.stderr
    assert "re-encrypted 0 stored credentials" in again.stdout
    assert "2 already used it" in again.stdout
    assert _stored(ctx) == stored

    check = _keys(db_url, tmp_path, NEW, "check")  # the old key can go
    assert check.returncode == 0, check.stderr
    assert "opens every stored credential" in check.stdout
    for secret in ("x-bearer-SECRET", "EAAB-page-SECRET", NEW, OLD):
        assert secret not in done.stdout + done.stderr + again.stderr


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (NEW, "no key in TWOWAY_SECRET_KEY opens the stored credentials of"),
        (None, "TWOWAY_SECRET_KEY is not set, so the stored credentials of"),
    ],
)
def test_a_wrong_or_missing_key_names_the_accounts_and_changes_nothing(
    ctx: Context, connected: tuple[int, int], db_url: str, tmp_path: Path, key: str | None, says: str
) -> None:
    x, fb = connected
    before = _stored(ctx)
    for action in ("rotate", "check"):
        done = _keys(db_url, tmp_path, key, action)
        assert done.returncode == 2, done.stderr
        [line] = _error_lines(done)
        assert done.stdout == ""  # the one line, not also "re-encrypted 0 …"
        assert says in line
        assert f"X @cityPD (account {x})" in line
        assert f"Facebook City PD Page (account {fb})" in line
        assert "envPD" not in line
        assert "Traceback" not in done.stderr
    assert _stored(ctx) == before


def test_rotation_skips_what_it_cannot_open_and_still_moves_the_rest(
    ctx: Context, connected: tuple[int, int], db_url: str, tmp_path: Path
) -> None:
    x, _fb = connected
    lost = _connect(ctx, LOST, AccountIdentity("x", "3000", "oldPD"), X_CREDS)
    before = _stored(ctx)
    done = _keys(db_url, tmp_path, f"{NEW},{OLD}")
    assert done.returncode == 2
    assert "re-encrypted 2 stored credentials" in done.stdout
    [line] = _error_lines(done)
    assert f"X @oldPD (account {lost})" in line
    assert "cityPD" not in line
    after = _stored(ctx)
    assert after[lost] == before[lost]  # never overwritten
    assert unseal(LOST, after[lost] or "") == X_CREDS
    assert unseal(NEW, after[x] or "") == X_CREDS


def test_credentials_saved_during_a_rotation_are_never_replaced(
    ctx: Context, connected: tuple[int, int]
) -> None:
    x, _fb = connected
    stale = _stored(ctx)[x] or ""
    fresh = _connect(ctx, NEW, AccountIdentity("x", "1000", "cityPD", "City PD"), {"bearer_token": "newer"})
    assert fresh == x
    saved = _stored(ctx)[x]
    with ctx.transaction() as session:
        assert not accounts.replace_credentials(
            session, x, stale, "resealed-from-the-stale-read", ctx.clock.now()
        )
    assert _stored(ctx)[x] == saved


def test_start_up_names_the_accounts_it_cannot_read(
    ctx: Context, connected: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    ctx.settings = make_settings(DATABASE_URL=ctx.settings.database_url, TWOWAY_SECRET_KEY=NEW)
    with caplog.at_level(logging.WARNING):
        names = warn_if_unreadable(ctx)
    assert len(names) == 2
    [record] = [r for r in caplog.records if "cannot" in r.getMessage() or "opens" in r.getMessage()]
    assert "X @cityPD" in record.getMessage()
    assert NEW not in record.getMessage()
    ctx.settings = make_settings(DATABASE_URL=ctx.settings.database_url, TWOWAY_SECRET_KEY=f"{NEW},{OLD}")
    assert warn_if_unreadable(ctx) == []


def test_no_key_and_nothing_stored_is_not_reported_as_fine(tmp_path: Path, db_url: str) -> None:
    """Without a key `/twoway connect` is refused: `check` says so rather than "opens every
    stored credential" about none."""
    for action in ("check", "rotate"):
        done = _keys(db_url, tmp_path, None, action)
        assert done.returncode == 2, done.stderr
        [line] = _error_lines(done)
        assert line.startswith("twoway: TWOWAY_SECRET_KEY is not set: expected")
        assert "opens every" not in done.stdout


def test_keys_needs_an_action(tmp_path: Path, db_url: str) -> None:
    done = _keys(db_url, tmp_path, NEW, "")
    assert done.returncode == 2
    assert "keys needs an action: rotate or check" in done.stderr


def test_rotate_reseals_kept_sessions_too(tmp_path: Path, ctx: Context) -> None:
    """A kept Bluesky session survives dropping the old key: no new login after the rotation."""
    settings = make_settings(DATABASE_URL=ctx.settings.database_url, TWOWAY_SECRET_KEY=OLD)
    identity = AccountIdentity("bluesky", "did:plc:agency000000000000000000", "agency.bsky.social")
    with ctx.transaction() as session:
        account = save_connected_account(
            session, settings, identity, {"handle": "agency.bsky.social", "app_password": "a-b-c-d"},
            "U0ADMIN", ctx.clock.now(), kept_session='{"session": "kept"}',
        )  # fmt: skip
        account_id = account.id
    assert _keys(ctx.settings.database_url, tmp_path, f"{NEW},{OLD}").returncode == 0
    with ctx.transaction() as session:
        row = session.get(Account, account_id)
        assert row is not None
        assert unseal(NEW, row.session or "") == {"session": '{"session": "kept"}'}
        assert unseal(NEW, row.credentials or "")["app_password"] == "a-b-c-d"
