"""The unanswered queue: only open items, oldest first, filtered and paged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.context import Context
from storage.queue import PAGE_SIZE, unanswered
from tests.conftest import FakeClock
from tests.support.rows import add_account, add_mention

OFFICER = "U0OFFICER"


@pytest.fixture
def queue_ids(ctx: Context, clock: FakeClock) -> dict[str, list[int]]:
    """20 open items (every third assigned to OFFICER, posted newest first), plus closed ones."""
    ids: dict[str, list[int]] = {"all": [], "mine": [], "unassigned": []}
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        for i in range(20):
            mine = i % 3 == 0
            created = clock.now() - timedelta(minutes=i)
            m = add_mention(session, account, created, assignee=OFFICER if mine else None)
            ids["all"].insert(0, m.id)
            ids["mine" if mine else "unassigned"].insert(0, m.id)
        add_mention(session, account, clock.now() - timedelta(days=2), state="replied")
        add_mention(session, account, clock.now() - timedelta(days=2), state="dismissed", assignee=OFFICER)
        add_mention(session, account, clock.now() - timedelta(days=2), state="new", category=None)
    return ids


@pytest.mark.parametrize("which", ["all", "mine", "unassigned"])
def test_filters_and_oldest_first(ctx: Context, queue_ids: dict[str, list[int]], which: str) -> None:
    with ctx.transaction() as session:
        first = unanswered(session, which, OFFICER)
        pages = [first] + [unanswered(session, which, OFFICER, n) for n in range(2, first.pages + 1)]
    expected = queue_ids[which]
    assert first.total == len(expected)
    assert [item.id for page in pages for item in page.items] == expected
    assert all(len(page.items) <= PAGE_SIZE for page in pages)


def test_paging(ctx: Context, queue_ids: dict[str, list[int]]) -> None:
    with ctx.transaction() as session:
        first = unanswered(session, "all", page=1)
        second = unanswered(session, "all", page=2)
        beyond = unanswered(session, "all", page=9)
    assert (first.page, first.pages, len(first.items)) == (1, 2, 15)
    assert (second.page, len(second.items)) == (2, 5)
    assert beyond.page == 2  # past the end shows the last page
    assert [i.id for i in first.items + second.items] == queue_ids["all"]


def test_mine_for_someone_with_nothing_assigned(ctx: Context, queue_ids: dict[str, list[int]]) -> None:
    with ctx.transaction() as session:
        page = unanswered(session, "mine", "U0SOMEONE")
    assert (page.total, page.items, page.pages) == (0, [], 1)


def test_unknown_filter_is_refused(ctx: Context) -> None:
    with ctx.transaction() as session, pytest.raises(ValueError, match="unknown queue filter"):
        unanswered(session, "everything")
