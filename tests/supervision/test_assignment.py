"""Assigning items: the record, the DM to the assignee, the redrawn card, and refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.context import Context
from bot.core.errors import UserError
from bot.supervision.assignment import assign
from storage.models import CARD_SUMMARY, AuditEvent, Mention, Storm, StormMessage
from tests.conftest import FakeClock
from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import CHANNEL, add_account, add_mention, post_card, supervised

SUP, OFFICER, OTHER = "U0SUPER", "U0OFFICER", "U0OTHER"


@pytest.fixture
def sctx(ctx: Context, fake: FakeSlack) -> Context:
    return supervised(ctx, fake, {SUP: "supervisor", OFFICER: "officer", OTHER: "officer"})


def _mention(ctx: Context, clock: FakeClock, **values: object) -> int:
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        return add_mention(session, account, clock.now(), **values).id  # type: ignore[arg-type]


def _events(ctx: Context, mention_id: int) -> list[AuditEvent]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.mention_id == mention_id).order_by(AuditEvent.id)
            )
        )


def test_assign_records_dms_a_link_to_the_card(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock, text="Is the park closed? <!channel>")
    ts = post_card(sctx, mention_id)
    result = assign(sctx, mention_id, OFFICER, by=SUP)
    assert (result.changed, result.action, result.dm_sent, result.warning) == (True, "assigned", True, None)
    assert "direct message" not in result.message
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        assert (mention.assignee, mention.assigned_by, mention.assigned_at) == (OFFICER, SUP, clock.now())
    [dm] = fake.dms(OFFICER)
    assert f"https://twoway-test.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}" in dm.text
    assert f"<@{SUP}>" in dm.text
    assert f"#{mention_id}" in dm.text
    assert "&lt;!channel&gt;" in dm.text
    assert "<!channel>" not in dm.text
    [event] = _events(sctx, mention_id)
    assert (event.action, event.actor, event.details) == (
        "assigned",
        SUP,
        {"assignee": OFFICER, "previous": None},
    )


def test_reassign_and_unassign_are_recorded(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock)
    post_card(sctx, mention_id)
    assign(sctx, mention_id, OFFICER, by=SUP)
    clock.advance(minutes=5)
    result = assign(sctx, mention_id, OTHER, by=SUP)
    assert (result.action, result.previous) == ("reassigned", OFFICER)
    clock.advance(minutes=5)
    result = assign(sctx, mention_id, None, by=SUP)
    assert (result.action, result.previous, result.dm_sent) == ("unassigned", OTHER, False)
    actions = [(e.action, e.details["assignee"], e.details["previous"]) for e in _events(sctx, mention_id)]
    assert actions == [
        ("assigned", OFFICER, None),
        ("reassigned", OTHER, OFFICER),
        ("unassigned", None, OTHER),
    ]
    assert len(fake.dms(OFFICER)) == 1
    assert len(fake.dms(OTHER)) == 1
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        assert mention.assignee is None
        assert mention.assigned_at is None


def test_assigning_the_same_person_again_changes_nothing(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    mention_id = _mention(sctx, clock)
    assign(sctx, mention_id, OFFICER, by=SUP)
    result = assign(sctx, mention_id, OFFICER, by=SUP)
    assert not result.changed
    assert "already assigned" in result.message
    assert len(_events(sctx, mention_id)) == 1
    assert len(fake.dms(OFFICER)) == 1


def test_the_card_is_redrawn_with_the_assignee(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock)
    ts = post_card(sctx, mention_id)
    assign(sctx, mention_id, OFFICER, by=SUP)
    updates = [c for c in fake.api_calls("chat.update") if c.get("ts") == ts]
    assert updates, "the card was not redrawn"
    assert OFFICER in str(updates[-1].get("blocks")) + str(updates[-1].get("text"))


@pytest.mark.parametrize("state", ["replied", "dismissed"])
def test_closed_items_cannot_be_assigned(
    sctx: Context, fake: FakeSlack, clock: FakeClock, state: str
) -> None:
    mention_id = _mention(sctx, clock, state=state)
    with pytest.raises(UserError, match="already"):
        assign(sctx, mention_id, OFFICER, by=SUP)
    assert _events(sctx, mention_id) == []
    assert fake.dms(OFFICER) == []


def test_unknown_item_is_refused(sctx: Context) -> None:
    with pytest.raises(UserError, match="no item #999"):
        assign(sctx, 999, OFFICER, by=SUP)


def test_a_slack_failure_never_loses_the_assignment(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock)
    post_card(sctx, mention_id)
    fake.fail_next(r"conversations\.open", Response(200, {"ok": False, "error": "ratelimited"}))
    result = assign(sctx, mention_id, OFFICER, by=SUP)
    assert result.changed
    assert not result.dm_sent
    assert "could not send them a direct message (ratelimited)" in result.message
    assert "tell them yourself" in result.message
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        assert mention.assignee == OFFICER


def test_someone_without_a_role_is_assigned_with_a_warning(sctx: Context, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock)
    result = assign(sctx, mention_id, "U0NEWBIE", by=SUP)
    assert result.changed
    assert result.warning is not None
    assert "no TwoWay role" in result.message


def test_without_a_card_the_dm_says_it_will_appear(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock, card=False)
    assign(sctx, mention_id, OFFICER, by=SUP)
    [dm] = fake.dms(OFFICER)
    assert "will appear" in dm.text


def test_a_post_gathered_on_a_storm_summary_card_is_linked_there(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """It never gets a card of its own, so the DM must not promise one."""
    with sctx.transaction() as session:
        account = add_account(session, clock.now())
        storm = Storm(
            account_id=account.id,
            platform="x",
            thread_key="9",
            started_at=clock.now(),
            level=40,
            normal=2.0,
            peak=40,
        )
        session.add(storm)
        session.flush()
        session.add(
            StormMessage(storm_id=storm.id, kind="summary", status="posted", channel=CHANNEL, ts="1.000200")
        )
        gathered = add_mention(session, account, clock.now(), card=False, storm_id=storm.id)
        gathered.card_status = CARD_SUMMARY
        mention_id = gathered.id
        storm_id = storm.id
    assign(sctx, mention_id, OFFICER, by=SUP)
    [dm] = fake.dms(OFFICER)
    assert f"storm #{storm_id}'s summary card" in dm.text
    assert f"/archives/{CHANNEL}/p1000200" in dm.text
    assert "will appear" not in dm.text


def test_taking_an_item_yourself_sends_no_dm(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    mention_id = _mention(sctx, clock)
    result = assign(sctx, mention_id, SUP, by=SUP)
    assert result.action == "assigned"
    assert fake.dms(SUP) == []


@pytest.mark.parametrize(
    ("user", "extra", "says"),
    [
        ("U0BOTUSER1", {"is_bot": True}, "is an app, not a person"),
        ("USLACKBOT", {}, "is an app, not a person"),
        ("U0GONE0001", {"deleted": True}, "has been deactivated"),
    ],
)
def test_work_goes_to_people_not_apps_or_deactivated_accounts(
    sctx: Context, fake: FakeSlack, clock: FakeClock, user: str, extra: dict[str, object], says: str
) -> None:
    mention_id = _mention(sctx, clock)
    post_card(sctx, mention_id)
    fake.add_user(user, name="someone", **extra)
    with pytest.raises(UserError, match=says):
        assign(sctx, mention_id, user, by=SUP)
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        assert mention.assignee is None
    assert fake.api_calls("conversations.open") == []


def test_an_id_slack_does_not_know_is_refused_and_nothing_changes(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """A mistyped member id in `/twoway assign 12 U0TYPO0001`: nobody would ever do the work."""
    mention_id = _mention(sctx, clock)
    post_card(sctx, mention_id)
    fake.fail_next(r"users\.info", Response(200, {"ok": False, "error": "user_not_found"}))
    with pytest.raises(UserError, match="Slack has no user `U0TYPO0001`"):
        assign(sctx, mention_id, "U0TYPO0001", by=SUP)
    with sctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        assert mention.assignee is None
    assert fake.api_calls("conversations.open") == []


def test_when_slack_cannot_say_who_someone_is_the_assignment_goes_ahead(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    """An install from before `users:read` was asked for answers missing_scope."""
    mention_id = _mention(sctx, clock)
    post_card(sctx, mention_id)
    fake.fail_next(r"users\.info", Response(200, {"ok": False, "error": "missing_scope"}))
    assert assign(sctx, mention_id, OFFICER, by=SUP).changed
