"""Times as Slack shows them: in each reader's own time zone, with a UTC fallback."""

from __future__ import annotations

from datetime import datetime


def stamp(at: datetime, joiner: str = " at ") -> str:
    """`<!date^…>`: Slack renders the moment in the reader's time zone; old clients see UTC."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}}{joiner}{{time}}|{fallback}>"


def when(moment: datetime | None, now: datetime) -> str:
    """A moment and how long ago (or ahead) it is: `<date> (5 min ago)`; None is `never`."""
    if moment is None:
        return "never"
    return f"{stamp(moment, ' ')} ({relative(moment, now)})"


def relative(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    if abs(seconds) < 60:
        return "now"
    minutes = abs(seconds) // 60
    amount = (
        f"{minutes} min"
        if minutes < 120
        else f"{minutes // 60} h"
        if minutes < 2880
        else f"{minutes // 1440} d"
    )
    return f"in {amount}" if seconds > 0 else f"{amount} ago"
