"""`/twoway template`, `/twoway faq` and `/twoway set`: what drafts are made of, set from Slack.

    /twoway template list [CATEGORY|custom|shipped|WORD]   custom ones first
    /twoway template add CATEGORY TEXT      CATEGORY: compliment|question|criticism|other|urgent,
                                            or statement|pinned (the drafts of a storm's summary card)
    /twoway template remove ID
    /twoway faq list [WORD]
    /twoway faq add QUESTION | ANSWER       the first `|` separates question and answer
    /twoway faq remove ID
    /twoway set                             shows the agency details drafts use
    /twoway set agency_name|phone|website|records_url VALUE   (VALUE `clear` removes it)
    /twoway set storm_threshold 10x [MINIMUM] | off | clear   when a burst counts as a storm

Bad arguments raise UserError and change nothing. Everything shown back that an admin or the
public wrote passes through `escape.public`, so a template can never ping a channel.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.words import counted
from bot.intake.triage import template_specs
from bot.slack.commands import CommandReply, CommandRequest, Commands
from bot.slack.escape import public
from connectors import registry
from handlers.storms import StormRule, parse_rule, rule_from_setting
from handlers.templates import (
    AGENCY_VARIABLES,
    STORM_CATEGORIES,
    TEMPLATE_CATEGORIES,
    URGENT_LEAD,
    TemplateError,
    default_pack,
    placeholders_in,
    validate_for_everyone,
    validate_template,
)
from handlers.text import length_on, visible, without_controls
from storage import faqs, keys, settings, storms, templates
from storage.models import Role

COMMANDS = Commands()

TEMPLATE_USAGE = (
    "/twoway template list [CATEGORY|custom|shipped|WORD] · /twoway template add CATEGORY TEXT"
    " · /twoway template remove ID"
)
ORIGINS = ("custom", "shipped")  # `template list custom`: those the agency added
FAQ_USAGE = "/twoway faq list [WORD] · /twoway faq add QUESTION | ANSWER · /twoway faq remove ID"
SET_USAGE = (
    "/twoway set · /twoway set agency_name|phone|website|records_url VALUE · "
    "/twoway set storm_threshold 10x [MINIMUM]|off|clear"
)
STORM_SETTING = "storm_threshold"
SHOW_LIMIT = 300  # characters of each template or answer shown in a list
REPLY_BUDGET = 3800  # the command listener cuts reply text at 3,900 characters
MAX_QUESTION = 500
MAX_NAME = 100

_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_PHONE = re.compile(r"\+?[0-9(][0-9 ().\-]*[0-9](?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:ext\.?|x)\s*[0-9]+$", re.IGNORECASE)


def plain(text: str) -> str:
    """What the admin typed, before Slack turned links into `<url|label>` and escaped `&<>`."""

    def unwrap(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("http://", "https://")):
            return target
        if target.startswith(("@", "#")):
            return target[0] + (label or target[1:]).lstrip("@#")
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0]).lstrip("@")
        return label or target.split(":", 1)[-1]

    return html.unescape(_SLACK_LINK.sub(unwrap, text)).strip()


def _first_word(text: str) -> tuple[str, str]:
    """The first word and the rest, split on any whitespace (Slack text may hold newlines)."""
    parts = text.strip().split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else ((parts[0], "") if parts else ("", ""))


def _words(request: CommandRequest) -> tuple[str, str]:
    """The action word and the rest of the text, untouched (spacing kept)."""
    text = plain(request.text)
    action, rest = _first_word(text)
    return action.lower(), rest


def _id(rest: str, what: str) -> int:
    if not ids.is_number(rest):
        raise UserError(
            f"give the {what} number shown by `/twoway {what} list`, e.g. `/twoway {what} remove 12`"
        )
    return int(rest)


def _unset_notes(text: str, ctx: Context) -> list[str]:
    with ctx.transaction() as session:
        values = settings.get_many(session)
    unset = [name for name in placeholders_in(text) if name in AGENCY_VARIABLES and not values.get(name)]
    return [
        f"`{{{name}}}` has no value yet, so this is not offered until `/twoway set {name} VALUE`."
        for name in unset
    ]


# -- /twoway template --------------------------------------------------------------------------


@COMMANDS.command(
    "template",
    Role.ADMIN,
    TEMPLATE_USAGE,
    (
        "list, add or remove reply templates (custom ones first; `statement` and `pinned`:"
        " the drafts of a storm's summary card)"
    ),
)
def template_command(ctx: Context, request: CommandRequest) -> CommandReply:
    action, rest = _words(request)
    if action == "list":
        return _template_list(ctx, rest)
    if action == "add":
        return _template_add(ctx, request.user_id, rest)
    if action == "remove":
        return _template_remove(ctx, request.user_id, _id(rest, "template"))
    raise UserError("say `list`, `add` or `remove`")


def _template_list(ctx: Context, search: str) -> CommandReply:
    with ctx.transaction() as session:
        template_specs(session, ctx.clock.now())  # seeds the shipped pack on first use
        rows = templates.list_templates(session, shipped_keys={s.key for s in default_pack()})
    if not rows:
        return CommandReply(text="No templates. Add one with `/twoway template add CATEGORY TEXT`.")
    wanted = search.lower()
    if wanted in TEMPLATE_CATEGORIES:
        rows = [row for row in rows if row.category == wanted]
    elif wanted in ORIGINS:
        rows = [row for row in rows if (row.builtin_key is None) == (wanted == "custom")]
    elif wanted:
        rows = [row for row in rows if wanted in row.text.lower() or wanted in (row.builtin_key or "")]
    # The agency's own first: the shipped pack alone fills a reply, and the one just added is
    # the one an admin looks for.
    rows = sorted(rows, key=lambda row: row.builtin_key is not None)
    if not rows:
        return CommandReply(text=_no_templates(wanted))
    header = f"*{counted(len(rows), 'template')}* (remove one with `/twoway template remove ID`):"
    lines = []
    for row in rows:
        origin = f"shipped `{row.builtin_key}`" if row.builtin_key else "custom"
        lines.append(f"`{row.id}` *{row.category}* ({origin}): {public(row.text, SHOW_LIMIT)}")
    hint = "`/twoway template list CATEGORY`, `custom`, `shipped` or `WORD` shows fewer"
    return CommandReply(text=_within_budget(header, lines, hint))


def _no_templates(wanted: str) -> str:
    """What a list that filtered out every template says: that there are none, and how to add
    one, not a header inviting a removal over an empty list."""
    if wanted in TEMPLATE_CATEGORIES:
        return f"No {wanted} templates. Add one with `/twoway template add {wanted} TEXT`."
    add = "Add one with `/twoway template add CATEGORY TEXT`."
    if wanted in ORIGINS:
        return f"No {wanted} templates. {add}"
    return f"No template matches `{public(wanted, 40)}`: `/twoway template list` shows them all. {add}"


def _within_budget(header: str, lines: list[str], hint: str) -> str:
    """As many whole lines as a Slack reply holds, then how many were left out and how to see them."""
    text = header
    for shown, line in enumerate(lines):
        more = f"\n…and {len(lines) - shown} more: {hint}."
        if len(text) + 1 + len(line) + len(more) + 20 > REPLY_BUDGET:
            return text + more
        text += "\n" + line
    return text


def _template_add(ctx: Context, user: str, rest: str) -> CommandReply:
    category, text = _first_word(rest)
    category, text = category.lower(), without_controls(text).strip()
    if category not in TEMPLATE_CATEGORIES:
        raise UserError(f"the category is one of {', '.join(TEMPLATE_CATEGORIES)}, then the text")
    try:
        validate_template(text)
        if not visible(text):
            raise TemplateError("the text shows nothing (only invisible characters)")
        if category in STORM_CATEGORIES:
            validate_for_everyone(text)
    except TemplateError as error:
        raise UserError(public(str(error))) from None
    notes = _unset_notes(text, ctx)
    if category in STORM_CATEGORIES:
        notes.append("Storm summary cards offer the newest custom one of its kind as their draft.")
    if category == "urgent" and not text.startswith(URGENT_LEAD):
        notes.append(f"Drafts for urgent posts put “{URGENT_LEAD}” in front of it.")
    for spec in registry.PLATFORMS.values():
        if length_on(text, spec.rules) > spec.rules.limit:
            notes.append(
                f"It is longer than {spec.title} allows ({spec.rules.limit}); on {spec.title} it is cut at a sentence or left out."
            )
    with ctx.transaction() as session:
        row = templates.add(session, category, text, user, ctx.clock.now())
        storms.touch_active(session)  # a storm's summary card shows the new drafts
    reply = f"Added {category} template `{row.id}`: {public(text, SHOW_LIMIT)}"
    return CommandReply(text="\n".join([reply, *notes]))


def _template_remove(ctx: Context, user: str, template_id: int) -> CommandReply:
    with ctx.transaction() as session:
        template_specs(session, ctx.clock.now())
        row = templates.remove(session, template_id, user, ctx.clock.now())
        if row is None:
            raise UserError(f"there is no template {template_id}; see `/twoway template list`")
        storms.touch_active(session)
        kind = "shipped" if row.builtin_key else "custom"
        return CommandReply(
            text=f"Removed {kind} {row.category} template `{template_id}`: {public(row.text, 120)}"
        )


# -- /twoway faq -------------------------------------------------------------------------------


@COMMANDS.command("faq", Role.ADMIN, FAQ_USAGE, "list, add or remove FAQ answers offered as drafts")
def faq_command(ctx: Context, request: CommandRequest) -> CommandReply:
    action, rest = _words(request)
    if action == "list":
        return _faq_list(ctx, rest)
    if action == "add":
        return _faq_add(ctx, request.user_id, rest)
    if action == "remove":
        return _faq_remove(ctx, request.user_id, _id(rest, "faq"))
    raise UserError("say `list`, `add` or `remove`")


def _faq_list(ctx: Context, search: str) -> CommandReply:
    with ctx.transaction() as session:
        rows = faqs.list_faqs(session)
    if not rows:
        return CommandReply(text="No FAQ yet. Add one with `/twoway faq add QUESTION | ANSWER`.")
    wanted = search.lower()
    if wanted:
        rows = [row for row in rows if wanted in row.question.lower() or wanted in row.answer.lower()]
    if not rows:
        return CommandReply(
            text=f"No FAQ matches `{public(wanted, 40)}`: `/twoway faq list` shows them all."
            " Add one with `/twoway faq add QUESTION | ANSWER`."
        )
    header = f"*{len(rows)} FAQ* (remove one with `/twoway faq remove ID`):"
    lines = [
        f"`{row.id}` *Q:* {public(row.question, SHOW_LIMIT)}\n      *A:* {public(row.answer, SHOW_LIMIT)}"
        for row in rows
    ]
    return CommandReply(
        text=_within_budget(header, lines, "`/twoway faq list WORD` shows the ones with WORD")
    )


def _faq_add(ctx: Context, user: str, rest: str) -> CommandReply:
    question, bar, answer = rest.partition("|")
    question, answer = without_controls(question).strip(), without_controls(answer).strip()
    if not bar or not visible(question) or not visible(answer):
        raise UserError("write the question, then `|`, then the answer: `/twoway faq add QUESTION | ANSWER`")
    if len(question) > MAX_QUESTION:
        raise UserError(f"the question is longer than {MAX_QUESTION} characters")
    try:
        validate_template(answer)
    except TemplateError as error:
        raise UserError(f"in the answer: {public(str(error))}") from None
    notes = _unset_notes(answer, ctx)
    for spec in registry.PLATFORMS.values():
        if length_on(answer, spec.rules) > spec.rules.limit:
            notes.append(
                f"The answer is longer than {spec.title} allows ({spec.rules.limit}); on {spec.title} only its first sentences are offered."
            )
    with ctx.transaction() as session:
        row = faqs.add(session, question, answer, user, ctx.clock.now())
    reply = f"Added FAQ `{row.id}`.\n*Q:* {public(question, SHOW_LIMIT)}\n*A:* {public(answer, SHOW_LIMIT)}"
    return CommandReply(text="\n".join([reply, *notes]))


def _faq_remove(ctx: Context, user: str, faq_id: int) -> CommandReply:
    with ctx.transaction() as session:
        row = faqs.remove(session, faq_id, user, ctx.clock.now())
        if row is None:
            raise UserError(f"there is no FAQ {faq_id}; see `/twoway faq list`")
        return CommandReply(text=f"Removed FAQ `{faq_id}`: {public(row.question, 120)}")


# -- /twoway set -------------------------------------------------------------------------------


def clean_setting(name: str, value: str) -> str:
    """The value to store for an agency setting, or UserError saying what is wrong."""
    if name == "agency_name":
        if not 0 < len(value) <= MAX_NAME or any(c in value for c in "{}\n") or not visible(value):
            raise UserError(f"the agency name is 1 to {MAX_NAME} characters on one line, without braces")
        return value
    if name == "phone":
        digits = re.sub(r"\D", "", _EXTENSION.sub("", value))
        if not _PHONE.fullmatch(value) or not 3 <= len(digits) <= 15:
            raise UserError("the non-emergency number looks like `(555) 010-2000` or `+1 555 010 2000`")
        if digits == "911":
            raise UserError("this is the *non-emergency* number; urgent drafts already say to call 911")
        return value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:  # "https://[x.y": an unclosed IPv6 bracket
        raise UserError(f"the {name} is a full web address, e.g. `https://www.example.gov/records`") from None
    hidden = any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in value)
    if parts.scheme not in ("http", "https") or "." not in host or hidden or len(value) > 300:
        raise UserError(f"the {name} is a full web address, e.g. `https://www.example.gov/records`")
    return value


@COMMANDS.command(
    "set",
    Role.ADMIN,
    SET_USAGE,
    ("agency details used in drafts: name, non-emergency number, links; when a burst counts as a storm"),
)
def set_command(ctx: Context, request: CommandRequest) -> CommandReply:
    text = plain(request.text)
    if not text:
        with ctx.transaction() as session:
            values = settings.get_many(session)
        lines = ["*Agency details used in drafts* (change one with `/twoway set NAME VALUE`):"]
        for name in AGENCY_VARIABLES:
            value = values.get(name)
            lines.append(f"• `{name}`: {public(str(value), 300) if value else '_not set_'}")
        lines.append(
            f"*Storms* (`/twoway set {STORM_SETTING} …`): {_storm_rule_text(values.get(keys.STORM_THRESHOLD))}"
        )
        return CommandReply(text="\n".join(lines))
    name, value = _first_word(text)
    name, value = name.lower(), value.strip()
    if name == STORM_SETTING:
        return _set_storm_threshold(ctx, request.user_id, value)
    if name not in AGENCY_VARIABLES:
        raise UserError(f"you can set {', '.join((*AGENCY_VARIABLES, STORM_SETTING))}")
    if not value:
        raise UserError(f"give a value: `/twoway set {name} VALUE` (or `clear`)")
    now = ctx.clock.now()
    if value.lower() == "clear":
        with ctx.transaction() as session:
            settings.delete(session, name, request.user_id, now)
            storms.touch_active(session)
        return CommandReply(text=f"Cleared `{name}`. Drafts that use `{{{name}}}` are no longer offered.")
    value = clean_setting(name, value)
    with ctx.transaction() as session:
        settings.put(session, name, value, request.user_id, now)
        storms.touch_active(session)
    return CommandReply(text=f"Set `{name}` to {public(value, 300)}. New drafts use it.")


def _storm_rule_text(stored: object) -> str:
    rule = rule_from_setting(stored)
    if rule is None:
        return "detection is off"
    default = " (the default)" if rule == StormRule() else ""
    return f"a thread or account storms at {rule.describe()}{default}"


def _set_storm_threshold(ctx: Context, user: str, value: str) -> CommandReply:
    """`10x`, `10x 40`, `off` or `clear` (back to the default)."""
    if not value:
        raise UserError(
            f"give the threshold: `/twoway set {STORM_SETTING} 10x` (or `10x 40`, `off`, `clear`)"
        )
    now = ctx.clock.now()
    if value.lower() == "clear":
        with ctx.transaction() as session:
            settings.delete(session, keys.STORM_THRESHOLD, user, now)
        return CommandReply(text=f"Storm threshold back to the default: {_storm_rule_text(None)}.")
    if not value.isascii():  # `\d` and `float` take "２" and "٧"; the docs show 10x, as the queue takes
        raise UserError(f"`{public(value, 20)}` is not a threshold like `10x` or `10x 40` (digits 0-9)")
    try:
        rule = parse_rule(value)
    except ValueError as exc:
        raise UserError(f"{public(str(exc))}. Nothing was changed.") from None
    with ctx.transaction() as session:
        settings.put(session, keys.STORM_THRESHOLD, rule.as_setting() if rule else False, user, now)
    if rule is None:
        return CommandReply(
            text="Storm detection is off: every post gets its own card. Storms going on now end as they calm."
        )
    return CommandReply(text=f"Saved: {_storm_rule_text(rule.as_setting())}.")
