"""Storms for the tests: a viral post on the fake X, replies to it at chosen times, and one turn
of what `twoway run` does (poll, triage, the Slack worker), all with the test's clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.app.pipeline import process
from bot.core.context import Context
from bot.intake.polling import poll_account
from storage import keys, settings
from storage.models import AuditEvent, Mention, Storm, StormMessage
from tests.support.world import ADMIN, REVIEW, World, world

ANGRY = [
    "This is a disgrace. That officer should be fired today.",
    "Fire him now. No more excuses from this department.",
    "Absolutely shameful conduct by your officers.",
    "I've lost all trust in this department.",
    "Another cover-up in the making.",
    "This statement says nothing. Pathetic PR.",
    "Typical. Protect your own and blame the victim.",
    "The chief needs to resign over this.",
    "Mike you clearly didn't watch the video before commenting",
    "lol the comments on this post are wild",
    "Praying for everyone involved.",
    "Thank you officers for keeping us safe, ignore the haters",
]
QUESTIONS = [
    "When will the body camera video be released?",
    "Is the community meeting on Thursday still happening?",
    "Where can I file a complaint about this?",
    "Which roads are closed near the park right now?",
]
URGENT = "There's a man with a gun outside the library on Park Ave right now, please send someone"

_n = itertools.count(1)


def set_threshold(ctx: Context, multiple: float = 10, minimum: int = 10) -> None:
    with ctx.transaction() as session:
        settings.put(
            session, keys.STORM_THRESHOLD, {"multiple": multiple, "minimum": minimum}, ADMIN, ctx.clock.now()
        )


def viral_post(
    w: World, text: str = "Statement on last night's incident at Riverside Park"
) -> dict[str, Any]:
    """A post by the agency itself, which the replies answer."""
    return w.fake_x.add_tweet(
        text, author=w.fake_x.me["username"], created_at=w.h.ctx.clock.now() - timedelta(hours=2)
    )


def replies(w: World, post: dict[str, Any], texts: Sequence[str], at: datetime) -> list[dict[str, Any]]:
    """Replies that @mention the account, posted at `at` (a second apart), each text made unique."""
    made = []
    for n, text in enumerate(texts):
        made.append(
            w.fake_x.add_mention(
                f"{text} ({next(_n)})",
                author=f"resident{next(_n)}",
                reply_to=post,
                created_at=at + timedelta(seconds=n % 60),
            )
        )
    return made


def angry(count: int) -> list[str]:
    return [ANGRY[n % len(ANGRY)] for n in range(count)]


def turn(w: World) -> None:
    """One poll of the account, then triage and the Slack worker, as `twoway poll --once` does."""
    poll_account(w.h.ctx, w.account_id)
    process(w.h.ctx)


def storms_of(ctx: Context) -> list[Storm]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Storm).order_by(Storm.id)))


def storm_messages(ctx: Context, storm_id: int) -> dict[str, StormMessage]:
    with ctx.transaction() as session:
        rows = session.scalars(select(StormMessage).where(StormMessage.storm_id == storm_id))
        return {row.kind: row for row in rows}


def mentions_of(ctx: Context) -> list[Mention]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def audit(ctx: Context, action: str) -> list[AuditEvent]:
    with ctx.transaction() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def channel_posts(w: World) -> list[dict[str, Any]]:
    return [c for c in w.fake.api_calls("chat.postMessage") if c.get("channel") == REVIEW]


def event_types(w: World) -> list[str]:
    return [str((c.get("metadata") or {}).get("event_type")) for c in channel_posts(w)]


@contextmanager
def storming(
    ctx: Context, clock: Any, *, angry_posts: int = 30, questions: int = 2, urgent: int = 1
) -> Iterator[tuple[World, Storm]]:
    """A running app with one storm on a viral post: `angry_posts` to gather, plus questions and
    urgent posts that get cards of their own."""
    global _n
    _n = itertools.count(1)  # the same texts whichever tests ran before: triage reads the numbers too
    with world(ctx) as w:
        set_threshold(ctx, minimum=10)
        post = viral_post(w)
        texts = angry(angry_posts) + QUESTIONS[:questions] + [URGENT] * urgent
        replies(w, post, texts, clock.now() - timedelta(minutes=2))
        turn(w)
        [storm] = storms_of(ctx)
        yield w, storm
