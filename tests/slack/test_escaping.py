"""No public text ever becomes a live mention, channel link or disguised link in Slack.

A seeded generator builds 1,000+ hostile strings (broadcast mentions, user and channel
mentions, disguised links, `&`, control and direction characters); they go into every public
field of mentions whose cards are posted, updated, assigned (DM), liked and edited (modal)
through the real app. Every string in every request the fake Slack recorded is then checked.
"""

from __future__ import annotations

import random
import re
from typing import Any

from sqlalchemy import update

from bot.core.context import Context
from bot.review.blocks import CardView, DraftView, card_blocks, fallback_text
from bot.review.cards import post_pending_cards
from storage.models import Mention
from tests.support.fakes.slack_api import args_of
from tests.support.world import ADMIN, OFFICER, SUPERVISOR, World, world

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<!subteam^S0EVIL|@police>",
    "<@U1>",
    "<@UEVIL123>",
    "<@W1|boss>",
    "<#CEVIL123>",
    "<#C1|general>",
    "<http://x|y>",
    "<https://evil.example/login|https://x.com/agency>",
    "<mailto:a@evil.example|email us>",
    "<tel:911|call>",
    "@channel",
    "@here",
    "@everyone",
    "&",
    "&lt;!channel&gt;",
    "&amp;",
    "<",
    ">",
    "<<!channel>>",
    "< !channel>",
    "<\n!here>",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\u202e",
    "\u2066",
    "\ufeff",
    "*bold*",
    "`code`",
    "~strike~",
    "> quote",
    "|",
    "https://x.com/agency/status/1",
]
ORDINARY = [
    "thanks",
    "officer",
    "where is the station?",
    "🚓",
    "café",
    "東京",
    "جزاك",
    "  ",
    "\n",
    "\t",
    "!",
    "@",
    "#",
]
SEPARATORS = ["", " ", "\n", "<", "&", "|"]

ALLOWED_TOKENS = [
    re.compile(r"^<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[0-9: -]+UTC>$"),
    re.compile(r"^<@U0[A-Z0-9]+>$"),
    re.compile(r"^<https://x\.com/[A-Za-z0-9_]+(/status/\d+)?\|[^<>]*>$"),
    re.compile(r"^<https://twoway-test\.slack\.com/archives/C0[A-Z0-9]+/p\d+\|[^<>]*>$"),  # permalinks
]
TOKEN = re.compile(r"<[^<>]*>")
DANGEROUS = re.compile(r"<[!@#]|<(?:https?|mailto|tel):|@(?:channel|here|everyone)\b", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def hostile_strings(count: int, seed: int = 20261122) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = [rng.choice(HOSTILE if rng.random() < 0.6 else ORDINARY) for _ in range(rng.randint(1, 6))]
        out.append(rng.choice(SEPARATORS).join(parts))
    return out


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def problems(text: str, staff_ids: set[str]) -> list[str]:
    """Every `<...>` token must be one TwoWay makes itself; no broadcast word, no control char."""
    found = []
    for token in TOKEN.findall(text):
        if not any(p.match(token) for p in ALLOWED_TOKENS) or (
            token.startswith("<@") and token[2:-1] not in staff_ids
        ):
            found.append(token)
    without_own = TOKEN.sub(
        lambda m: "" if any(p.match(m.group()) for p in ALLOWED_TOKENS) else m.group(), text
    )
    found += DANGEROUS.findall(without_own)
    found += CONTROL.findall(text)
    return found


def test_generator_makes_enough_hostile_strings() -> None:
    strings = hostile_strings(1000)
    assert len(set(strings)) > 850
    assert sum(bool(DANGEROUS.search(s)) for s in strings) > 500
    # The checker itself catches them when they are not escaped.
    assert sum(bool(problems(s, set())) for s in strings) > 600


def test_pure_card_blocks_never_carry_a_live_token() -> None:
    from datetime import UTC, datetime

    strings = hostile_strings(2000, seed=7)
    for n in range(0, len(strings), 5):
        a, b, c, d, e = strings[n : n + 5]
        view = CardView(
            mention_id=n + 1,
            platform="x",
            account=e,
            author_name=a,
            author_handle=b,
            author_url="https://x.com/someone",
            created_at=datetime(2026, 11, 20, tzinfo=UTC),
            text=c,
            url="https://x.com/someone/status/1",
            parent_text=d,
            category="question",
            urgent=True,
            urgent_reason=a,
            drafts=(DraftView(1, "We can help.", "faq", match=e),),
            restriction="the author did not @mention {account}" if n % 2 == 0 else None,
        )
        for text in [*strings_in(card_blocks(view)), fallback_text(view)]:
            assert problems(text, set()) == [], (text, [a, b, c, d, e])


def test_no_public_text_reaches_slack_live_through_the_app(ctx: Context) -> None:
    strings = hostile_strings(1000)
    with world(ctx) as w:
        mids = [seed_mention(w, strings[i : i + 5], i) for i in range(0, len(strings), 5)]
        while post_pending_cards(ctx):
            pass
        for mid in mids[:25]:
            card = w.card(mid)
            w.h.click(card, "edit_reply", user_id=OFFICER)
            w.h.click(card, "assign", user_id=SUPERVISOR, selected_user=OFFICER)
        for mid in mids[25:40]:
            w.h.click(w.card(mid), "dismiss", user_id=OFFICER, option_value="spam")
        for mid in mids[40:50]:
            w.h.click(w.card(mid), "send_reply:1", user_id=OFFICER)
        assert len(w.fake.messages()) >= len(mids)
        assert len(w.fake.views_opened) == 25
        assert w.fake.dms(OFFICER)
        checked = 0
        staff_ids = {OFFICER, SUPERVISOR, ADMIN}
        for recorded in w.fake.requests:
            for text in strings_in(args_of(recorded)):
                assert problems(text, staff_ids) == [], (recorded.path, text)
                checked += 1
        assert checked > 5000


def seed_mention(w: World, five: list[str], i: int) -> int:
    # Storage drops NUL before saving (PostgreSQL refuses it); the pure test above keeps it.
    text, name, handle, parent, reason = (s.replace("\x00", "") for s in five)
    mid = w.new_mention(
        "thanks",
        author_name=name,
        author_handle="jane",
        parent_text=parent,
        urgent=i % 3 == 0,
        urgent_reason=reason,
        category="compliment" if i % 2 else "question",
    )
    with w.h.ctx.transaction() as session:
        # The stored text and handle are hostile; the tweet on the fake X stays a normal one.
        drafts = {
            "items": [{"text": "Thank you for writing to us.", "source": "faq", "key": "1", "match": reason}]
        }
        session.execute(
            update(Mention).where(Mention.id == mid).values(text=text, author_handle=handle, drafts=drafts)
        )
    return mid


# What Slack sends for a typed `@channel`, `@here` or link (the manifest sets should_escape), and
# a literal `<` typed by the admin, which Slack sends as `&lt;`.
ECHOED = {
    "<!channel>": "unknown subcommand",
    "role <!channel> officer": "not a Slack user",
    "role <@U0OFFICER1> <!here>": "not a role",
    "pause <!channel>": "No connected account matches",
    "sla urgent <!channel>": "not a duration",
    "sla quiet <!channel>": "not a range",
    "sla quiet 22:00-07:00 <!here>": "not a time zone",
    "digest daily <!channel>": "not a time",
    "digest weekly <!here>": "not a weekday",
    "digest timezone <https://evil.example|click>": "not a time zone",
    "export <!channel> 2026-01-31": "must be a date",
    "template add question {&lt;!channel&gt;}": "not a placeholder",
    "template add question {&lt;https://evil.example|click&gt;}": "not a placeholder",
    "faq add hours? | {&lt;!here&gt;}": "not a placeholder",
}


def test_command_arguments_echoed_in_an_error_stay_inert(ctx: Context) -> None:
    """A bad argument is quoted back to the admin, never as a live mention or link."""
    with world(ctx) as w:
        for text, expected in ECHOED.items():
            answer = w.h.command(text, ADMIN).text
            assert expected.lower() in answer.lower(), (text, answer)
            assert problems(answer, set()) == [], (text, answer)


def test_platform_error_text_told_to_the_clicker_stays_inert(ctx: Context) -> None:
    """X's error detail is quoted in the ephemeral answer; it is the platform's text, not ours."""
    from tests.support.fakes.x_api import error

    hostile = "<!channel> <https://evil.example|click> @here"
    with world(ctx) as w:
        _, card = w.posted()
        w.fake_x.fail_next(r"/2/tweets$", error(403, "Forbidden", hostile))
        told = w.h.ephemeral_texts(w.h.click(card, "send_reply:1", user_id=OFFICER), OFFICER)
        _, card = w.posted("thanks so much for your help")
        w.fake_x.fail_next(r"/likes$", error(403, "Forbidden", hostile))
        told += w.h.ephemeral_texts(w.h.click(card, "like", user_id=OFFICER), OFFICER)
        assert any("refused the reply" in t for t in told), told
        assert any("like did not go through" in t for t in told), told
        assert all(problems(t, {OFFICER}) == [] for t in told), told
