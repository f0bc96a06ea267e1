"""Logging with secrets scrubbed: tokens must never reach a log line, even inside an exception."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

# Slack tokens, bearer headers, OAuth signatures and access_token query parameters.
_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]+"),
    re.compile(r"(?i)(access_token=)[^&\s\"']+"),
    re.compile(r"(?i)(oauth_signature=\")[^\"]+"),
    re.compile(r"(?i)(oauth_(?:token|consumer_key)=\")[^\"]+"),
]
MIN_SECRET = 6  # shorter values are not scrubbed: they would mangle ordinary words and numbers

_learned: frozenset[str] = frozenset()
_learned_lock = threading.Lock()


def redact_everywhere(secrets: Iterable[str]) -> None:
    """Scrub these too, in every filter and `scrub`, from now on.

    For secrets learned while running: credentials typed into `/twoway connect` and those
    unsealed from the database to poll, which the start-up filter cannot know.
    """
    global _learned
    new = {s for s in secrets if s and len(s) >= MIN_SECRET}
    with _learned_lock:
        _learned = _learned | new


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any known secret or token-shaped string, for logs and stored error text."""
    known = {s for s in secrets if s and len(s) >= MIN_SECRET} | _learned
    for secret in sorted(known, key=len, reverse=True):  # longest first: one may contain another
        text = text.replace(secret, "[redacted]")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Replaces known secrets and token-shaped strings in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.scrub(message)
        record.args = None
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> RedactingFilter:
    secrets = list(secrets)
    redact_everywhere(secrets)  # so that `scrub` of stored error text knows them too
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler.executors.default", "urllib3.connectionpool"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor


# Alembic's "Context impl SQLiteImpl." / "Will assume non-transactional DDL." lines at INFO.
MIGRATION_LOGGER = "alembic"


def quiet_migrations() -> None:
    """Keep alembic's INFO lines out of a command that only migrates on the way (`keys`,
    `export`, `poll --once`...): there they would come before the one line saying what went
    wrong. `db upgrade`, `run`, `start` and `sandbox` keep them, where they show progress."""
    logging.getLogger(MIGRATION_LOGGER).setLevel(logging.WARNING)
