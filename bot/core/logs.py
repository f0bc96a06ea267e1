"""Logging with secrets scrubbed: tokens must never reach a log line, even inside an exception."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Slack tokens, bearer headers, OAuth signatures and access_token query parameters.
_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]+"),
    re.compile(r"(?i)(access_token=)[^&\s\"']+"),
    re.compile(r"(?i)(oauth_signature=\")[^\"]+"),
    re.compile(r"(?i)(oauth_token=\")[^\"]+"),
]


class RedactingFilter(logging.Filter):
    """Replaces known secrets and token-shaped strings in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
        return text

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
