"""Counts in messages people read: "1 mention", "2 mentions", "1,204 mentions"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
