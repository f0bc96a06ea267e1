"""The admin `/twoway` subcommands, called through the registry against a fake Slack."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, func, select

from bot import __version__
from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.context import Context
from bot.core.errors import UserError
from bot.slack.commands import CommandReply, CommandRequest
from storage import settings as stored_settings
from storage import staff
from storage.models import (
    ACCOUNT_NEEDS_ATTENTION,
    OPEN,
    REPLIED,
    Account,
    AuditEvent,
    Mention,
    Setting,
    Staff,
)
from tests.conftest import REPO, FakeClock, make_settings
from tests.support.admin_app import X_KEYS, running_app, wait_for
from tests.support.fakes.slack_api import FakeSlack

ADMIN, OTHER_ADMIN, OFFICER = "U0ADMIN01", "U0ADMIN02", "U0OFFICER1"
CHANNEL = "C0REVIEW01"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def admin_ctx(ctx: Context, slack: FakeSlack, clock: FakeClock) -> Context:
    ctx.slack = WebClient(token="xoxb-test-token", base_url=slack.api_url)
    with ctx.transaction() as session:
        staff.set_role(session, ADMIN, "admin", by="test", now=clock.now())
    return ctx


def run(ctx: Context, line: str, user: str = ADMIN, channel: str = CHANNEL) -> CommandReply:
    name, _, rest = line.partition(" ")
    request = CommandRequest(
        user_id=user, channel_id=channel, text=rest, args=tuple(rest.split()), trigger_id="trigger-1"
    )
    return REGISTRY[name].handler(ctx, request)


def add_account(ctx: Context, clock: FakeClock, **values: object) -> Account:
    fields: dict[str, object] = {
        "platform": "x",
        "external_id": "1000",
        "handle": "agency",
        "name": "Agency",
        "source": "slack",
        "created_at": clock.now(),
    }
    fields.update(values)
    with ctx.transaction() as session:
        account = Account(**fields)
        session.add(account)
    return account


def audit_actions(ctx: Context) -> list[str]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def table_counts(ctx: Context) -> tuple[int, ...]:
    with ctx.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Setting, Staff, AuditEvent, Account)
        )


# -- help ----------------------------------------------------------------------------------------


def test_help_lists_every_registered_subcommand_grouped_by_role(admin_ctx: Context) -> None:
    text = run(admin_ctx, "help").text
    assert "your role: admin" in text
    for command in REGISTRY.values():
        assert f"`{command.usage}` · {command.summary}" in text
    assert text.index("*Everyone*") < text.index("*Officers*") < text.index("*Admins*")
    assert text.index("*Admins*") < text.index("/twoway setup")


def test_help_and_the_readme_table_say_the_same_thing() -> None:
    """Each README row is a registered subcommand with the usage and summary `/twoway help` shows."""
    table = {}
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("| `/twoway"):
            usage, role, summary = (cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1])
            table[usage.replace("\\|", "|").strip("`")] = (role, summary.replace("\\|", "|"))
    shown = {c.usage: (c.role or "anyone", c.summary[:1].upper() + c.summary[1:]) for c in REGISTRY.values()}
    assert table == shown
    assert all(c.summary[:1].islower() for c in REGISTRY.values())  # one case in the help list


def test_help_for_one_command_gives_its_usage_and_who_may_use_it(admin_ctx: Context) -> None:
    reply = run(admin_ctx, "help assign")
    assert reply.text == f"`{REGISTRY['assign'].usage}` · {REGISTRY['assign'].summary} (supervisors)"
    for bad in ("help frobnicate", "help assign queue"):
        assert run(admin_ctx, bad).text.startswith("Usage: `/twoway help` or `/twoway help COMMAND`")


def test_help_for_someone_without_a_role_says_who_grants_one(admin_ctx: Context) -> None:
    assert "your role: none (an admin grants roles)" in run(admin_ctx, "help", user="U0NOBODY1").text


# -- setup -----------------------------------------------------------------------------------------


def test_setup_in_a_channel_the_bot_is_in_makes_it_the_review_channel(
    admin_ctx: Context, slack: FakeSlack
) -> None:
    slack.set_channel(CHANNEL, is_member=True)
    reply = run(admin_ctx, "setup")
    assert f"<#{CHANNEL}> is now TwoWay's review channel" in reply.text
    with admin_ctx.transaction() as session:
        assert stored_settings.get(session, "channel") == CHANNEL
    assert slack.api_calls("conversations.info")[0]["channel"] == CHANNEL
    assert "setting_changed" in audit_actions(admin_ctx)


@pytest.mark.parametrize("missing", ["not_member", "private_channel_not_visible"])
def test_setup_where_the_bot_is_not_a_member_asks_for_an_invite_and_changes_nothing(
    admin_ctx: Context, slack: FakeSlack, missing: str
) -> None:
    if missing == "not_member":
        slack.set_channel(CHANNEL, is_member=False)
    else:
        slack.missing_channels.add(CHANNEL)
    before = table_counts(admin_ctx)
    reply = run(admin_ctx, "setup")
    assert reply.text == "Invite me first: `/invite @TwoWay`, then run `/twoway setup` again."
    assert table_counts(admin_ctx) == before


def test_setup_notes_when_twoway_channel_overrides_it(admin_ctx: Context, slack: FakeSlack) -> None:
    admin_ctx.settings = make_settings(
        DATABASE_URL=admin_ctx.settings.database_url, TWOWAY_CHANNEL="C0FORCED01"
    )
    reply = run(admin_ctx, "setup")
    assert "TWOWAY_CHANNEL is set to <#C0FORCED01>" in reply.text


@pytest.mark.parametrize(
    ("line", "channel", "complaint"),
    [
        ("setup now", CHANNEL, "takes no arguments"),
        ("setup", "D0DIRECT01", "not in a DM"),
    ],
)
def test_setup_refuses_bad_input_without_changes(
    admin_ctx: Context, slack: FakeSlack, line: str, channel: str, complaint: str
) -> None:
    before = table_counts(admin_ctx)
    with pytest.raises(UserError, match=complaint):
        run(admin_ctx, line, channel=channel)
    assert table_counts(admin_ctx) == before
    assert slack.api_calls("conversations.info") == []


# -- connect (the command half; the form is in test_connect.py) ---------------------------------------


@pytest.mark.parametrize(("platform", "callback_id"), [("x", "connect_x"), ("facebook", "connect_facebook")])
def test_connect_opens_an_empty_form_with_the_trigger(
    admin_ctx: Context, slack: FakeSlack, platform: str, callback_id: str
) -> None:
    reply = run(admin_ctx, f"connect {platform}")
    assert "Opened the form" in reply.text
    (opened,) = slack.views_opened
    assert opened["trigger_id"] == "trigger-1"
    view = opened["view"]
    assert view["callback_id"] == callback_id
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert inputs
    assert all("initial_value" not in b["element"] for b in inputs)


@pytest.mark.parametrize("line", ["connect", "connect mastodon", "connect mastodon x"])
def test_connect_with_bad_arguments_opens_nothing(admin_ctx: Context, slack: FakeSlack, line: str) -> None:
    with pytest.raises(UserError, match="`x`, `facebook`, `instagram`, `threads` or `bluesky`"):
        run(admin_ctx, line)
    assert slack.views_opened == []


@pytest.mark.parametrize(
    "line", ["connect x extra", "connect X facebook", "connect bluesky me.bsky.social pw"]
)
def test_connect_with_more_than_the_platform_says_it_takes_just_the_platform(
    admin_ctx: Context, slack: FakeSlack, line: str
) -> None:
    platform = line.split()[1].lower()
    with pytest.raises(UserError) as refused:
        run(admin_ctx, line)
    assert str(refused.value).startswith(
        f"`connect` takes just the platform, e.g. `/twoway connect {platform}`; the form it opens asks for the rest."
    )
    assert slack.views_opened == []


def test_connect_without_a_secret_key_explains_and_opens_nothing(
    admin_ctx: Context, slack: FakeSlack
) -> None:
    admin_ctx.settings = make_settings(DATABASE_URL=admin_ctx.settings.database_url)
    assert "TWOWAY_SECRET_KEY is not set" in run(admin_ctx, "connect x").text
    assert slack.views_opened == []


def test_connect_with_an_expired_trigger_says_to_run_it_again(admin_ctx: Context, slack: FakeSlack) -> None:
    slack.fail_next(r"/views\.open$", FakeSlack.error("expired_trigger_id"))
    assert "`expired_trigger_id`" in run(admin_ctx, "connect facebook").text


# -- accounts and status ----------------------------------------------------------------------------


def test_accounts_show_health_with_platform_text_escaped(admin_ctx: Context, clock: FakeClock) -> None:
    now = clock.now()
    add_account(
        admin_ctx,
        clock,
        status=ACCOUNT_NEEDS_ATTENTION,
        status_reason="X refused the credentials <!channel>",
        last_poll_at=now - timedelta(minutes=3),
        last_success_at=now - timedelta(hours=3),
        last_error_at=now - timedelta(minutes=3),
        last_error="401 Unauthorized <@U999>",
    )
    add_account(
        admin_ctx,
        clock,
        platform="facebook",
        external_id="104857600000001",
        handle="Agency Police",
        name="Agency Police",
        enabled=False,
    )
    text = run(admin_ctx, "accounts").text
    x_line, fb_line = (line for line in text.splitlines() if line.startswith("• "))
    assert "*X @agency*" in x_line
    assert "needs attention" in x_line
    assert "&lt;!channel&gt;" in x_line
    assert "&lt;@U999&gt;" in x_line
    assert "<!channel>" not in text
    assert "<@U999>" not in text
    assert "3 min ago" in x_line
    assert "3 h ago" in x_line
    assert "next poll" in x_line
    assert "*Facebook Agency Police*" in fb_line
    assert "paused" in fb_line
    assert "not polled while paused" in fb_line


def test_accounts_with_none_connected_says_how_to_connect(admin_ctx: Context) -> None:
    assert "`/twoway connect x`" in run(admin_ctx, "accounts").text


def _mention(account: Account, number: int, now: datetime, **values: object) -> Mention:
    """A bare mention of `account`: what the status figures count."""
    fields: dict[str, object] = {
        "account_id": account.id,
        "platform": "x",
        "external_id": str(number),
        "author_id": "42",
        "text": "hello",
        "created_at": now,
        "ingested_at": now,
    }
    return Mention(**{**fields, **values})


def test_status_shows_version_channel_unanswered_and_next_poll(admin_ctx: Context, clock: FakeClock) -> None:
    now = clock.now()
    account = add_account(admin_ctx, clock, last_poll_at=now - timedelta(seconds=60), last_success_at=now)
    with admin_ctx.transaction() as session:
        stored_settings.put(session, "channel", CHANNEL, ADMIN, now)
        for number, state in enumerate([OPEN, OPEN, OPEN, REPLIED]):
            session.add(_mention(account, number, now, state=state))
    text = run(admin_ctx, "status", user=OFFICER).text
    assert f"*TwoWay {__version__}*" in text
    assert f"Review channel: <#{CHANNEL}>" in text
    assert "Unanswered: 3" in text
    # TWOWAY_POLL_SECONDS defaults to 120 and the last poll was 60 s ago.
    due = int((now + timedelta(seconds=60)).timestamp())
    assert f"Next poll: <!date^{due}^" in text
    assert "*X @agency* (id" in text


def test_status_next_poll_waits_for_a_rate_limit(admin_ctx: Context, clock: FakeClock) -> None:
    now = clock.now()
    reset = now + timedelta(minutes=14)
    add_account(admin_ctx, clock, status="rate_limited", last_poll_at=now, retry_after=reset)
    text = run(admin_ctx, "status").text
    assert f"Next poll: <!date^{int(reset.timestamp())}^" in text
    assert "rate limited" in text
    assert (
        "Review channel: not set. An admin runs `/twoway setup` in the channel where cards should go." in text
    )


@pytest.mark.parametrize("line", ["status please", "accounts all"])
def test_status_and_accounts_refuse_arguments(admin_ctx: Context, line: str) -> None:
    with pytest.raises(UserError, match="takes no arguments"):
        run(admin_ctx, line)


# -- pause / resume ---------------------------------------------------------------------------------


def enabled_by_handle(ctx: Context) -> dict[str, bool]:
    with ctx.transaction() as session:
        return {a.handle: a.enabled for a in session.scalars(select(Account))}


def test_pause_one_account_by_handle_then_resume_it(admin_ctx: Context, clock: FakeClock) -> None:
    add_account(admin_ctx, clock)
    add_account(admin_ctx, clock, platform="facebook", external_id="1048", handle="AgencyPage")
    reply = run(admin_ctx, "pause @agency")
    assert reply.text.startswith("Paused: X @agency.")
    assert enabled_by_handle(admin_ctx) == {"agency": False, "AgencyPage": True}
    assert "Already paused: X @agency." in run(admin_ctx, "pause @Agency").text
    assert run(admin_ctx, "resume agency").text == "Resumed: X @agency."
    assert enabled_by_handle(admin_ctx) == {"agency": True, "AgencyPage": True}
    assert audit_actions(admin_ctx)[-2:] == ["account_paused", "account_resumed"]


def test_pause_all_and_by_platform_and_by_id(admin_ctx: Context, clock: FakeClock) -> None:
    add_account(admin_ctx, clock)
    page = add_account(admin_ctx, clock, platform="facebook", external_id="1048", handle="AgencyPage")
    run(admin_ctx, "pause")
    assert enabled_by_handle(admin_ctx) == {"agency": False, "AgencyPage": False}
    run(admin_ctx, "resume x")
    assert enabled_by_handle(admin_ctx) == {"agency": True, "AgencyPage": False}
    run(admin_ctx, f"resume {page.id}")
    assert enabled_by_handle(admin_ctx) == {"agency": True, "AgencyPage": True}


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("pause @nobody", "No connected account matches `@nobody`"),
        ("pause 999", "No connected account matches `999`"),
        ("pause facebook", "No Facebook account is connected"),
        ("resume x @agency", "Name one account"),
    ],
)
def test_pause_with_bad_arguments_changes_nothing(
    admin_ctx: Context, clock: FakeClock, line: str, complaint: str
) -> None:
    add_account(admin_ctx, clock)
    before = table_counts(admin_ctx)
    with pytest.raises(UserError, match=complaint):
        run(admin_ctx, line)
    assert table_counts(admin_ctx) == before
    assert enabled_by_handle(admin_ctx) == {"agency": True}


# -- role ------------------------------------------------------------------------------------------


def role(ctx: Context, user: str) -> str | None:
    with ctx.transaction() as session:
        return staff.role_of(session, user)


@pytest.mark.parametrize("mention", ["<@U0NEWBIE1|newbie>", "<@U0NEWBIE1>", "U0NEWBIE1"])
def test_role_grants_from_a_slack_mention(admin_ctx: Context, mention: str) -> None:
    reply = run(admin_ctx, f"role {mention} supervisor")
    assert reply.text == "<@U0NEWBIE1> is now a supervisor (was none)."
    assert role(admin_ctx, "U0NEWBIE1") == "supervisor"
    with admin_ctx.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "role_changed")).all()[-1]
    assert event.actor == ADMIN
    assert event.details["user"] == "U0NEWBIE1"


def test_role_none_removes_and_admin_can_be_handed_over(admin_ctx: Context) -> None:
    run(admin_ctx, "role <@U0NEWBIE1|newbie> officer")
    assert "is now without a role (was officer)" in run(admin_ctx, "role <@U0NEWBIE1|newbie> none").text
    assert role(admin_ctx, "U0NEWBIE1") is None
    run(admin_ctx, f"role <@{OTHER_ADMIN}|boss> admin")
    run(admin_ctx, f"role <@{ADMIN}|me> officer", user=OTHER_ADMIN)
    assert role(admin_ctx, ADMIN) == "officer"


def test_role_refuses_to_remove_the_last_admin(admin_ctx: Context) -> None:
    before = table_counts(admin_ctx)
    for wanted in ("officer", "none"):
        with pytest.raises(UserError, match="only admin"):
            run(admin_ctx, f"role <@{ADMIN}|me> {wanted}")
    assert role(admin_ctx, ADMIN) == "admin"
    assert table_counts(admin_ctx) == before


def test_role_warns_when_twoway_admins_will_restore_an_admin(admin_ctx: Context) -> None:
    admin_ctx.settings = make_settings(
        DATABASE_URL=admin_ctx.settings.database_url, TWOWAY_ADMINS=OTHER_ADMIN
    )
    run(admin_ctx, f"role <@{OTHER_ADMIN}> admin")
    assert "TWOWAY_ADMINS" in run(admin_ctx, f"role <@{OTHER_ADMIN}> supervisor").text


def test_role_that_is_already_held_changes_nothing(admin_ctx: Context) -> None:
    assert "already has the role admin" in run(admin_ctx, f"role <@{ADMIN}> admin").text


def test_role_is_refused_for_an_id_slack_does_not_know_so_a_typo_never_makes_an_admin(
    admin_ctx: Context, slack: FakeSlack
) -> None:
    """The only admin mistypes an id: no phantom admin, so they still cannot step down."""
    before = table_counts(admin_ctx)
    slack.fail_next(r"^/api/users\.info$", FakeSlack.error("user_not_found"))
    reply = run(admin_ctx, "role U0TYPO0001 admin")
    assert reply.text == "Slack has no member `U0TYPO0001`; nothing was changed. Mention them like `@name`."
    assert [call["user"] for call in slack.api_calls("users.info")] == ["U0TYPO0001"]
    assert role(admin_ctx, "U0TYPO0001") is None
    assert table_counts(admin_ctx) == before
    with pytest.raises(UserError, match="only admin"):
        run(admin_ctx, f"role <@{ADMIN}> officer")


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        ({"deleted": True}, "<@U0GONE001> has been deactivated in Slack, so they cannot be given a role."),
        ({"is_bot": True}, "<@U0GONE001> is an app, not a person; roles are for members of staff."),
    ],
)
def test_role_is_refused_for_a_deactivated_account_or_an_app(
    admin_ctx: Context, slack: FakeSlack, profile: dict[str, bool], says: str
) -> None:
    slack.add_user("U0GONE001", name="gone", **profile)
    before = table_counts(admin_ctx)
    reply = run(admin_ctx, "role <@U0GONE001|gone> admin")
    assert reply.text.startswith(says)
    assert reply.text.endswith("Nothing was changed.")
    assert role(admin_ctx, "U0GONE001") is None
    assert table_counts(admin_ctx) == before


@pytest.mark.parametrize("error", ["missing_scope", "ratelimited", "internal_error"])
def test_role_is_not_granted_when_slack_cannot_be_asked(
    admin_ctx: Context, slack: FakeSlack, error: str
) -> None:
    before = table_counts(admin_ctx)
    slack.fail_next(r"^/api/users\.info$", FakeSlack.error(error))
    reply = run(admin_ctx, "role <@U0NEWBIE1|newbie> officer")
    assert reply.text == (
        f"I could not ask Slack who `U0NEWBIE1` is (`{error}`), so nothing was changed. Try again in a moment."
    )
    assert role(admin_ctx, "U0NEWBIE1") is None
    assert table_counts(admin_ctx) == before
    assert len(slack.api_calls("users.info")) == 1  # asked once: the answer must fit Slack's 3 seconds


def test_role_none_works_for_someone_slack_no_longer_knows(admin_ctx: Context, slack: FakeSlack) -> None:
    run(admin_ctx, "role <@U0LEAVER1|leaver> supervisor")
    slack.requests.clear()
    slack.fail_next(r"^/api/users\.info$", FakeSlack.error("user_not_found"), times=5)
    reply = run(admin_ctx, "role <@U0LEAVER1|leaver> none")
    assert reply.text == "<@U0LEAVER1> is now without a role (was supervisor)."
    assert role(admin_ctx, "U0LEAVER1") is None
    assert slack.api_calls("users.info") == []


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("role", "one person and one role"),
        ("role <@U0NEWBIE1>", "one person and one role"),
        ("role <@U0NEWBIE1> chief", "not a role"),
        ("role @newbie officer", "not a Slack user"),
        ("role <#C0REVIEW01|review> officer", "not a Slack user"),
        ("role <@U0NEWBIE1> officer extra", "one person and one role"),
    ],
)
def test_role_with_bad_arguments_changes_nothing(admin_ctx: Context, line: str, complaint: str) -> None:
    before = table_counts(admin_ctx)
    with pytest.raises(UserError, match=complaint):
        run(admin_ctx, line)
    assert table_counts(admin_ctx) == before


def test_subcommands_are_registered_with_their_roles() -> None:
    """The roles here are what the dispatcher enforces for each subcommand."""
    expected = {
        "help": None,
        "setup": "admin",
        "connect": "admin",
        "accounts": "supervisor",
        "pause": "admin",
        "resume": "admin",
        "role": "admin",
        "status": "officer",
    }
    assert {name: REGISTRY[name].role for name in expected} == expected
    assert all(REGISTRY[name].usage.startswith(f"/twoway {name}") for name in expected)


# -- end to end: signed Slack requests against the running app --------------------------------------


def test_an_admin_sets_up_the_channel_connects_accounts_and_grants_roles_from_slack(
    db_url: str, engine: Engine, clock: FakeClock
) -> None:
    """Issue 3's 'done when', driven only through signed Slack requests against the fakes."""
    with running_app(db_url, engine, clock) as env:
        env.slack.set_channel(CHANNEL, is_member=False)
        assert "Invite me first" in env.command("setup").text
        env.slack.set_channel(CHANNEL, is_member=True)
        assert "is now TwoWay's review channel" in env.command("setup").text

        assert "Opened the form" in env.command("connect x").text
        assert env.slack.views_opened[-1]["view"]["callback_id"] == "connect_x"
        assert env.submit("x", X_KEYS).json["response_action"] == "update"
        assert "Opened the form" in env.command("connect facebook").text
        assert env.slack.views_opened[-1]["view"]["callback_id"] == "connect_facebook"
        assert env.submit("facebook", env.graph.credentials).json["response_action"] == "update"
        assert [(a.platform, a.handle) for a in env.accounts()] == [
            ("x", "agency"),
            ("facebook", "Agency Police"),
        ]

        granted = env.command(f"role <@{OFFICER}|officer.jones> officer")
        assert granted.text == f"<@{OFFICER}> is now an officer (was none)."
        (dm,) = wait_for(lambda: env.slack.dms(OFFICER))
        assert dm.text.startswith(f"<@{ADMIN}> made you an officer in TwoWay.")
        status = env.command("status", user=OFFICER).text
        assert f"Review channel: <#{CHANNEL}>" in status
        assert "*X @agency*" in status
        assert "*Facebook Agency Police*" in status

        accounts = env.command("accounts").text
        assert accounts.count("• ") == 2
        assert "Paused: X @agency." in env.command("pause x").text
        assert "paused" in env.command("status", user=OFFICER).text


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("setup", "admin"),
        ("role <@U0OTHER01> admin", "admin"),
        ("pause", "admin"),
        ("accounts", "supervisor"),
    ],
)
def test_an_officer_is_refused_admin_commands_with_the_role_and_who_grants_it(
    db_url: str, engine: Engine, clock: FakeClock, text: str, needed: str
) -> None:
    with running_app(db_url, engine, clock) as env:
        env.command(f"role <@{OFFICER}> officer")
        before = table_counts(env.ctx)
        refused = env.command(text, user=OFFICER).text
        assert f"You need the {needed} role" in refused
        assert f"<@{ADMIN}>" in refused
        assert table_counts(env.ctx) == before
        assert env.slack.api_calls("conversations.info") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate", "Unknown subcommand `frobnicate`"),
        ("role <@U0NEWBIE1> chief", "Usage: `/twoway role @user officer|supervisor|admin|none`"),
        ("connect myspace", "Usage: `/twoway connect x|facebook|instagram|threads|bluesky`"),
        ("pause @nobody", "Usage: `/twoway pause [x|facebook|instagram|threads|bluesky|@handle|id]`"),
    ],
)
def test_unknown_subcommands_and_bad_arguments_get_usage_and_change_nothing(
    db_url: str, engine: Engine, clock: FakeClock, text: str, expected: str
) -> None:
    with running_app(db_url, engine, clock) as env:
        before = table_counts(env.ctx)
        assert expected in env.command(text).text
        assert table_counts(env.ctx) == before
        assert env.slack.views_opened == []


def test_help_is_the_default_and_fits_one_slack_message(
    db_url: str, engine: Engine, clock: FakeClock
) -> None:

    with running_app(db_url, engine, clock) as env:
        answer = env.command("").text
    for command in REGISTRY.values():
        assert command.usage in answer
    assert len(answer) < 3900


def test_status_shows_cards_slack_keeps_refusing(admin_ctx: Context, clock: FakeClock) -> None:
    """Alerts go to the same channel, so a bot removed from it is only visible here."""
    now = clock.now()
    account = add_account(admin_ctx, clock, last_poll_at=now, last_success_at=now)
    assert "Cards not in the channel" not in run(admin_ctx, "status", user=OFFICER).text
    with admin_ctx.transaction() as session:
        for number, (status, error) in enumerate(
            [("failed", "channel_not_found"), ("failed", "not_in_channel"), ("posted", None)]
        ):
            session.add(_mention(account, number, now, state=OPEN, card_status=status, card_error=error))
    text = run(admin_ctx, "status", user=OFFICER).text
    assert "Cards not in the channel yet: 2; Slack last said `not_in_channel`" in text
