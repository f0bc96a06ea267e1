"""Rows and fakes for the Slack tests: an X account backed by the fake X API, triaged mentions."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from bot.core.context import Context
from storage import staff
from storage.models import CARD_PENDING, OPEN, Account, Mention
from tests.support.fakes.slack_api import FakeSlack
from tests.support.fakes.x_api import FakeX
from tests.support.signed import SlackHarness, running_app

REVIEW = "C0REVIEW01"
ADMIN, SUPERVISOR, OFFICER, STRANGER = "U0ADMIN01", "U0SUPER01", "U0OFFICER1", "U0NOBODY01"
DRAFTS = [
    "Thank you for reaching out. We will look into it.",
    "Thanks! We appreciate you taking the time to write.",
    "Please call our non-emergency line so we can help.",
]


def x_settings(fake_x: FakeX) -> dict[str, Any]:
    creds = fake_x.user_credentials
    return {
        "x_api_url": fake_x.url,
        "x_bearer_token": SecretStr(fake_x.bearer_token),
        "x_api_key": SecretStr(creds["api_key"]),
        "x_api_secret": SecretStr(creds["api_secret"]),
        "x_access_token": SecretStr(creds["access_token"]),
        "x_access_token_secret": SecretStr(creds["access_token_secret"]),
    }


def add_staff(ctx: Context) -> None:
    with ctx.transaction() as session:
        now = ctx.clock.now()
        staff.set_role(session, ADMIN, "admin", "test", now)
        staff.set_role(session, SUPERVISOR, "supervisor", "test", now)
        staff.set_role(session, OFFICER, "officer", "test", now)


def add_x_account(ctx: Context, fake_x: FakeX) -> int:
    with ctx.transaction() as session:
        account = Account(
            platform="x",
            external_id=fake_x.me["id"],
            handle=fake_x.me["username"],
            name=fake_x.me["name"],
            source="env",
            created_at=ctx.clock.now(),
        )
        session.add(account)
        session.flush()
        return account.id


def add_mention(
    ctx: Context,
    account_id: int,
    *,
    external_id: str,
    text: str = "@agency thank you for your help today",
    author_name: str = "Jane Citizen",
    author_handle: str = "jane",
    category: str = "compliment",
    confidence: float = 0.82,
    urgent: bool = False,
    urgent_reason: str | None = None,
    explicit_mention: bool = True,
    drafts: list[str] | None = None,
    parent_text: str | None = None,
    platform: str = "x",
) -> int:
    now = ctx.clock.now()
    items = [{"text": t, "source": "template", "key": f"k{n}"} for n, t in enumerate(drafts or DRAFTS)]
    with ctx.transaction() as session:
        mention = Mention(
            account_id=account_id,
            platform=platform,
            external_id=external_id,
            author_id="42",
            author_handle=author_handle,
            author_name=author_name,
            author_url=f"https://x.com/{author_handle}" if author_handle else "",
            text=text,
            url=f"https://x.com/{author_handle or 'i'}/status/{external_id}",
            created_at=now - timedelta(minutes=3),
            ingested_at=now,
            parent_text=parent_text,
            explicit_mention=explicit_mention,
            raw={},
            category=category,
            confidence=confidence,
            urgent=urgent,
            urgent_reason=urgent_reason,
            drafts={"items": items},
            triaged_at=now,
            state=OPEN,
            card_status=CARD_PENDING,
        )
        session.add(mention)
        session.flush()
        return mention.id


def mention(ctx: Context, mention_id: int) -> Mention:
    with ctx.transaction() as session:
        row = session.get(Mention, mention_id)
        assert row is not None
        return row


@dataclass
class World:
    """The app, fake Slack and fake X, an X account and staff with every role."""

    h: SlackHarness
    fake_x: FakeX
    account_id: int

    @property
    def fake(self) -> FakeSlack:
        return self.h.fake

    def new_mention(self, text: str = "thank you for your help today", **kwargs: Any) -> int:
        """A mention that exists on the fake X, stored and triaged, its card still pending."""
        explicit = kwargs.get("explicit_mention", True)
        tweet = self.fake_x.add_mention(text, mentions_account=explicit)
        return add_mention(self.h.ctx, self.account_id, external_id=tweet["id"], text=tweet["text"], **kwargs)

    def card(self, mention_id: int) -> Any:
        row = mention(self.h.ctx, mention_id)
        if not (row.card_channel and row.card_ts):
            raise AssertionError(f"#{mention_id} has no card")
        return copy.deepcopy(self.fake.message(row.card_channel, row.card_ts))  # as Slack showed it then

    def posted(self, text: str = "thank you for your help today", **kwargs: Any) -> tuple[int, Any]:
        """A mention whose card is in the channel."""
        from bot.review.cards import post_pending_cards

        mention_id = self.new_mention(text, **kwargs)
        post_pending_cards(self.h.ctx)
        return mention_id, self.card(mention_id)


@contextmanager
def world(ctx: Context, **env: Any) -> Iterator[World]:
    env = {"twoway_channel": REVIEW, **env}
    with FakeX() as fake_x, running_app(ctx, **x_settings(fake_x), **env) as h:
        add_staff(ctx)
        account_id = add_x_account(ctx, fake_x)
        yield World(h, fake_x, account_id)
