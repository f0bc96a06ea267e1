"""Rows for the supervision tests: an account and mentions in any state, written directly."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.context import Context
from storage import settings, staff
from storage.models import Account, Mention
from tests.support.fakes.slack_api import FakeSlack

_ids = itertools.count(1)
CHANNEL = "C0TWOWAY"


def add_account(session: Session, now: datetime, platform: str = "x", handle: str = "cityPD") -> Account:
    external_id = f"acct-{platform}-{handle}"
    found = session.scalar(
        select(Account).where(Account.platform == platform, Account.external_id == external_id)
    )
    if found is not None:
        return found
    account = Account(platform=platform, external_id=external_id, handle=handle, created_at=now)
    session.add(account)
    session.flush()
    return account


def add_mention(
    session: Session,
    account: Account,
    created_at: datetime,
    *,
    text: str = "When is the next community meeting?",
    category: str | None = "question",
    state: str = "open",
    ingested_after: timedelta = timedelta(0),
    response_after: timedelta | None = None,
    responded_by: str | None = None,
    card: bool = True,
    **values: Any,
) -> Mention:
    """A triaged mention, its card in Slack unless `card=False`; `response_after` sets
    first_response_at relative to `created_at`."""
    n = next(_ids)
    if card:  # a posted card has its place in the channel, as the card poster records it
        values.setdefault("card_channel", CHANNEL)
        values.setdefault("card_ts", f"1700000000.{n:06d}")
    mention = Mention(
        account_id=account.id,
        platform=account.platform,
        external_id=f"ext-{n}",
        author_id=f"author-{n}",
        author_handle=f"resident{n}",
        author_name=f"Resident {n}",
        text=text,
        url=f"https://x.com/resident{n}/status/{n}",
        created_at=created_at,
        ingested_at=created_at + ingested_after,
        category=category,
        confidence=0.9,
        triaged_at=created_at + ingested_after,
        state=state,
        card_status="posted" if card else "pending",
        **values,
    )
    if response_after is not None:
        mention.first_response_at = created_at + response_after
        mention.responded_by = responded_by
    session.add(mention)
    session.flush()
    return mention


def slack_client(fake: FakeSlack) -> WebClient:
    """The real slack_sdk client, pointed at the fake."""
    return WebClient(token="xoxb-test-token", base_url=fake.api_url)


def supervised(
    ctx: Context, fake: FakeSlack, roles: Mapping[str, str] | None = None, **values: str
) -> Context:
    """`ctx` talking to the fake Slack, with these staff roles (user id: role) and settings
    (channel, timezone...) stored as an admin would."""
    ctx.slack = slack_client(fake)
    with ctx.transaction() as session:
        for key, value in values.items():
            settings.put(session, key, value, by="U0ADMIN", now=ctx.clock.now())
        for user, role in (roles or {}).items():
            staff.set_role(session, user, role, by="test", now=ctx.clock.now())
    return ctx


def post_card(ctx: Context, mention_id: int, channel: str = CHANNEL) -> str:
    """Put a stand-in card for the mention into the fake channel and record it, as the card poster does."""
    assert ctx.slack is not None
    ts = str(ctx.slack.chat_postMessage(channel=channel, text=f"card #{mention_id}")["ts"])
    with ctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        mention.card_status, mention.card_channel, mention.card_ts = "posted", channel, ts
    return ts
