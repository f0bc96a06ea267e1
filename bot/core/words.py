"""Counts in messages people read: "1 mention", "2 mentions", "1,204 mentions"."""

from __future__ import annotations


def noun(number: int, singular: str, plural: str | None = None) -> str:
    """The noun that goes with `number`: "mention" for 1, "mentions" otherwise."""
    return singular if number == 1 else plural or singular + "s"


def counted(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number:,} {noun(number, singular, plural)}"
