"""`/twoway assign | queue | sla | digest | report | export`, through the command dispatcher."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.context import Context
from bot.slack.commands import CommandReply, run_command
from storage import staff
from storage.models import AuditEvent, Mention, Setting
from storage.notices import due
from storage.queue import sla_settings
from tests.conftest import FakeClock
from tests.support.admin_app import running_app, wait_for
from tests.support.fakes.slack_api import FakeSlack
from tests.support.rows import CHANNEL, add_account, add_mention, post_card, supervised
from tests.support.signed import click_on_message

ADMIN, SUP, OFFICER, OTHER = "U0ADMIN", "U0SUPER", "U0OFFICER", "U0OTHER"
MINE = ("assign", "queue", "sla", "digest", "report", "export")


@pytest.fixture
def sctx(ctx: Context, fake: FakeSlack) -> Context:
    return supervised(ctx, fake, {ADMIN: "admin", SUP: "supervisor", OFFICER: "officer", OTHER: "officer"})


def run(ctx: Context, text: str, user: str = SUP) -> CommandReply:
    return run_command(
        ctx, REGISTRY, {"text": text, "user_id": user, "channel_id": CHANNEL, "response_url": ""}
    )


def _items(ctx: Context, clock: FakeClock, n: int, **values: Any) -> list[int]:
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        return [
            add_mention(session, account, clock.now() - timedelta(minutes=n - i), **values).id
            for i in range(n)
        ]


def _settings(ctx: Context) -> dict[str, Any]:
    with ctx.transaction() as session:
        return {s.key: s.value for s in session.scalars(select(Setting))}


def test_subcommands_are_registered_without_the_bolt_trap_word() -> None:
    registry = REGISTRY
    for name in MINE:
        assert name in registry
        assert "payload" not in (name + registry[name].usage).lower()
    roles = {name: registry[name].role for name in MINE}
    assert roles == {
        "assign": "supervisor",
        "queue": "officer",
        "sla": "supervisor",
        "digest": "supervisor",
        "report": "supervisor",
        "export": "admin",
    }


# -- assign ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("item_form", ["{id}", "#{id}"])
@pytest.mark.parametrize("user_form", ["<@{u}|dana>", "<@{u}>", "{u}"])
def test_assign_by_command(
    sctx: Context, fake: FakeSlack, clock: FakeClock, item_form: str, user_form: str
) -> None:
    [mention_id] = _items(sctx, clock, 1)
    post_card(sctx, mention_id)
    item, user = item_form.format(id=mention_id), user_form.format(u=OFFICER)
    reply = run(sctx, f"assign {item} {user}")
    assert reply.text == f"#{mention_id} is now assigned to <@{OFFICER}>."
    assert fake.dms(OFFICER) == []  # the DM and the redraw run after the ack
    assert reply.after is not None
    reply.after()
    [dm] = fake.dms(OFFICER)
    assert "archives/" in dm.text
    reply = run(sctx, f"assign {item} none")
    assert "no longer assigned" in reply.text
    with sctx.transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.mention_id == mention_id).order_by(AuditEvent.id)
        ).all()
    assert actions == ["assigned", "unassigned"]


@pytest.mark.parametrize(
    ("line", "user", "says"),
    [
        ("assign {id} <@U0OTHER>", OFFICER, "supervisor"),
        ("assign abc <@U0OTHER>", SUP, "not an item number"),
        ("assign {id} dana", SUP, "not a Slack user"),
        ("assign {id}", SUP, "item number and a person"),
        ("assign 999999 <@U0OTHER>", SUP, "no item #999999"),
        # past PostgreSQL's integer (a pasted tweet id or phone number): no item, not an error
        ("assign 3000000000 <@U0OTHER>", SUP, "no item #3000000000"),
    ],
)
def test_bad_assign_changes_nothing(sctx: Context, clock: FakeClock, line: str, user: str, says: str) -> None:
    [mention_id] = _items(sctx, clock, 1)
    reply = run(sctx, line.format(id=mention_id), user=user)
    assert says in reply.text
    with sctx.transaction() as session:
        assert session.scalar(select(Mention.assignee).where(Mention.id == mention_id)) is None
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "assigned")
            )
            == 0
        )


@pytest.mark.parametrize("item", ["\u0661", "\uff11", "#\u0661"])  # Arabic-Indic and full-width one
def test_an_item_number_in_other_digits_is_refused(sctx: Context, clock: FakeClock, item: str) -> None:
    """As the queue and the buttons: ASCII digits only, so nothing is acted on by surprise."""
    _items(sctx, clock, 1)
    reply = run(sctx, f"assign {item} <@U0OTHER>")
    assert "is not an item number like 123 or #123" in reply.text
    with sctx.transaction() as session:
        assert session.scalars(select(Mention.assignee)).all() == [None]


# -- queue ----------------------------------------------------------------------------------------


def test_queue_lists_oldest_first_with_links_and_assign_selects(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    ids = _items(sctx, clock, 18, text="Help <!here> please", card=False)
    ts = post_card(sctx, ids[0])
    with sctx.transaction() as session:
        first = session.get(Mention, ids[0])
        assert first is not None
        first.assignee = OFFICER
    reply = run(sctx, "queue")
    assert reply.blocks is not None
    assert "*18* unanswered in total" in reply.blocks[0]["text"]["text"]
    items = [b for b in reply.blocks if b.get("block_id", "").startswith("m:")]
    assert [b["block_id"] for b in items] == [f"m:{i}" for i in ids[:15]]
    top = items[0]
    assert top["accessory"]["action_id"] == "assign"
    assert top["accessory"]["type"] == "users_select"
    assert top["accessory"]["initial_user"] == OFFICER
    text = top["text"]["text"]
    assert f"https://twoway-test.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}|open card" in text
    assert f"<@{OFFICER}>" in text
    assert "waiting 18m" in text
    assert "&lt;!here&gt;" in text
    assert "<!here>" not in str(reply.blocks)
    assert "_no card yet_" in items[1]["text"]["text"]
    assert "/twoway queue all 2" in str(reply.blocks[-1])
    page_two = run(sctx, "queue all 2")
    assert page_two.blocks is not None
    assert [b["block_id"] for b in page_two.blocks if b.get("block_id")] == [f"m:{i}" for i in ids[15:]]


def test_queue_marks_overdue_items(sctx: Context, clock: FakeClock) -> None:
    [late] = _items(sctx, clock, 1)
    clock.advance(hours=2)
    [fresh] = _items(sctx, clock, 1)
    reply = run(sctx, "queue unassigned")
    blocks = {b["block_id"]: b["text"]["text"] for b in reply.blocks or [] if b.get("block_id")}
    assert ":warning: overdue" in blocks[f"m:{late}"]
    assert "overdue" not in blocks[f"m:{fresh}"]


@pytest.mark.parametrize(
    "values",
    [{"card": False}, {"reply_status": "sending"}, {"reply_status": "unknown"}],
    ids=["no card yet", "reply being sent", "reply may be out"],
)
def test_queue_and_report_call_overdue_only_what_reminders_chase(
    sctx: Context, clock: FakeClock, values: dict[str, Any]
) -> None:
    """An item nobody can act on from a card, or whose reply is going out, is never reminded, so
    the queue must not flag it and the report must not count it as overdue now."""
    [waiting] = _items(sctx, clock, 1, **values)
    [chased] = _items(sctx, clock, 1)
    clock.advance(hours=3)
    blocks = {
        b["block_id"]: b["text"]["text"] for b in run(sctx, "queue all").blocks or [] if b.get("block_id")
    }
    assert ":warning: overdue" in blocks[f"m:{chased}"]
    assert "overdue" not in blocks[f"m:{waiting}"]
    with sctx.transaction() as session:
        assert due(session, sla_settings(session), clock.now(), False, 10) == [
            ("escalation", session.get(Mention, chased))
        ]
    assert "1 overdue now" in (run(sctx, "report 1d").text or "")


def test_officers_see_only_their_own_queue(sctx: Context, clock: FakeClock) -> None:
    ids = _items(sctx, clock, 3)
    run(sctx, f"assign {ids[1]} <@{OFFICER}>")
    reply = run(sctx, "queue", user=OFFICER)
    assert [b["block_id"] for b in reply.blocks or [] if b.get("block_id")] == [f"m:{ids[1]}"]
    assert "accessory" not in (reply.blocks or [])[1]  # no Assign menu: assigning needs a supervisor
    for line in ("queue all", "queue unassigned", "queue all 2"):
        refused = run(sctx, line, user=OFFICER).text
        assert "the whole queue is for supervisors" in refused
        assert "`/twoway queue storm ID`" in refused
    assert "Nothing unanswered assigned to you" in run(sctx, "queue mine", user=OTHER).text


@pytest.mark.parametrize("line", ["queue everything", "queue all two", "queue mine all"])
def test_bad_queue_arguments(sctx: Context, line: str) -> None:
    assert "Choose `mine`, `unassigned` or `all`" in run(sctx, line).text


@pytest.mark.parametrize("line", ["queue 0", "queue all 0", "queue all 00"])
def test_page_zero_is_refused(sctx: Context, line: str) -> None:
    reply = run(sctx, line)
    assert reply.text.startswith("Pages start at 1")
    assert "Usage:" in reply.text


@pytest.mark.parametrize("page", ["99999999999999999999", "\uff12", "-1"])
def test_a_page_that_is_not_a_plain_number_is_named_as_the_problem(sctx: Context, page: str) -> None:
    reply = run(sctx, f"queue all {page}").text
    assert reply.startswith(
        f"`{page}` is not a page number: pages are numbers from 1 (0-9), e.g. `/twoway queue all 2`."
    )
    assert "Choose" not in reply


# -- sla and digest settings ------------------------------------------------------------------------


def test_sla_shows_defaults_and_admins_change_them(sctx: Context) -> None:
    shown = run(sctx, "sla").text
    for line in (
        "urgent: 5m",
        "question: 1h",
        "criticism: 2h",
        "compliment: 1d",
        "other: none",
        "Quiet hours: off",
    ):
        assert line in shown
    assert "question: 2h 30m" in run(sctx, "sla question 2h30m", user=ADMIN).text
    assert "other: 3h" in run(sctx, "sla other 3h", user=ADMIN).text
    assert "compliment: none" in run(sctx, "sla compliment off", user=ADMIN).text
    reply = run(sctx, "sla quiet 22:00-07:00 America/Chicago", user=ADMIN)
    assert "22:00–07:00 (America/Chicago)" in reply.text
    stored = _settings(sctx)
    assert stored["sla.question"] == {"v": 9000}
    assert stored["sla.compliment"] == {"v": None}
    assert stored["sla.quiet"] == {"v": {"start": "22:00", "end": "07:00"}}
    assert stored["timezone"] == {"v": "America/Chicago"}
    assert "Quiet hours: off" in run(sctx, "sla quiet off", user=ADMIN).text


def test_turning_an_sla_off_on_a_new_install_is_in_the_audit_trail(sctx: Context) -> None:
    """The default (1d) becoming none is a change, though no row held a value before."""
    assert "compliment: none" in run(sctx, "sla compliment none", user=ADMIN).text
    with sctx.transaction() as session:
        changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "setting_changed")).all()
        assert [(e.actor, e.details.get("key"), e.details.get("value")) for e in changes] == [
            (ADMIN, "sla.compliment", None)
        ]


@pytest.mark.parametrize(
    ("line", "user", "says"),
    [
        ("sla question 1h", SUP, "You need the admin role to change SLAs"),
        ("sla question", ADMIN, "Give one duration"),
        ("sla question soon", ADMIN, "not a duration"),
        ("sla question 0m", ADMIN, "between 1 minute and 30 days"),
        ("sla praise 1h", ADMIN, "is not one of"),
        ("sla quiet 22:00", ADMIN, "not a range"),
        ("sla quiet 22:00-07:00 Mars/Olympus", ADMIN, "not a time zone"),
        ("sla question \uff15m", ADMIN, "not a duration"),  # full-width 5
        ("sla urgent \u0661h", ADMIN, "not a duration"),
        ("sla quiet \uff12\uff12:00-07:00", ADMIN, "not a time"),
        ("sla quiet off UTC", ADMIN, "Give a range like `22:00-07:00`"),  # a zone only with a range
        ("sla quiet off off", ADMIN, "Give a range like `22:00-07:00`"),
    ],
)
def test_bad_sla_changes_nothing(sctx: Context, line: str, user: str, says: str) -> None:
    before = _settings(sctx)
    assert says in run(sctx, line, user=user).text
    assert _settings(sctx) == before


def test_quiet_off_with_a_zone_keeps_the_agency_zone(sctx: Context) -> None:
    run(sctx, "sla quiet 22:00-07:00 America/Los_Angeles", user=ADMIN)
    reply = run(sctx, "sla quiet off UTC", user=ADMIN)
    assert "Usage:" in reply.text
    assert _settings(sctx)["timezone"] == {"v": "America/Los_Angeles"}
    assert "22:00–07:00 (America/Los_Angeles)" in run(sctx, "sla").text


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("sla question 0m", "An SLA must be between 1 minute and 30 days. Nothing was changed."),
        ("sla question -5m", "`-5m` is not a duration like 5m, 1h, 2h30m or 1d. Nothing was changed."),
        ("sla quiet 22:00-22:00", "Quiet hours must start and end at different times. Nothing was changed."),
        ("sla quiet 25:00-07:00", "`25:00` is not a time like 08:00 or 22:30. Nothing was changed."),
        ("digest daily 8am", "`8am` is not a time like 08:00 or 22:30. Nothing was changed."),
        ("digest weekly fryday", "`fryday` is not a weekday like mon or friday. Nothing was changed."),
    ],
)
def test_setting_errors_are_sentences(sctx: Context, line: str, says: str) -> None:
    assert run(sctx, line, user=ADMIN).text.startswith(says)


@pytest.mark.parametrize(
    ("line", "zone"),
    [
        ("digest timezone utc", "UTC"),
        ("digest daily 07:00 europe/london", "Europe/London"),
        ("sla quiet 22:00-07:00 AMERICA/CHICAGO", "America/Chicago"),
    ],
)
def test_a_time_zone_in_another_case_is_taken_as_spelled_by_iana(sctx: Context, line: str, zone: str) -> None:
    assert f"({zone})" in run(sctx, line, user=ADMIN).text
    assert _settings(sctx)["timezone"] == {"v": zone}


@pytest.mark.parametrize(
    ("line", "doing"), [("sla urgent 20m", "change SLAs"), ("digest daily 09:00", "change digests")]
)
def test_a_supervisor_changing_a_setting_gets_the_role_message_alone(
    sctx: Context, line: str, doing: str
) -> None:
    """As every other role refusal: no usage line, as if the arguments were wrong."""
    before = _settings(sctx)
    reply = run(sctx, line, user=SUP)
    assert reply.text.startswith(f"You need the admin role to {doing}.")
    assert "Usage" not in reply.text
    assert _settings(sctx) == before


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("digest daily", "Give the time: `/twoway digest daily 07:30`, or `off`."),
        ("digest weekly", "Give the day: `/twoway digest weekly fri 09:00`, or `off`."),
    ],
)
def test_a_digest_setting_without_its_time_says_what_is_missing(sctx: Context, line: str, says: str) -> None:
    before = _settings(sctx)
    assert run(sctx, line, user=ADMIN).text.startswith(says)
    assert _settings(sctx) == before


@pytest.mark.parametrize(
    ("line", "zone"),
    [
        ("sla quiet 22:00-06:00 EST", "EST"),
        ("digest daily 08:00 Europe/London", "Europe/London"),
        ("digest weekly MONDAY 09:00 Asia/Tokyo", "Asia/Tokyo"),
        ("digest timezone America/Chicago", "America/Chicago"),
    ],
)
def test_a_setting_that_moves_the_agency_time_zone_says_so(sctx: Context, line: str, zone: str) -> None:
    reply = run(sctx, line, user=ADMIN).text
    assert reply.startswith(
        f"Saved. The agency time zone is now {zone} (was UTC): digests, SLA quiet hours, reports and"
        " exports use it.\n"
    )
    again = run(sctx, line, user=ADMIN).text  # the same zone again: nothing moved
    assert again.startswith("Saved.\n")
    assert "time zone is now" not in again


def test_settings_that_keep_the_zone_just_say_saved(sctx: Context) -> None:
    for line in (
        "sla quiet 22:00-06:00 UTC",
        "sla quiet 22:00-06:00",
        "digest daily 07:00",
        "sla urgent 10m",
    ):
        reply = run(sctx, line, user=ADMIN).text
        assert reply.startswith("Saved.\n")
        assert "time zone is now" not in reply


@pytest.mark.parametrize("line", ["digest timezone", "digest timezone Europe/London UTC"])
def test_digest_timezone_without_one_zone_asks_for_it(sctx: Context, line: str) -> None:
    before = _settings(sctx)
    reply = run(sctx, line, user=ADMIN).text
    assert reply.startswith(
        "Give one time zone: `/twoway digest timezone America/Chicago`, or `UTC`. Nothing was changed."
    )
    assert _settings(sctx) == before


def test_digest_settings(sctx: Context) -> None:
    assert "daily: every day at 08:00" in run(sctx, "digest").text
    reply = run(sctx, "digest daily 07:30 America/New_York", user=ADMIN)
    assert "daily: every day at 07:30" in reply.text
    assert "(America/New_York)" in reply.text
    assert "weekly: every Fri at 09:00" in run(sctx, "digest weekly friday 09:00", user=ADMIN).text
    assert "weekly: off" in run(sctx, "digest weekly off", user=ADMIN).text
    reply = run(sctx, "digest off", user=ADMIN)
    assert "daily: off" in reply.text
    stored = _settings(sctx)
    assert stored["digest.daily"] == {"v": False}
    assert stored["timezone"] == {"v": "America/New_York"}


@pytest.mark.parametrize(
    ("line", "user"),
    [
        ("digest daily 8am", ADMIN),
        ("digest weekly someday", ADMIN),
        ("digest monthly", ADMIN),
        ("digest timezone Nowhere/Special", ADMIN),
        ("digest daily 08:00", SUP),
        ("digest daily \uff10\uff18:00", ADMIN),
        ("digest weekly mon \u0660\u0668:00", ADMIN),
    ],
)
def test_bad_digest_settings_change_nothing(sctx: Context, line: str, user: str) -> None:
    before = _settings(sctx)
    assert "Nothing was changed" in run(sctx, line, user=user).text
    assert _settings(sctx) == before


# -- report ---------------------------------------------------------------------------------------


def test_report_answers_with_figures_and_dms_the_chart(
    sctx: Context, fake: FakeSlack, clock: FakeClock
) -> None:
    with sctx.transaction() as session:
        account = add_account(session, clock.now())
        add_mention(
            session,
            account,
            clock.now() - timedelta(days=20),
            state="replied",
            response_after=timedelta(minutes=12),
            responded_by=OFFICER,
        )
        add_mention(session, account, clock.now() - timedelta(days=2), category="criticism")
    week = run(sctx, "report")
    assert week.text.startswith("TwoWay report for the last 7 days: 1 mention, 0% answered")
    assert "*1* mention · *0* answered" in str(week.blocks)
    assert run(sctx, "report 1d").text.startswith("TwoWay report for the last day: 0 mentions")
    month = run(sctx, "report 30d")
    assert "2 mentions, 50% answered" in month.text
    assert "question: 12m / 12m (1 answered)" in str(month.blocks)
    assert month.after is not None
    month.after()
    [chart] = fake.files
    assert chart["channel"] == fake.dm_channel(SUP)
    assert chart["data"].startswith(b"\x89PNG")


def test_a_report_over_a_new_year_shows_the_start_year(sctx: Context) -> None:
    """Without it, "Wed 19 Nov 15:00 – Fri 20 Nov 2026 15:00" reads as about a day."""
    footer = str(run(sctx, "report 366d").blocks)
    assert "Mentions posted Wed 19 Nov 2025 15:00 – Fri 20 Nov 2026 15:00 (UTC)" in footer
    assert "Mentions posted Fri 13 Nov 15:00 – Fri 20 Nov 2026 15:00 (UTC)" in str(
        run(sctx, "report 7d").blocks
    )


@pytest.mark.parametrize(
    "line",
    [
        "report 7",
        "report week",
        "report 0d",
        "report 400d",
        "report 7d 30d",
        "report \u0667d",
        "report \uff17d",
    ],
)
def test_bad_report_periods(sctx: Context, line: str) -> None:
    reply = run(sctx, line)
    assert "Usage" in reply.text
    assert reply.after is None


# -- export ---------------------------------------------------------------------------------------


def test_export_sends_the_record_to_the_admin_by_dm(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    inside = _items(sctx, clock, 2, text="Line one\nline two, with “quotes” and 🚓")
    with sctx.transaction() as session:
        account = add_account(session, clock.now())
        add_mention(session, account, clock.now() - timedelta(days=45))
    reply = run(sctx, "export 30d", user=ADMIN)
    assert "2026-10-22 to 2026-11-20" in reply.text
    assert reply.after is not None
    reply.after()
    [sent] = fake.files
    assert sent["channel"] == fake.dm_channel(ADMIN)
    assert sent["filename"] == "twoway-export-2026-10-22-to-2026-11-20.csv"
    rows = list(csv.DictReader(io.StringIO(sent["data"].decode("utf-8"))))
    assert [int(r["mention_id"]) for r in rows] == inside
    assert rows[0]["text_as_ingested"] == "Line one\nline two, with “quotes” and 🚓"
    assert "2 mentions" in str(sent["initial_comment"])
    with sctx.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "exported"))
    assert event is not None
    assert (event.actor, event.details["records"]) == (ADMIN, 2)


def test_export_by_dates_as_jsonl(sctx: Context, fake: FakeSlack, clock: FakeClock) -> None:
    _items(sctx, clock, 1)
    reply = run(sctx, "export 2026-11-01 2026-11-30 jsonl", user=ADMIN)
    assert reply.after is not None
    reply.after()
    [sent] = fake.files
    assert sent["filename"].endswith(".jsonl")
    assert sent["data"].count(b"\n") == 1


@pytest.mark.parametrize(
    ("line", "user", "says"),
    [
        ("export 30d", SUP, "admin"),
        ("export 2026-02-30 2026-03-01", ADMIN, "not a real date"),
        ("export 2026-03-01 2026-02-01", ADMIN, "is after"),
        ("export last-month", ADMIN, "not a period"),
        ("export", ADMIN, "Give a period"),
        ("export 30d csv jsonl", ADMIN, "Give one format, `csv` or `jsonl`, not both"),
        ("export 30d csv csv", ADMIN, "Give one format"),
        ("export 30d raw raw", ADMIN, "Give `raw` once"),
        ("export 30d jsonl raw", ADMIN, "`raw` is for CSV only"),
        ("export 30d raw jsonl", ADMIN, "`raw` is for CSV only"),
        ("export \u0663\u0660d", ADMIN, "not a period"),
        ("export 2026-12-01", ADMIN, "Give the second date too: `/twoway export 2026-12-01 YYYY-MM-DD`"),
        ("export 2026-12-01 csv", ADMIN, "Give the second date too"),
    ],
)
def test_bad_export_requests_send_nothing(
    sctx: Context, fake: FakeSlack, line: str, user: str, says: str
) -> None:
    reply = run(sctx, line, user=user)
    assert says in reply.text
    assert reply.after is None
    assert fake.files == []


# -- end to end over HTTP ----------------------------------------------------------------------------


def test_queue_over_http_and_assign_from_its_select(db_url: str, engine: Any, clock: FakeClock) -> None:
    """A signed `/twoway queue` answers with the list; picking a person in it assigns the item."""
    with running_app(db_url, engine, clock) as env:
        with env.ctx.transaction() as session:
            staff.set_role(session, SUP, "supervisor", by="test", now=clock.now())
            account = add_account(session, clock.now())
            mention_id = add_mention(session, account, clock.now() - timedelta(minutes=30)).id
        result = env.command("queue all", user=SUP)
        assert result.status == 200
        body = result.json
        assert body["response_type"] == "ephemeral"
        blocks = body["blocks"]
        assert any(b.get("block_id") == f"m:{mention_id}" for b in blocks)

        class Ephemeral:
            channel, ts = CHANNEL, "1763650999.000001"

            def __init__(self) -> None:
                self.blocks = blocks

            def as_api(self) -> dict[str, Any]:
                return {"type": "message", "ts": self.ts, "text": "", "blocks": self.blocks}

        click = click_on_message(env.sender, Ephemeral(), "assign", user_id=SUP, selected_user=OFFICER)
        assert click.status == 200

        def assigned() -> bool:
            with env.ctx.transaction() as session:
                return session.scalar(select(Mention.assignee).where(Mention.id == mention_id)) == OFFICER

        wait_for(assigned)
        wait_for(lambda: env.slack.dms(OFFICER))
    assert "queue" in REGISTRY


@pytest.mark.parametrize("user", [SUP, OFFICER])
def test_the_queue_of_a_storm_that_does_not_exist_says_so(sctx: Context, clock: FakeClock, user: str) -> None:
    """Not "Nothing unanswered in storm #999 :tada:", which reads as good news about a real storm."""
    _items(sctx, clock, 2)
    for number in ("999", "#999", "3000000000"):
        reply = run(sctx, f"queue storm {number}", user=user)
        assert f"no storm #{number.lstrip('#')}" in reply.text
        assert "Nothing unanswered" not in reply.text
