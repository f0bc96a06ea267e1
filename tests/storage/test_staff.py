"""TWOWAY_ADMINS at start-up: admins made once, nobody demoted, and copies starting together
(a rolling deploy, several CLI commands at once) never trip over each other's rows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from storage import staff
from storage.audit import Action
from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import AuditEvent, Role, Staff

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
COPIES = 6
ADMINS = [f"U{n:08d}" for n in range(200)]


def _roles(engine: Engine) -> dict[str, tuple[str, str]]:
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(Staff.slack_user_id, Staff.role, Staff.granted_by))
        return {user: (role, by) for user, role, by in rows}


def _grants(engine: Engine) -> list[dict[str, object]]:
    with make_sessionmaker(engine)() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == Action.ROLE_CHANGED).order_by(AuditEvent.id)
        )
        return [dict(event.details) for event in events]


def test_bootstrap_promotes_but_never_demotes_and_audits_only_changes(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        staff.set_role(session, "UOFFICER1", Role.OFFICER, by="UADMIN0001", now=NOW)
        staff.set_role(session, "USUPER001", Role.SUPERVISOR, by="UADMIN0001", now=NOW)
        staff.set_role(session, "UADMIN0001", Role.ADMIN, by="USOMEONE1", now=NOW)
        staff.set_role(session, "UOTHER001", Role.OFFICER, by="UADMIN0001", now=NOW)
    before = len(_grants(engine))
    for _ in range(2):  # a second start changes nothing
        with transaction(sessions) as session:
            staff.bootstrap_admins(
                session, ["UOFFICER1", "USUPER001", "UADMIN0001", "UNEW00001", "UNEW00001"], NOW
            )

    assert _roles(engine) == {
        "UOFFICER1": ("admin", "TWOWAY_ADMINS"),
        "USUPER001": ("admin", "TWOWAY_ADMINS"),
        "UADMIN0001": ("admin", "USOMEONE1"),  # already an admin: left as granted
        "UNEW00001": ("admin", "TWOWAY_ADMINS"),
        "UOTHER001": ("officer", "UADMIN0001"),  # not listed: untouched
    }
    grants = sorted(
        ((str(g["user"]), g["previous"]) for g in _grants(engine)[before:]), key=lambda grant: grant[0]
    )
    assert grants == [("UNEW00001", None), ("UOFFICER1", "officer"), ("USUPER001", "supervisor")]


def test_copies_bootstrapping_the_same_admins_at_once_all_succeed(db_url: str, engine: Engine) -> None:
    """Six copies started together with 200 TWOWAY_ADMINS: each checks then inserts, and on
    PostgreSQL a copy used to insert a row another had just inserted, failing on the primary key
    (exit 1 with a traceback). Every copy must succeed, and each grant be audited once."""
    with transaction(make_sessionmaker(engine)) as session:
        staff.set_role(session, ADMINS[7], Role.OFFICER, by="UADMIN0001", now=NOW)  # one promotion too
    engines = [make_engine(db_url) for _ in range(COPIES)]
    start = threading.Barrier(COPIES)
    errors: list[BaseException] = []

    def copy(own: Engine) -> None:
        sessions = make_sessionmaker(own)
        start.wait()
        try:
            with transaction(sessions) as session:
                staff.bootstrap_admins(session, ADMINS, NOW)
        except BaseException as exc:  # the test reports whatever a copy hit
            errors.append(exc)

    threads = [threading.Thread(target=copy, args=(own,)) for own in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for own in engines:
            own.dispose()
    assert [type(exc).__name__ for exc in errors] == []
    assert _roles(engine) == {user: ("admin", "TWOWAY_ADMINS") for user in ADMINS}
    grants = [(g["user"], g["previous"]) for g in _grants(engine)[1:]]  # after the officer's own grant
    assert sorted(grants, key=lambda grant: str(grant[0])) == [
        (user, "officer" if user == ADMINS[7] else None) for user in ADMINS
    ]
