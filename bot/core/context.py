"""Everything a command or a job needs, built once at start-up and passed down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from storage.db import make_engine, make_sessionmaker, transaction

if TYPE_CHECKING:
    from slack_sdk import WebClient


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    slack: WebClient | None = None  # set when Slack is configured
    extras: dict[str, Any] = field(default_factory=dict)  # caches owned by single modules

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


def build_context(settings: Settings, clock: Clock | None = None, engine: Engine | None = None) -> Context:
    engine = engine or make_engine(settings.database_url)
    return Context(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
    )
