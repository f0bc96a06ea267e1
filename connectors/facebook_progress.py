"""How far each Facebook post's comments were read, kept between polls (`Page.progress`).

A post's comments are read newest first. `head` is the newest comment time read: everything from
it back to where the post's reading began is stored, except the ranges listed as `tails`, reads
that stopped early (a page budget, an error) and continue next time from Graph's `after` cursor
down to their `floor`. So a busy post costs requests for its new comments only, and a poll that
stops early resumes where it stopped instead of starting again from the newest comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.graph import MALFORMED, maybe_time

POST_PREFIX = "post:"
HINT_PREFIX = "hint:"  # a webhook said a post has a new comment: read it even if it is old
TAGGED = "tagged"  # the newest post that tags the Page, already read
SWEEP = "sweep"  # when every post of the watch window was last listed


@dataclass
class Tail:
    after: str  # Graph's cursor of the next page; "" reads again from the newest comment
    floor: datetime  # the read is complete at the first comment older than this


@dataclass
class PostProgress:
    head: datetime | None = None
    seen: datetime | None = None  # the post's updated_time when it was last read
    read: datetime | None = None  # when it was last read
    tails: list[Tail] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps(
            {
                "h": _iso(self.head),
                "s": _iso(self.seen),
                "r": _iso(self.read),
                "t": [[t.after, t.floor.isoformat()] for t in self.tails],
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, value: str | None) -> PostProgress | None:
        if not value:
            return None
        try:
            data: Any = json.loads(value)
            tails = [
                Tail(str(after), floor) for after, raw in data.get("t") or [] if (floor := maybe_time(raw))
            ]
            return cls(maybe_time(data.get("h")), maybe_time(data.get("s")), maybe_time(data.get("r")), tails)
        except (*MALFORMED, json.JSONDecodeError):
            return None  # unreadable progress: the post is read as if new (duplicates are dropped)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
