"""An Instagram account from the environment: registered beside its Page, polled, one line each.

Real facebook-sdk against the fake Instagram Graph API; SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.config import ConfigError, load_settings
from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from bot.intake.polling import poll_all_once
from bot.intake.triage import triage_pending
from storage.models import Mention
from tests.conftest import FakeClock, make_settings
from tests.support.fakes.instagram_api import FakeInstagram


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeInstagram]:
    with FakeInstagram(now=clock.now() - timedelta(hours=1)) as server:
        yield server  # type: ignore[misc]


def configure(ctx: Context, fake: FakeInstagram, **extra: str) -> None:
    ctx.settings = make_settings(
        DATABASE_URL=ctx.settings.database_url,
        FACEBOOK_GRAPH_URL=fake.url,
        FACEBOOK_PAGE_ID=fake.page["id"],
        FACEBOOK_PAGE_TOKEN=fake.page_token,
        **extra,
    )
    ctx.forget_state()


def test_the_page_and_its_instagram_account_are_polled_with_one_line_each(
    ctx: Context, fake: FakeInstagram
) -> None:
    configure(ctx, fake, INSTAGRAM_ACCOUNT_ID=fake.ig["id"])
    media = fake.add_media("Coffee with a cop on Saturday")
    comment = fake.add_ig_comment(media, "What time does it start?", username="kim.lee")
    registered = register_env_accounts(ctx)
    assert sorted(a.platform for a in registered) == ["facebook", "instagram"]
    lines = [s.line() for s in poll_all_once(ctx)]
    assert "facebook Agency Police: 0 new, 0 skipped, 1 requests, ok" in lines
    assert "instagram @agencypolice: 1 new, 0 skipped, 2 requests, ok" in lines
    with ctx.transaction() as session:
        row = session.scalar(select(Mention).where(Mention.external_id == comment["id"]))
        assert row is not None
        assert (row.platform, row.author_handle, row.url) == ("instagram", "kim.lee", media["permalink"])


def test_without_instagram_account_id_only_the_page_is_registered(ctx: Context, fake: FakeInstagram) -> None:
    configure(ctx, fake)
    assert [a.platform for a in register_env_accounts(ctx)] == ["facebook"]


def test_a_malformed_instagram_account_id_is_one_configuration_line(
    ctx: Context, fake: FakeInstagram
) -> None:
    with pytest.raises(ConfigError, match="INSTAGRAM_ACCOUNT_ID is malformed"):
        load_settings(
            _env_file=None, DATABASE_URL=ctx.settings.database_url, INSTAGRAM_ACCOUNT_ID="agencypolice"
        )


def test_drafts_for_a_reply_to_a_reply_name_its_author_and_a_top_level_comment_none(
    ctx: Context, fake: FakeInstagram
) -> None:
    """Instagram answers only top-level comments, so the answer to jo.ruiz's reply lands under
    kim.lee's comment: its drafts start with @jo.ruiz, as the app's own Reply button writes."""
    configure(ctx, fake, INSTAGRAM_ACCOUNT_ID=fake.ig["id"])
    media = fake.add_media("Meet Rex, our newest K9")
    top = fake.add_ig_comment(media, "Is Rex on patrol downtown this weekend?", username="kim.lee")
    nested = fake.add_ig_comment(
        media, "When is the next K9 demo at the library?", username="jo.ruiz", parent=top
    )
    register_env_accounts(ctx)
    poll_all_once(ctx)
    triage_pending(ctx)
    with ctx.transaction() as session:
        rows = {m.external_id: m for m in session.scalars(select(Mention))}
        nested_drafts = [d["text"] for d in rows[nested["id"]].drafts["items"]]
        top_drafts = [d["text"] for d in rows[top["id"]].drafts["items"]]
    assert nested_drafts
    assert all(text.startswith("@jo.ruiz ") for text in nested_drafts)
    assert top_drafts
    assert not any("@kim.lee" in text for text in top_drafts)
