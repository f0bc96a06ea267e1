"""Exactly one scheduler among every copy of TwoWay on one database, without anyone arranging it.

PostgreSQL: every copy serves Slack. Each copy with TWOWAY_SCHEDULER=true asks for one advisory
lock on a connection of its own; the copy holding it runs the scheduler, the others ask again
every TWOWAY_TAKEOVER_SECONDS. The server drops the lock the moment the holder's connection ends
(a stop, a crash, `kill -9`), so a standby takes over within that interval. The holder checks
its lock as often, and stops its scheduler at once if it has lost it (say, the database
restarted): two schedulers never run on purpose, and every job is idempotent if they ever do.

SQLite: one copy per database file, held with an exclusive lock on a file beside it (the
operating system drops it when the process ends, however it ends); a second copy stops at start
with exit status 2.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import IO, Protocol

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from bot.core.config import Settings
from bot.core.context import Context, Stopping
from bot.core.errors import UserError
from storage import locks
from storage.db import sqlite_file

try:
    import fcntl
except ImportError:  # Windows: no flock; TwoWay's deployments are Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_NAME = locks.SCHEDULER


class SchedulerLock(Protocol):
    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class SoleCopy:
    """SQLite: the file lock already makes this the only copy, so its scheduler always runs."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLock:
    """PostgreSQL: the lock lives on one dedicated connection; losing the connection loses it."""

    def __init__(self, url: str, seconds: int) -> None:
        self.seconds = seconds
        self.engine: Engine = locks.lock_engine(url, seconds)
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        try:
            if self.connection is None:
                self.connection = locks.open_session(self.engine, self.seconds)
            if locks.try_lock(self.connection, LOCK_NAME):
                return True
        except Exception as exc:
            log.warning("could not ask the database for the scheduler lock: %s", type(exc).__name__)
            self._drop()
        return False

    def held(self) -> bool:
        if self.connection is None:
            return False
        try:
            if locks.holds(self.connection, LOCK_NAME):
                return True
        except Exception as exc:
            log.warning("the connection holding the scheduler lock failed: %s", type(exc).__name__)
        self._drop()
        return False

    def release(self) -> None:
        self._drop()  # closing the session releases the lock
        self.engine.dispose()

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                log.debug("closing the scheduler lock's connection failed", exc_info=True)
            self.connection = None


class Leader:
    """Runs the scheduler while this process holds the lock; checks every `seconds`."""

    def __init__(
        self, ctx: Context, lock: SchedulerLock, start: Callable[[Context], BaseScheduler], seconds: int
    ) -> None:
        self.ctx, self.lock, self.start_scheduler, self.seconds = ctx, lock, start, seconds
        self.scheduler: BaseScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="twoway-leader", daemon=True)
        self._mutex = threading.Lock()

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    def start(self) -> None:
        self.check()  # a lone copy starts its scheduler at once, not after the first interval
        if self.scheduler is None:
            log.info(
                "another copy runs the scheduler; this one serves Slack and takes over if that copy stops "
                "(checked every %s s)",
                self.seconds,
            )
        self._thread.start()

    def check(self) -> None:
        with self._mutex:
            if self._stop.is_set():
                return
            if self.scheduler is None:
                if self.lock.acquire():
                    log.info("this process runs the scheduler (pid %s)", os.getpid())
                    self.scheduler = self.start_scheduler(self.ctx)
            elif not self.lock.held():
                log.warning("this process lost the scheduler lock; stopping its scheduler")
                self.scheduler.shutdown(wait=False)
                self.scheduler = None

    def _watch(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.check()
            except Exception:
                log.exception("checking the scheduler lock failed")

    def stop(self) -> None:
        """Stop the scheduler (letting running jobs finish their current step), then let the
        next copy take over."""
        self._stop.set()
        self.ctx.state(Stopping).event.set()
        with self._mutex:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=True)
                self.scheduler = None
            self.lock.release()


def scheduler_lock(settings: Settings) -> SchedulerLock:
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        return AdvisoryLock(settings.database_url, settings.takeover_seconds)
    return SoleCopy()


# -- SQLite: one copy per database file ------------------------------------------------------------


class FileClaim:
    """An exclusive lock on `<database>.lock`, held until released or the process ends."""

    def __init__(self, handle: IO[str] | None) -> None:
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def claim_database(settings: Settings) -> FileClaim:
    """On SQLite, make this the only running copy on the file, or stop with one clear line."""
    try:  # the file of a URI-form name (sqlite:///file:twoway.db?uri=true) too
        database = sqlite_file(settings.database_url)
    except ValueError as exc:  # configuration refuses these; never run unguarded on one
        raise UserError(f"DATABASE_URL: {exc}") from None
    if database is None or fcntl is None:
        return FileClaim(None)
    path = database.with_name(database.name + ".lock")
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"DATABASE_URL: cannot create the lock file {path} ({exc.strerror or exc})") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        other = handle.read().strip()[:20]
        handle.close()
        raise UserError(
            f"another copy of TwoWay is already running on the SQLite database {database}"
            f"{f' (pid {other})' if other.isdigit() else ''}: SQLite takes one copy at a time, so stop "
            "that one first, or use PostgreSQL to run several"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return FileClaim(handle)
