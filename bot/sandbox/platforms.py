"""What every simulated platform offers the sandbox, so a new platform is one more module.

A platform serves its wire format under its own path prefix (the real connector is pointed
there through the settings it returns), accepts items of the feed, and shows its public
timeline: the posts people wrote and what the agency's account did with them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.sandbox.feed import Item
from bot.sandbox.web import Router

AGENCY_NAME = "Maple Falls Police Department"
AGENCY_HANDLE = "MapleFallsPD"


@dataclass
class Post:
    """One public post, comment or reply on a simulated platform."""

    id: str
    author: str
    handle: str
    text: str
    created: datetime
    parent: str | None = None  # the post it answers, when it is shown under one
    by_account: bool = False  # written by the agency's account (a reply sent from TwoWay)
    liked: bool = False  # liked by the agency's account
    via_api: bool = False  # arrived through the platform's API (TwoWay sent it)


@dataclass
class Timeline:
    """A platform's posts, oldest first, and who wants to hear when they change."""

    posts: list[Post] = field(default_factory=list)
    listeners: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add(self, post: Post) -> Post:
        with self.lock:
            self.posts.append(post)
        self.changed()
        return post

    def find(self, post_id: str) -> Post | None:
        with self.lock:
            return next((p for p in self.posts if p.id == post_id), None)

    def like(self, post_id: str) -> bool:
        with self.lock:
            post = self.find(post_id)
            if post is None:
                return False
            post.liked = True
        self.changed()
        return True

    def changed(self) -> None:
        for listener in list(self.listeners):
            listener()


class Platform(Protocol):
    key: str  # the platform's name in TwoWay ("x", "facebook")
    label: str  # as people write it ("X", "Facebook")
    timeline: Timeline

    def mount(self, router: Router, prefix: str) -> None:
        """Serve the platform's API under `prefix` (e.g. "/x")."""
        ...

    def settings(self, base_url: str) -> dict[str, Any]:
        """Settings that point TwoWay's real connector at `base_url` with this fake's credentials."""
        ...

    def publish(self, item: Item, at: datetime) -> None:
        """Put one item of the feed on the platform, as written at `at`."""
        ...


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:15] or "someone"
