"""The keys of the `settings` rows admins change from Slack: one name each, so a typo fails to
import instead of reading a silent default."""

from __future__ import annotations

from typing import Final

CHANNEL: Final = "channel"  # the review channel, from `/twoway setup`
TIMEZONE: Final = "timezone"  # the agency's IANA time zone (digests, quiet hours)
SLA_PREFIX: Final = "sla."  # `sla.<category>` and `sla.urgent`: seconds, or None for no SLA
SLA_QUIET: Final = "sla.quiet"  # {"start": "22:00", "end": "07:00"}
DIGEST_DAILY: Final = "digest.daily"  # {"time": "08:00"}, or False when off
DIGEST_WEEKLY: Final = "digest.weekly"  # {"day": "mon", "time": "08:00"}, or False when off
STORM_THRESHOLD: Final = "storm_threshold"  # {"multiple": 10, "minimum": 30}, or False when off


def sla(category: str) -> str:
    return f"{SLA_PREFIX}{category}"
