"""`/twoway template`, `/twoway faq` and `/twoway set`, called as the Slack listener calls them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app.wiring import COMMANDS as REGISTRY
from bot.core.context import Context
from bot.core.errors import UserError
from bot.slack.commands import CommandReply, CommandRequest
from handlers.templates import default_pack
from storage import settings, templates
from storage.models import AuditEvent, Faq, Template

ADMIN = "UADMIN1"


def run(ctx: Context, name: str, text: str = "") -> CommandReply:
    request = CommandRequest(user_id=ADMIN, channel_id="C1", text=text, args=tuple(text.split()))
    return REGISTRY[name].handler(ctx, request)


def count(ctx: Context, model: type[Template] | type[Faq] | type[AuditEvent]) -> int:
    with ctx.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def actions(ctx: Context) -> list[str]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_subcommands_are_registered_for_admins_only() -> None:
    for name in ("template", "faq", "set"):
        assert REGISTRY[name].role == "admin"
        assert "payload" not in REGISTRY[name].usage.lower()


def test_template_list_shows_the_shipped_pack(ctx: Context) -> None:
    reply = run(ctx, "template", "list")
    assert f"{len(default_pack())} templates" in reply.text
    assert "compliment.thanks-1" in reply.text
    assert count(ctx, Template) == len(default_pack())
    run(ctx, "template", "list")
    assert count(ctx, Template) == len(default_pack())  # seeding is idempotent


def test_template_add_list_remove(ctx: Context) -> None:
    reply = run(
        ctx, "template", "add Compliment   Thank you, {author_name}, from all of us at {agency_name}!"
    )
    assert "Added compliment template" in reply.text
    assert "`{agency_name}` has no value yet" in reply.text
    with ctx.transaction() as session:
        row = session.scalars(select(Template).where(Template.builtin_key.is_(None))).one()
        assert (row.category, row.text, row.created_by) == (
            "compliment",
            "Thank you, {author_name}, from all of us at {agency_name}!",
            ADMIN,
        )
    assert f"`{row.id}` *compliment* (custom)" in run(ctx, "template", "list").text
    run(ctx, "template", f"remove {row.id}")
    with ctx.transaction() as session:
        assert session.get(Template, row.id) is None
    assert actions(ctx) == ["template_added", "template_removed"]


def test_removing_a_shipped_template_keeps_it_removed(ctx: Context) -> None:
    run(ctx, "template", "list")
    with ctx.transaction() as session:
        shipped = session.scalars(select(Template).where(Template.builtin_key == "compliment.thanks-2")).one()
    reply = run(ctx, "template", f"remove {shipped.id}")
    assert "Removed shipped compliment template" in reply.text
    listing = run(ctx, "template", "list").text  # seeds again: must not bring it back
    assert "compliment.thanks-2" not in listing
    with ctx.transaction() as session:
        assert session.get(Template, shipped.id).enabled is False  # type: ignore[union-attr]
    with pytest.raises(UserError, match="no template"):
        run(ctx, "template", f"remove {shipped.id}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add compliment Thanks {name}!", "unknown placeholder `{name}`"),
        ("add question Call {phone", "braces"),
        ("add compliment", "empty"),
        ("add compliment \u200b\u2060\u3164", "shows nothing"),
        ("add praise Thank you!", "category is one of"),
        ("add", "category is one of"),
        ("remove", "template number"),
        ("remove twelve", "template number"),
        ("remove 999", "no template 999"),
        ("remove 3000000000", "no template 3000000000"),  # past PostgreSQL's integer
        ("", "say `list`, `add` or `remove`"),
        ("edit 3 hello", "say `list`, `add` or `remove`"),
    ],
)
def test_bad_template_commands_change_nothing(ctx: Context, text: str, message: str) -> None:
    run(ctx, "template", "list")
    before, events = count(ctx, Template), count(ctx, AuditEvent)
    with pytest.raises(UserError, match=message.replace("{", r"\{").replace("}", r"\}").replace("`", "`")):
        run(ctx, "template", text)
    assert (count(ctx, Template), count(ctx, AuditEvent)) == (before, events)


def test_multi_line_text_keeps_its_lines(ctx: Context) -> None:
    run(ctx, "template", "add\ncriticism We hear you.\nPlease call {phone}.")
    with ctx.transaction() as session:
        row = session.scalars(select(Template).where(Template.builtin_key.is_(None))).one()
    assert (row.category, row.text) == ("criticism", "We hear you.\nPlease call {phone}.")


def test_urgent_template_without_the_911_line_is_told_it_gets_one(ctx: Context) -> None:
    reply = run(ctx, "template", "add urgent Please call us right away.")
    assert "If this is an emergency, call 911 now." in reply.text


def test_template_text_shown_back_never_pings_the_channel(ctx: Context) -> None:
    reply = run(
        ctx, "template", "add other Hello <!channel> &amp; <@U999|bob> see <https://example.gov|example.gov>"
    )
    assert "<!channel>" not in reply.text
    assert "<@U999" not in reply.text
    assert "@\u2060channel" in reply.text
    with ctx.transaction() as session:
        text = session.scalars(select(Template.text).where(Template.builtin_key.is_(None))).one()
    assert text == "Hello @channel & @bob see https://example.gov"


def test_faq_add_list_remove(ctx: Context) -> None:
    reply = run(ctx, "faq", "add How do I get a police report? | Request it online at {records_url}.")
    assert "Added FAQ" in reply.text
    assert "`{records_url}` has no value yet" in reply.text
    with ctx.transaction() as session:
        faq = session.scalars(select(Faq)).one()
    assert (faq.question, faq.answer) == (
        "How do I get a police report?",
        "Request it online at {records_url}.",
    )
    listing = run(ctx, "faq", "list").text
    assert "How do I get a police report?" in listing
    assert f"`{faq.id}`" in listing
    run(ctx, "faq", f"remove {faq.id}")
    assert count(ctx, Faq) == 0
    assert "No FAQ yet" in run(ctx, "faq", "list").text
    assert actions(ctx) == ["faq_added", "faq_removed"]


def test_faq_answer_may_contain_a_bar_after_the_first(ctx: Context) -> None:
    run(ctx, "faq", "add Lobby hours? | Mon | Fri 8-5, call {phone} first")
    with ctx.transaction() as session:
        faq = session.scalars(select(Faq)).one()
    assert (faq.question, faq.answer) == ("Lobby hours?", "Mon | Fri 8-5, call {phone} first")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add How do I get a police report? Request it online.", "then `|`"),
        ("add | Request it online.", "then `|`"),
        ("add How do I get a report? |", "then `|`"),
        ("add How do I get a report? | \u200b\u200d", "then `|`"),
        ("add How do I get a report? | See {records_link}", "unknown placeholder"),
        ("add " + "why " * 200 + "| because", "longer than 500"),
        ("remove 5", "no FAQ 5"),
        ("remove 3000000000", "no FAQ 3000000000"),
        ("remove x", "faq number"),
        ("delete 5", "say `list`, `add` or `remove`"),
    ],
)
def test_bad_faq_commands_change_nothing(ctx: Context, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("|", r"\|")):
        run(ctx, "faq", text)
    assert (count(ctx, Faq), count(ctx, AuditEvent)) == (0, 0)


@pytest.mark.parametrize(
    ("text", "key", "stored"),
    [
        ("agency_name Springfield &amp; County Police", "agency_name", "Springfield & County Police"),
        ("phone (555) 010-2000", "phone", "(555) 010-2000"),
        ("PHONE +1 555 010 2000 ext. 4", "phone", "+1 555 010 2000 ext. 4"),
        ("phone 311", "phone", "311"),
        ("website https://www.springfield.example.gov", "website", "https://www.springfield.example.gov"),
        (
            "website <https://springfield.example.gov|springfield.example.gov>",
            "website",
            "https://springfield.example.gov",
        ),
        (
            "records_url https://springfield.example.gov/records?x=1",
            "records_url",
            "https://springfield.example.gov/records?x=1",
        ),
    ],
)
def test_set_stores_agency_details(ctx: Context, text: str, key: str, stored: str) -> None:
    reply = run(ctx, "set", text)
    assert f"Set `{key}`" in reply.text
    with ctx.transaction() as session:
        assert settings.get(session, key) == stored
    assert actions(ctx) == ["setting_changed"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phone call us", "non-emergency number looks like"),
        ("phone 12", "non-emergency number looks like"),
        ("phone 911", "non-emergency"),
        ("website springfield.example.gov", "full web address"),
        ("website ftp://springfield.example.gov", "full web address"),
        ("records_url https://localhost/records", "full web address"),
        ("website https://www.example.gov/\nscam.example/pay", "full web address"),
        ("website https://www.example.gov/\tpay", "full web address"),
        ("records_url https://www.example.gov/\u202erecords", "full web address"),
        ("agency_name {phone} Police", "without braces"),
        ("agency_name " + "x" * 101, "1 to 100"),
        ("phone", "give a value"),
        ("color blue", "you can set"),
        ("payload x", "you can set"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(ctx: Context, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run(ctx, "set", text)
    with ctx.transaction() as session:
        assert settings.get_many(session) == {}
    assert count(ctx, AuditEvent) == 0


def test_set_without_arguments_lists_values_and_clear_removes_one(ctx: Context) -> None:
    assert "`phone`: _not set_" in run(ctx, "set").text
    run(ctx, "set", "phone (555) 010-2000")
    run(ctx, "set", "agency_name <!here> Police")
    listing = run(ctx, "set").text
    assert "`phone`: (555) 010-2000" in listing
    assert "<!here>" not in listing
    assert "@\u2060here Police" in listing
    assert "Cleared `phone`" in run(ctx, "set", "phone clear").text
    with ctx.transaction() as session:
        assert settings.get(session, "phone") is None


def test_seeding_refreshes_wording_never_revives_removed_and_unshipped_ones_are_not_listed(
    ctx: Context,
) -> None:
    from storage.templates import seed_builtin

    now = ctx.clock.now()
    with ctx.transaction() as session:
        seed_builtin(session, [("other.a", "other", "Hello."), ("other.b", "other", "Hi.")], now)
        removed = session.scalars(select(Template).where(Template.builtin_key == "other.b")).one()
        removed.enabled = False
    with ctx.transaction() as session:
        seed_builtin(session, [("other.a", "other", "Hello again."), ("other.b", "other", "Hi.")], now)
        rows = {t.builtin_key: (t.text, t.enabled) for t in session.scalars(select(Template))}
    assert rows == {"other.a": ("Hello again.", True), "other.b": ("Hi.", False)}
    with ctx.transaction() as session:  # a release that stops shipping other.a
        seed_builtin(session, [("other.b", "other", "Hi."), ("other.c", "other", "Hey.")], now)
        listed = templates.list_templates(session, shipped_keys={"other.b", "other.c"})
    assert [t.builtin_key for t in listed] == ["other.c"]


def test_long_lists_fit_a_slack_reply_and_say_how_to_see_the_rest(ctx: Context) -> None:
    """The command listener cuts replies at 3,900 characters: a list must end cleanly before that."""
    for n in range(40):
        run(ctx, "template", f"add other Custom reply number {n}. " + "We are here to help. " * 10)
    listing = run(ctx, "template", "list").text
    assert len(listing) <= 3800
    assert f"*{len(default_pack()) + 40} templates*" in listing
    assert listing.endswith("shows fewer.")
    assert "more: `/twoway template list CATEGORY`, `custom`, `shipped` or `WORD`" in listing
    only_urgent = run(ctx, "template", "list urgent").text
    assert "*3 templates*" in only_urgent
    assert "*compliment*" not in only_urgent
    assert "more:" not in only_urgent
    found = run(ctx, "template", "list number 7.").text
    assert "*1 template* (remove one" in found


def test_templates_the_agency_added_are_listed_first_and_by_custom(ctx: Context) -> None:
    """The shipped pack alone fills a reply: the template just added must still be seen."""
    added = run(ctx, "template", "add question Our front desk is open 9-5 on weekdays.").text
    assert "Added question template" in added
    listing = run(ctx, "template", "list").text
    assert "more:" in listing  # the reply is full...
    assert listing.splitlines()[1].endswith("*question* (custom): Our front desk is open 9-5 on weekdays.")
    custom = run(ctx, "template", "list custom").text
    assert "*1 template* (remove one" in custom
    assert "front desk" in custom
    shipped = run(ctx, "template", "list shipped").text
    assert f"*{len(default_pack())} templates*" in shipped
    assert "front desk" not in shipped


def test_faq_list_filters_by_word(ctx: Context) -> None:
    run(ctx, "faq", "add How do I get a police report? | Online at {records_url}.")
    run(ctx, "faq", "add How do I pay a parking ticket? | Online at {website}.")
    listing = run(ctx, "faq", "list parking").text
    assert "*1 FAQ*" in listing
    assert "parking ticket" in listing
    assert "police report" not in listing


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("list custom", "No custom templates. Add one with `/twoway template add CATEGORY TEXT`."),
        ("list urgent zzz", "No template matches `urgent zzz`: `/twoway template list` shows them all."),
        ("list zzznomatch", "No template matches `zzznomatch`: `/twoway template list` shows them all."),
    ],
)
def test_a_template_list_with_nothing_in_it_says_so_and_how_to_add_one(
    ctx: Context, text: str, says: str
) -> None:
    listing = run(ctx, "template", text).text
    assert listing.startswith(says)
    assert "`/twoway template add" in listing
    assert "remove one" not in listing
    assert "*0 templates*" not in listing


def test_an_faq_list_with_nothing_matching_says_so_and_how_to_add_one(ctx: Context) -> None:
    run(ctx, "faq", "add How do I get a police report? | Online at {records_url}.")
    listing = run(ctx, "faq", "list zzz").text
    assert listing == (
        "No FAQ matches `zzz`: `/twoway faq list` shows them all. Add one with `/twoway faq add QUESTION | ANSWER`."
    )


def test_the_storm_threshold_is_set_shown_turned_off_and_cleared(ctx: Context) -> None:
    assert (
        "10× the account's normal rate, and at least 30 mentions in 10 minutes (the default)"
        in run(ctx, "set").text
    )
    reply = run(ctx, "set", "storm_threshold 8x 40")
    assert "8× the account's normal rate, and at least 40 mentions" in reply.text
    with ctx.transaction() as session:
        assert settings.get(session, "storm_threshold") == {"multiple": 8.0, "minimum": 40}
    assert "Storm detection is off" in run(ctx, "set", "storm_threshold off").text
    assert "detection is off" in run(ctx, "set").text
    assert "back to the default" in run(ctx, "set", "storm_threshold clear").text
    with ctx.transaction() as session:
        assert settings.get(session, "storm_threshold") is None
    assert actions(ctx) == ["setting_changed"] * 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storm_threshold", "give the threshold"),
        ("storm_threshold lots", "is not a multiple"),
        ("storm_threshold 1x", "between 2x"),
        ("storm_threshold 10x 3", "between 5"),
        ("storm_threshold 10x 40 more", "give the multiple"),
        ("storm_threshold ２x", "not a threshold like"),  # full-width digits, which float() takes
        ("storm_threshold 10x ٤٠", "not a threshold like"),
    ],
)
def test_a_bad_storm_threshold_is_refused_and_nothing_changes(ctx: Context, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run(ctx, "set", text)
    assert count(ctx, AuditEvent) == 0


def test_statement_and_pinned_templates_may_use_only_the_agency_details(ctx: Context) -> None:
    reply = run(ctx, "template", "add statement We are reviewing this. Call {phone}.")
    assert "Added statement template" in reply.text
    assert "Storm summary cards offer the newest custom one" in reply.text
    with pytest.raises(UserError, match="answers everyone"):
        run(ctx, "template", "add pinned Thanks {author_name}, we hear you.")
