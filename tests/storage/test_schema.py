"""The schema: migrations match the models, and the database enforces the once-only rules."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from storage import migrate, staff
from storage.db import make_engine, make_sessionmaker
from storage.models import Account, Base, Mention, Reply
from storage.scratch import scratch_schema
from tests.conftest import BACKENDS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model change without a migration would break installed databases."""
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_upgrade_is_safe_to_repeat(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def _account(session) -> Account:  # type: ignore[no-untyped-def]
    account = Account(platform="x", external_id="42", handle="agency", created_at=NOW)
    session.add(account)
    session.flush()
    return account


def _mention(account: Account, external_id: str = "1") -> Mention:
    return Mention(
        account_id=account.id,
        platform="x",
        external_id=external_id,
        author_id="7",
        text="hello",
        created_at=NOW,
        ingested_at=NOW,
    )


def test_a_mention_is_stored_once_per_platform_id(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        account = _account(session)
        session.add(_mention(account))
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(_mention(account))


def test_only_one_active_reply_per_mention(engine: Engine) -> None:
    """The database itself refuses a second public reply while one is sending or sent."""
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        account = _account(session)
        mention = _mention(account)
        session.add(mention)
        session.flush()
        session.add(
            Reply(mention_id=mention.id, text="a", status="failed", requested_by="U1", requested_at=NOW)
        )
        session.add(
            Reply(mention_id=mention.id, text="b", status="sent", requested_by="U1", requested_at=NOW)
        )
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(
            Reply(mention_id=mention.id, text="c", status="sending", requested_by="U2", requested_at=NOW)
        )


def test_datetimes_come_back_as_aware_utc(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    eastern = timezone(timedelta(hours=-5))
    with sessions() as session, session.begin():
        account = Account(platform="x", external_id="9", handle="a", created_at=NOW.astimezone(eastern))
        session.add(account)
    with sessions() as session:
        stored = session.scalar(select(Account.created_at))
    assert stored == NOW
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)


def test_roles_are_ordered_and_audited(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        staff.bootstrap_admins(session, ["UADMIN"], NOW)
        staff.set_role(session, "UOFF", "officer", by="UADMIN", now=NOW)
    with sessions() as session:
        assert staff.has_role(session, "UADMIN", "supervisor")
        assert staff.has_role(session, "UOFF", "officer")
        assert not staff.has_role(session, "UOFF", "supervisor")
        assert not staff.has_role(session, "UNOBODY", "officer")
        assert staff.users_with_role(session, "supervisor") == ["UADMIN"]
    with sessions() as session, session.begin():
        staff.set_role(session, "UOFF", None, by="UADMIN", now=NOW)
    with sessions() as session:
        assert staff.role_of(session, "UOFF") is None


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_copies_started_together_on_an_empty_postgresql_database_all_migrate() -> None:
    """Several `twoway run` copies (a rolling deploy) migrate one at a time; none crashes on the
    alembic_version table another is creating."""
    with scratch_schema(os.environ["TEST_DATABASE_URL"], "twoway_migrate") as url:
        _migrate_together([make_engine(url) for _ in range(4)])


def _migrate_together(engines: list[Engine]) -> None:
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        start.wait()
        try:
            migrate.upgrade(engine)
        except BaseException as exc:  # the test reports whatever a copy hit
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert migrate.current_revision(engines[0]) == migrate.head_revision(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
