"""Everything a command or a job needs, built once at start-up and passed down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from storage.db import make_engine, make_sessionmaker, transaction

T = TypeVar("T")


@dataclass
class Stopping:
    """Set when this process has been told to stop (SIGTERM, Ctrl-C): long sweeps end at their next
    step instead of working through a backlog the host will not wait for (it kills about 30 s
    after SIGTERM); what is left waits, safely in the database, for the next start."""

    event: threading.Event = field(default_factory=threading.Event)

    def __bool__(self) -> bool:
        return self.event.is_set()


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    slack: WebClient | None = None  # set when Slack is configured
    poster: WebClient | None = None  # for messages that must appear once; see bot.slack.outbox
    _state: dict[type, object] = field(default_factory=dict, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def state(self, kind: type[T]) -> T:
        """This process's one `kind` (a cache or a counter a module owns), made on first use.

        Keyed by the class itself, so each owner gets its own typed object and no module can
        read another's by a mistyped string.
        """
        found = self._state.get(kind)
        if not isinstance(found, kind):
            found = self._state[kind] = kind()
        return found

    def attach(self, value: object) -> None:
        """Keep `value` as this process's one object of its class (the running Slack app)."""
        self._state[type(value)] = value

    def attached(self, kind: type[T]) -> T | None:
        found = self._state.get(kind)
        return found if isinstance(found, kind) else None

    def forget_state(self) -> None:
        """Drop every cache, as a restart would (tests that change settings use it)."""
        self._state.clear()


def build_context(settings: Settings, clock: Clock | None = None, engine: Engine | None = None) -> Context:
    engine = engine or make_engine(settings.database_url)
    return Context(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
    )
