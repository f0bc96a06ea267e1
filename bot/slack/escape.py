"""Public text made inert for Slack.

Everything TwoWay shows in Slack that came from the public (mention text, names, handles, FAQ
questions matched against it) passes through `public()` first. Escaping `&`, `<` and `>` is what
Slack documents; it stops `<!channel>`, `<@U123>` and `<http://evil|innocent>` from becoming live.
The bare words `@channel`, `@here` and `@everyone` get a zero-width joiner, so a client or a
future `link_names` flag can never turn them into a ping either.
"""

from __future__ import annotations

import re
import unicodedata

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ELLIPSIS = "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def public(text: str | None, limit: int | None = None) -> str:
    """Public text, cut to `limit` characters (before escaping), safe to put in any Slack field."""
    text = _CONTROL.sub("", text or "")
    if limit is not None:
        text = cut(text, limit)
    return _BROADCAST.sub("@\u2060\\1", escape(text))


def cut(text: str, limit: int) -> str:
    """Cut to at most `limit` characters without splitting a character from its combining marks."""
    if len(text) <= limit:
        return text
    end = max(limit - 1, 0)
    while end > 0 and unicodedata.combining(text[end]):
        end -= 1
    # Do not leave half of a surrogate-free emoji sequence joined by ZWJ dangling.
    while end > 0 and text[end - 1] == "\u200d":
        end -= 1
    return text[:end].rstrip() + ELLIPSIS
