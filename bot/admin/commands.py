"""The admin side of `/twoway`: setup, connect, accounts, pause, resume, role, status.

Handlers only parse, check and change state; the dispatcher has already checked the role on
the server and answers ephemerally. Bad arguments raise `UserError`, which shows the usage
line and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError

from bot import __version__
from bot.admin import connect
from bot.core import ids
from bot.core.context import Context
from bot.core.errors import UserError
from bot.intake.accounts import unidentified_env_accounts
from bot.intake.health import account_label, health_line, next_poll_overall
from bot.slack.channel import review_channel
from bot.slack.commands import CommandReply, CommandRequest, Commands
from bot.slack.escape import public
from bot.slack.format import when
from bot.slack.outbox import poster
from bot.slack.roles import ROLE_WORDS
from bot.supervision.assignment import APP, DEACTIVATED, UNKNOWN, SlackUnanswered, slack_person
from connectors import registry
from storage import accounts as stored_accounts
from storage import keys, locks, staff
from storage import settings as stored_settings
from storage.accounts import all_accounts
from storage.models import ROLES, Account, Role
from storage.queue import cards_not_posted, unanswered_count
from storage.storms import active as active_storms

log = logging.getLogger(__name__)

COMMANDS = Commands()


def _either(words: Iterable[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


INVITE = "Invite me first: `/invite @TwoWay`, then run `/twoway setup` again."


# -- setup -----------------------------------------------------------------------------------


@COMMANDS.command("setup", Role.ADMIN, "/twoway setup", "make this channel the review channel")
def setup_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise UserError("`setup` takes no arguments; run it in the channel you want to use.")
    channel = request.channel_id
    if not channel or channel.startswith("D"):
        raise UserError("Run `/twoway setup` in the channel where cards should go, not in a DM.")
    if ctx.slack is None:
        return CommandReply("Slack is not configured in this process (SLACK_BOT_TOKEN is unset).")
    try:
        info = ctx.slack.conversations_info(channel=channel)
        is_member = bool((info.get("channel") or {}).get("is_member"))
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown_error"))
        if code != "channel_not_found":  # a private channel the bot is not in looks missing
            log.warning("setup: conversations.info failed for %s: %s", channel, code)
            return CommandReply(f"I could not check this channel (`{code}`). Nothing was changed.")
        is_member = False
    if not is_member:
        return CommandReply(INVITE)
    with ctx.transaction() as session:
        previous = stored_settings.get(session, keys.CHANNEL)
        stored_settings.put(session, keys.CHANNEL, channel, request.user_id, ctx.clock.now())
    text = f"<#{channel}> is now TwoWay's review channel: new cards and alerts go here."
    if previous == channel:
        text = f"<#{channel}> already is TwoWay's review channel."
    forced = ctx.settings.twoway_channel
    if forced and forced != channel:
        text += (
            f"\nNote: TWOWAY_CHANNEL is set to <#{forced}> in the server's environment and wins"
            " until it is removed there."
        )
    return CommandReply(text)


# -- connect ---------------------------------------------------------------------------------


@COMMANDS.command(
    "connect",
    Role.ADMIN,
    f"/twoway connect {registry.listed()}",
    "connect " + _either(spec.noun for spec in registry.PLATFORMS.values()) + " (opens a form)",
)
def connect_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if len(request.args) > 1 and request.args[0].lower() in registry.PLATFORMS:
        # The form asks for the credentials: typed here they would also sit in Slack's history.
        raise UserError(
            f"`connect` takes just the platform, e.g. `/twoway connect {request.args[0].lower()}`;"
            " the form it opens asks for the rest."
        )
    if len(request.args) != 1 or request.args[0].lower() not in registry.PLATFORMS:
        raise UserError(f"Say which platform to connect: {_either(f'`{n}`' for n in registry.names())}.")
    platform = request.args[0].lower()
    if ctx.settings.twoway_secret_key is None:
        return CommandReply(
            "TWOWAY_SECRET_KEY is not set on the server, so credentials cannot be stored encrypted."
            " Set it (a long random string), restart TwoWay and try again."
        )
    if ctx.slack is None:
        return CommandReply("Slack is not configured in this process (SLACK_BOT_TOKEN is unset).")
    if not request.trigger_id:
        return CommandReply("Slack sent no trigger for a form; run the command again.")
    try:
        ctx.slack.views_open(trigger_id=request.trigger_id, view=connect.modal(platform, request.channel_id))
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown_error"))
        log.warning("connect: views.open failed: %s", code)
        return CommandReply(f"I could not open the form (`{code}`). Run `/twoway connect {platform}` again.")
    return CommandReply(f"Opened the form to connect {registry.spec(platform).noun}.")


# -- accounts and status ---------------------------------------------------------------------


@COMMANDS.command("accounts", Role.SUPERVISOR, "/twoway accounts", "connected accounts and their health")
def accounts_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise UserError("`accounts` takes no arguments.")
    now = ctx.clock.now()
    with ctx.transaction() as session:
        accounts = all_accounts(session)
        lines = [health_line(a, ctx.settings.twoway_poll_seconds, now) for a in accounts]
    lines += _unidentified(ctx)
    if not lines:
        return CommandReply(
            "No accounts are connected yet. An admin connects one with "
            + _either(f"`/twoway connect {n}`" for n in registry.names())
            + "."
        )
    return CommandReply("*Connected accounts*\n" + "\n".join(f"• {line}" for line in lines))


@COMMANDS.command("status", Role.OFFICER, "/twoway status", "version, channel, account health and the queue")
def status_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise UserError("`status` takes no arguments.")
    now = ctx.clock.now()
    poll_seconds = ctx.settings.twoway_poll_seconds
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        accounts = all_accounts(session)
        health = [health_line(a, poll_seconds, now) for a in accounts]
        unanswered = unanswered_count(session)
        waiting, card_error = cards_not_posted(session)
        storming = [
            f"storm #{s.id} on {'the whole account' if not s.thread_key else f'post {public(s.thread_key, 40)}'}"
            f" since {when(s.started_at, now)} (peak {s.peak:,} in 10 minutes)"
            for s in active_storms(session)
        ]
    health += _unidentified(ctx)
    lines = [f"*TwoWay {__version__}*"]
    if channel:
        source = " (from TWOWAY_CHANNEL)" if ctx.settings.twoway_channel else ""
        lines.append(f"Review channel: <#{channel}>{source}")
    else:
        lines.append(
            "Review channel: not set. An admin runs `/twoway setup` in the channel where cards should go."
        )
    lines.append(f"Unanswered: {unanswered}")
    if storming:
        lines.append(":cyclone: Storms now: " + "; ".join(storming) + " (see their summary cards)")
    if waiting:
        why = f"; Slack last said `{public(card_error, 80)}`" if card_error else ""
        lines.append(f"Cards not in the channel yet: {waiting}{why}")
    due = next_poll_overall(accounts, poll_seconds, now)
    lines.append(f"Next poll: {when(due, now) if due else 'none (no enabled account)'}")
    if ctx.settings.scheduler_enabled is False:
        lines.append("This process does not poll (TWOWAY_SCHEDULER=false); another process must.")
    if ctx.engine.dialect.name == "postgresql":
        lines.append(_scheduler_line(locks.holder(ctx.engine, locks.SCHEDULER)))
    lines.append("*Accounts*" if health else "*Accounts*: none connected")
    lines.extend(f"• {line}" for line in health)
    return CommandReply("\n".join(lines))


def _scheduler_line(holder: str | None) -> str:
    """Which copy of TwoWay runs the scheduler (polls, cards, reminders), or that none does."""
    if holder is None:
        return (
            "Scheduler: *no copy of TwoWay runs it right now*, so nothing is polled or posted;"
            " start one with TWOWAY_SCHEDULER=true (a standby copy takes over within seconds)."
        )
    where = holder.removeprefix("twoway scheduler ").strip()
    return f"Scheduler: running in `{public(where, 80)}`" if where else "Scheduler: running in another copy"


def _unidentified(ctx: Context) -> list[str]:
    """Env accounts start-up could not identify: not polled yet, and nobody would know."""

    return [
        f"{registry.title(platform)} account from the environment: not polled yet, it could not be identified"
        f" ({public(reason, 200)}). TwoWay keeps trying."
        for platform, reason in unidentified_env_accounts(ctx).items()
    ]


# -- pause / resume --------------------------------------------------------------------------


def _pick_accounts(accounts: list[Account], args: tuple[str, ...]) -> list[Account]:
    """`` (all), a platform (`x`), `@handle`, `handle` or an account id."""
    if not args:
        return accounts
    if len(args) > 1:
        raise UserError(
            "Name one account (`@handle` or id), one platform ("
            + ", ".join(f"`{n}`" for n in registry.names())
            + "), or nothing for all."
        )
    wanted = args[0].strip()
    if wanted.lower() in registry.PLATFORMS:
        chosen = [a for a in accounts if a.platform == wanted.lower()]
        if not chosen:
            raise UserError(f"No {registry.title(wanted.lower())} account is connected.")
        return chosen
    if ids.is_number(wanted):
        chosen = [a for a in accounts if a.id == int(wanted)]
    else:
        name = wanted.lstrip("@").lower()
        chosen = [
            a for a in accounts if name and name in (a.handle.lstrip("@").lower(), a.external_id.lower())
        ]
    if not chosen:
        raise UserError(f"No connected account matches `{public(wanted, 40)}`; see `/twoway accounts`.")
    return chosen


def _set_enabled(ctx: Context, request: CommandRequest, enabled: bool) -> CommandReply:

    verb = "resumed" if enabled else "paused"
    now = ctx.clock.now()
    with ctx.transaction() as session:
        chosen = _pick_accounts(all_accounts(session), request.args)
        changed, unchanged = [], []
        for account in chosen:
            label = account_label(account)
            if stored_accounts.set_enabled(session, account.id, enabled, by=request.user_id, now=now):
                changed.append(label)
            else:
                unchanged.append(label)
    lines = []
    if changed:
        lines.append(f"{verb.capitalize()}: {', '.join(changed)}.")
    if unchanged:
        lines.append(f"Already {verb}: {', '.join(unchanged)}.")
    if not chosen:
        lines.append("No accounts are connected yet.")
    if changed and not enabled:
        lines.append("Cards already in the channel stay; nothing new is fetched until `/twoway resume`.")
    return CommandReply("\n".join(lines))


@COMMANDS.command(
    "pause", Role.ADMIN, f"/twoway pause [{registry.listed()}|@handle|id]", "stop polling one account, or all"
)
def pause_command(ctx: Context, request: CommandRequest) -> CommandReply:
    return _set_enabled(ctx, request, False)


@COMMANDS.command(
    "resume", Role.ADMIN, f"/twoway resume [{registry.listed()}|@handle|id]", "start polling again"
)
def resume_command(ctx: Context, request: CommandRequest) -> CommandReply:
    return _set_enabled(ctx, request, True)


# -- role ------------------------------------------------------------------------------------


def parse_user(token: str) -> str:
    """The user id in `<@U123|name>`, `<@U123>` or `U123`."""
    user = ids.typed_user(token)
    if user is not None:
        return user
    raise UserError(f"`{public(token, 40)}` is not a Slack user; mention them like `@name`.")


@COMMANDS.command(
    "role", Role.ADMIN, "/twoway role @user officer|supervisor|admin|none", "grant or remove someone's role"
)
def role_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if len(request.args) != 2:
        raise UserError("Give one person and one role.")
    user_id = parse_user(request.args[0])
    wanted = request.args[1].lower()
    if wanted not in (*ROLES, "none"):
        raise UserError(
            f"`{public(request.args[1], 20)}` is not a role: use officer, supervisor, admin or none."
        )
    role = None if wanted == "none" else Role(wanted)
    if role is not None:  # removing a role works even for someone Slack no longer knows
        problem = _cannot_hold_a_role(ctx, user_id)
        if problem:
            return CommandReply(problem)
    now = ctx.clock.now()
    with ctx.transaction() as session:
        # Lock the admin rows (PostgreSQL; SQLite's write lock already serialises) so two
        # admins demoting each other at once cannot leave the workspace with none.
        admins = staff.admins_locked(session)
        if user_id in admins and role != Role.ADMIN and len(admins) == 1:
            raise UserError(f"<@{user_id}> is the only admin; make someone else admin first.")
        previous = staff.set_role(session, user_id, role, by=request.user_id, now=now)
    if previous == role:
        return CommandReply(f"<@{user_id}> already has the role {role or 'none'}; nothing changed.")
    if role is None:
        text = f"<@{user_id}> is now without a role"
    else:
        text = f"<@{user_id}> is now {ROLE_WORDS[role]}"
    text += f" (was {previous or 'none'})."
    if previous == Role.ADMIN and user_id in ctx.settings.twoway_admins:
        text += " They are listed in TWOWAY_ADMINS, so they become admin again when TwoWay restarts."
    if role is None:
        note = f"<@{request.user_id}> removed your TwoWay role."
    else:
        note = f"<@{request.user_id}> made you {ROLE_WORDS[role]} in TwoWay. `/twoway help` shows what you can do."
    return CommandReply(text, after=lambda: _tell(ctx, user_id, note))


def _cannot_hold_a_role(ctx: Context, user_id: str) -> str | None:
    """Why Slack says `user_id` cannot be given a role; None for an active person.

    A role granted to a mistyped id, an app or a deactivated account is held by nobody, yet an
    admin granted that way counts for the last-admin guard. When Slack cannot be asked, nothing
    is granted: a role is too much to hand out unchecked.
    """
    try:
        verdict = slack_person(ctx, user_id)
    except SlackUnanswered as exc:
        log.warning("role: could not look up %s (%s); nothing granted", user_id, exc)
        return (
            f"I could not ask Slack who `{user_id}` is (`{public(str(exc), 60)}`), so nothing was changed."
            " Try again in a moment."
        )
    if verdict == UNKNOWN:
        return f"Slack has no member `{user_id}`; nothing was changed. Mention them like `@name`."
    if verdict == APP:
        return f"<@{user_id}> is an app, not a person; roles are for members of staff. Nothing was changed."
    if verdict == DEACTIVATED:
        return f"<@{user_id}> has been deactivated in Slack, so they cannot be given a role. Nothing was changed."
    return None


def _tell(ctx: Context, user_id: str, text: str) -> None:
    """A DM after the ack; a refusal is logged, the role change stands."""
    if ctx.slack is None:
        return

    try:
        poster(ctx).chat_postMessage(channel=user_id, text=text)  # retries only 429s: one DM, not two
    except SlackApiError as exc:
        log.warning("could not tell %s about their role: %s", user_id, exc.response.get("error"))
