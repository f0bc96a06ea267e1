"""Redraws of one card that overtake each other: the card ends showing what the database holds.

A redraw reads the card's view, then calls chat.update; Slack shows whichever update arrives
last. Here the fake Slack applies the first update late (a slow network), so a redraw read
earlier lands after one read later, in one process and across two.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from bot.core.context import Context
from bot.review.cards import REDRAW_ROUNDS, load_view, message_for, refresh_card
from storage.models import Mention
from tests.support.fakes.server import Recorded
from tests.support.fakes.slack_api import FakeSlack
from tests.support.world import ADMIN, OFFICER, SUPERVISOR, World, world


@dataclass
class SlowUpdates:
    arrived: threading.Event = field(default_factory=threading.Event)  # the slow one reached Slack
    in_flight: int = 0
    most_at_once: int = 0


def slow_first_update(fake: FakeSlack, seconds: float) -> SlowUpdates:
    """The next chat.update reaches the fake at once but is applied `seconds` later, as a slow
    network would deliver it; the others are applied at once."""
    seen = SlowUpdates()
    lock = threading.Lock()

    def handler(recorded: Recorded, match: re.Match[str]) -> Any:
        with lock:
            slow = not seen.arrived.is_set()
            seen.arrived.set()
            seen.in_flight += 1
            seen.most_at_once = max(seen.most_at_once, seen.in_flight)
        try:
            if slow:
                time.sleep(seconds)
            return fake._api(recorded, match)
        finally:
            with lock:
                seen.in_flight -= 1

    fake.routes.insert(0, ("POST", re.compile(r"^/api/(chat\.update)$"), handler))
    return seen


def assign(ctx: Context, mention_id: int, who: str) -> None:
    with ctx.transaction() as session:
        session.execute(update(Mention).where(Mention.id == mention_id).values(assignee=who))


def in_database(ctx: Context, mention_id: int) -> Any:
    with ctx.transaction() as session:
        view = load_view(session, mention_id)
    assert view is not None
    return json.loads(json.dumps(message_for(view)["blocks"]))


def updates(w: World) -> int:
    return len(w.fake.api_calls("chat.update"))


def other_process(ctx: Context) -> Context:
    """A second copy of the bot on the same database: its own state (locks), same Slack."""
    return Context(
        settings=ctx.settings, engine=ctx.engine, sessions=ctx.sessions, clock=ctx.clock, slack=ctx.slack
    )


def test_an_unchanged_card_costs_one_update(ctx: Context) -> None:
    with world(ctx) as w:
        mid, _ = w.posted()
        assign(ctx, mid, SUPERVISOR)
        assert refresh_card(ctx, mid)
        assert updates(w) == 1
        assert w.card(mid).blocks == in_database(ctx, mid)


def _a_redraw_under_way(ctx: Context, w: World) -> tuple[int, threading.Thread, SlowUpdates]:
    """A posted card whose first redraw has read the card (unassigned) and whose update is slow
    to land: the card, the thread drawing it, and the slow update."""
    mid, _ = w.posted()
    slow = slow_first_update(w.fake, 0.8)
    first = threading.Thread(target=refresh_card, args=(ctx, mid))
    first.start()
    assert slow.arrived.wait(5)
    return mid, first, slow


def test_an_earlier_redraw_landing_last_in_one_process_is_drawn_over(ctx: Context) -> None:
    """The click pool and an assignment's redraw at once: the earlier snapshot arrives last."""
    with world(ctx) as w:
        mid, first, slow = _a_redraw_under_way(ctx, w)
        assign(ctx, mid, SUPERVISOR)
        second = threading.Thread(target=refresh_card, args=(ctx, mid))
        second.start()
        first.join(10)
        second.join(10)
        assert "Assigned to <@U0SUPER01>" in str(w.card(mid).blocks)
        assert w.card(mid).blocks == in_database(ctx, mid)
        assert slow.most_at_once == 1  # one process draws one card at a time


def test_an_earlier_redraw_landing_last_from_another_process_is_drawn_over(ctx: Context) -> None:
    """Two copies of the bot on one database: a lock in one cannot order the other's redraw."""
    with world(ctx) as w:
        mid, first, _slow = _a_redraw_under_way(ctx, w)
        assign(ctx, mid, OFFICER)
        assert refresh_card(other_process(ctx), mid)  # lands at once, before the first
        assert "Assigned to <@U0OFFICER1>" in str(w.card(mid).blocks)
        first.join(10)
        assert w.card(mid).blocks == in_database(ctx, mid)
        assert updates(w) == 3  # the stale one, the other's, and the first's second round


def test_a_card_changing_at_every_redraw_is_redrawn_a_bounded_number_of_times(ctx: Context) -> None:
    with world(ctx) as w:
        mid, _ = w.posted()
        people = iter([ADMIN, SUPERVISOR, OFFICER] * 5)

        def change_then_apply(recorded: Recorded, match: re.Match[str]) -> Any:
            assign(ctx, mid, next(people))
            return w.fake._api(recorded, match)

        w.fake.routes.insert(0, ("POST", re.compile(r"^/api/(chat\.update)$"), change_then_apply))
        assert refresh_card(ctx, mid)
        assert updates(w) == REDRAW_ROUNDS
