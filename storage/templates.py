"""Reply templates as rows: the shipped pack is seeded here so admins can remove any of them.

A removed shipped template stays as a disabled row: seeding never brings it back. Callers
validate template text (handlers.templates) before `add`; storage only keeps it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage import audit, dialect
from storage.audit import Action
from storage.models import Template, fits_id


def seed_builtin(session: Session, pack: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """Insert missing shipped templates (key, category, text) and refresh the text of the others.

    Rows whose key a release no longer ships are left alone (the caller skips them): during a
    rolling deploy an older process must not disable what a newer one ships.

    Safe when two processes seed at once: the insert skips keys another one has just added.
    """
    if not pack:
        return
    rows = session.execute(
        select(Template.builtin_key, Template.text).where(Template.builtin_key.is_not(None))
    )
    existing: dict[str | None, str] = {key: text for key, text in rows}
    missing = [
        {
            "category": c,
            "text": t,
            "builtin_key": k,
            "enabled": True,
            "created_by": audit.SYSTEM,
            "created_at": now,
        }
        for k, c, t in pack
        if k not in existing
    ]
    if missing:
        statement = dialect.insert(session, Template).on_conflict_do_nothing(index_elements=["builtin_key"])
        session.execute(statement, missing)
    for key, category, text in pack:
        if key in existing and existing[key] != text:
            session.execute(
                update(Template).where(Template.builtin_key == key).values(text=text, category=category)
            )


def list_templates(
    session: Session, *, enabled_only: bool = True, shipped_keys: Collection[str] | None = None
) -> list[Template]:
    """Templates by category; with `shipped_keys`, shipped rows outside it are left out."""
    statement = select(Template).order_by(Template.category, Template.id)
    if enabled_only:
        statement = statement.where(Template.enabled.is_(True))
    if shipped_keys is not None:
        statement = statement.where(
            or_(Template.builtin_key.is_(None), Template.builtin_key.in_(list(shipped_keys)))
        )
    return list(session.scalars(statement))


def add(session: Session, category: str, text: str, by: str, now: datetime) -> Template:
    template = Template(category=category, text=text, enabled=True, created_by=by, created_at=now)
    session.add(template)
    session.flush()
    audit.record(
        session, now, Action.TEMPLATE_ADDED, actor=by, template_id=template.id, category=category, text=text
    )
    return template


def remove(session: Session, template_id: int, by: str, now: datetime) -> Template | None:
    """Delete a custom template or disable a shipped one; None when there is no such enabled one."""
    template = session.get(Template, template_id) if fits_id(template_id) else None
    if template is None or not template.enabled:
        return None
    audit.record(
        session,
        now,
        Action.TEMPLATE_REMOVED,
        actor=by,
        template_id=template.id,
        category=template.category,
        text=template.text,
        builtin_key=template.builtin_key,
    )
    if template.builtin_key is None:
        session.delete(template)
    else:
        template.enabled = False
    session.flush()
    return template
