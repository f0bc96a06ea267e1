"""Slack's ids and TwoWay's database ids as they arrive in commands, clicks and settings.

Every pattern for a Slack id lives here, with one set of bounds: Slack's ids are an uppercase
letter and then letters and digits (about 9 to 11 characters today). A bare id typed by a person
must hold a digit, so that a word such as `UNICORN` is not taken for a user.
"""

from __future__ import annotations

import re

_USER = r"[UW][A-Z0-9]{1,30}"
_CHANNEL = r"[CGD][A-Z0-9]{1,30}"
USER_ID = re.compile(rf"\A{_USER}\Z")
CHANNEL_ID = re.compile(rf"\A{_CHANNEL}\Z")
TYPED_USER_ID = re.compile(rf"\A(?=[UW][A-Z0-9]*[0-9]){_USER}\Z")
USER_MENTION = re.compile(rf"\A<@({_USER})(?:\|[^>]*)?>\Z")  # how Slack escapes "@name" in command text


def is_user_id(text: str | None) -> bool:
    return bool(text) and USER_ID.match(text or "") is not None


def is_channel_id(text: str | None) -> bool:
    return bool(text) and CHANNEL_ID.match(text or "") is not None


def typed_user(token: str) -> str | None:
    """The user id in `<@U123|name>`, `<@U123>` or a typed `U123`; None when it names nobody."""
    token = token.strip()
    match = USER_MENTION.match(token)
    if match:
        return match.group(1)
    return token if TYPED_USER_ID.match(token) else None


def is_number(text: str) -> bool:
    """ASCII digits that fit a database id; `str.isdigit` also takes "²", which `int` refuses."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def parse_ids(value: str | None, count: int) -> tuple[int, ...] | None:
    """`count` positive integers joined by ':' (a button value), or None for anything else."""
    parts = (value or "").split(":")
    if len(parts) != count or not all(is_number(p) for p in parts):
        return None
    numbers = tuple(int(p) for p in parts)
    return numbers if all(n > 0 for n in numbers) else None
