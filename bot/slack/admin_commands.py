"""The admin side of `/twoway`: help, setup, connect, accounts, pause, resume, role, status.

Handlers only parse, check and change state; the dispatcher has already checked the role on
the server and answers ephemerally. Bad arguments raise `CommandError`, which shows the usage
line and changes nothing.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot import __version__
from bot.commands import REGISTRY, CommandError, CommandReply, CommandRequest, subcommand
from bot.context import Context
from bot.slack import connect, ids
from bot.slack.escape import public
from bot.slack.roles import ROLE_WORDS
from bot.status import (
    CHANNEL_KEY,
    account_label,
    all_accounts,
    cards_not_posted,
    health_line,
    next_poll_overall,
    review_channel,
    unanswered_count,
    when,
)
from storage import settings as stored_settings
from storage import staff
from storage.models import ROLES, Account, Staff

log = logging.getLogger(__name__)

USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
BARE_USER_ID = re.compile(r"^[UW](?=[A-Z0-9]*[0-9])[A-Z0-9]{2,}$")  # Slack ids hold digits: not UNICORN
ROLE_TITLES = {None: "Everyone", "officer": "Officers", "supervisor": "Supervisors", "admin": "Admins"}
INVITE = "Invite me first: `/invite @TwoWay`, then run `/twoway setup` again."


# -- help ------------------------------------------------------------------------------------


@subcommand("help", None, "/twoway help", "what you can do with /twoway")
def help_command(ctx: Context, request: CommandRequest) -> CommandReply:
    with ctx.transaction() as session:
        role = staff.role_of(session, request.user_id)
    lines = [f"*TwoWay {__version__}* · your role: {role or 'none (an admin grants roles)'}"]
    for group in (None, *ROLES):
        commands = sorted((c for c in REGISTRY.values() if c.role == group), key=lambda c: c.name)
        if commands:
            lines.append(f"\n*{ROLE_TITLES[group]}*")
            lines.extend(f"`{c.usage}` · {c.summary}" for c in commands)
    lines.append("\nSupervisors can also do what officers can; admins can do everything.")
    return CommandReply("\n".join(lines))


# -- setup -----------------------------------------------------------------------------------


@subcommand("setup", "admin", "/twoway setup", "make this channel the review channel")
def setup_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise CommandError("`setup` takes no arguments; run it in the channel you want to use.")
    channel = request.channel_id
    if not channel or channel.startswith("D"):
        raise CommandError("Run `/twoway setup` in the channel where cards should go, not in a DM.")
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
        previous = stored_settings.get(session, CHANNEL_KEY)
        stored_settings.put(session, CHANNEL_KEY, channel, request.user_id, ctx.clock.now())
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


@subcommand(
    "connect", "admin", "/twoway connect x|facebook", "connect an X account or a Facebook Page (opens a form)"
)
def connect_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if len(request.args) != 1 or request.args[0].lower() not in connect.PLATFORMS:
        raise CommandError("Say which platform to connect: `x` or `facebook`.")
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
    return CommandReply(f"Opened the form to connect {connect.PLATFORM_TITLES[platform]}.")


# -- accounts and status ---------------------------------------------------------------------


@subcommand("accounts", "supervisor", "/twoway accounts", "connected accounts and their health")
def accounts_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise CommandError("`accounts` takes no arguments.")
    now = ctx.clock.now()
    with ctx.transaction() as session:
        accounts = all_accounts(session)
        lines = [health_line(a, ctx.settings.twoway_poll_seconds, now) for a in accounts]
    lines += _unidentified(ctx)
    if not lines:
        return CommandReply(
            "No accounts are connected yet. An admin connects one with `/twoway connect x`"
            " or `/twoway connect facebook`."
        )
    return CommandReply("*Connected accounts*\n" + "\n".join(f"• {line}" for line in lines))


@subcommand("status", "officer", "/twoway status", "version, channel, account health and the queue")
def status_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if request.args:
        raise CommandError("`status` takes no arguments.")
    now = ctx.clock.now()
    poll_seconds = ctx.settings.twoway_poll_seconds
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        accounts = all_accounts(session)
        health = [health_line(a, poll_seconds, now) for a in accounts]
        unanswered = unanswered_count(session)
        waiting, card_error = cards_not_posted(session)
    health += _unidentified(ctx)
    lines = [f"*TwoWay {__version__}*"]
    if channel:
        source = " (from TWOWAY_CHANNEL)" if ctx.settings.twoway_channel else ""
        lines.append(f"Review channel: <#{channel}>{source}")
    else:
        lines.append("Review channel: not set; an admin runs `/twoway setup` in the channel to use")
    lines.append(f"Unanswered: {unanswered}")
    if waiting:
        why = f"; Slack last said `{public(card_error, 80)}`" if card_error else ""
        lines.append(f"Cards not in the channel yet: {waiting}{why}")
    due = next_poll_overall(accounts, poll_seconds, now)
    lines.append(f"Next poll: {when(due, now) if due else 'none (no enabled account)'}")
    if ctx.settings.scheduler_enabled is False:
        lines.append("This process does not poll (TWOWAY_SCHEDULER=false); another process must.")
    lines.append("*Accounts*" if health else "*Accounts*: none connected")
    lines.extend(f"• {line}" for line in health)
    return CommandReply("\n".join(lines))


def _unidentified(ctx: Context) -> list[str]:
    """Env accounts start-up could not identify: not polled yet, and nobody would know."""
    from bot.accounts import NAMES, unidentified_env_accounts

    return [
        f"{NAMES[platform]} account from the environment: not polled yet, it could not be identified"
        f" ({public(reason, 200)}). TwoWay keeps trying."
        for platform, reason in unidentified_env_accounts(ctx).items()
    ]


# -- pause / resume --------------------------------------------------------------------------


def _pick_accounts(accounts: list[Account], args: tuple[str, ...]) -> list[Account]:
    """`` (all), `x`, `facebook`, `@handle`, `handle` or an account id."""
    if not args:
        return accounts
    if len(args) > 1:
        raise CommandError(
            "Name one account (`@handle` or id), one platform (`x`, `facebook`), or nothing for all."
        )
    wanted = args[0].strip()
    if wanted.lower() in connect.PLATFORMS:
        chosen = [a for a in accounts if a.platform == wanted.lower()]
        if not chosen:
            raise CommandError(f"No {connect.PLATFORM_NAMES[wanted.lower()]} account is connected.")
        return chosen
    if ids.is_number(wanted):
        chosen = [a for a in accounts if a.id == int(wanted)]
    else:
        name = wanted.lstrip("@").lower()
        chosen = [
            a for a in accounts if name and name in (a.handle.lstrip("@").lower(), a.external_id.lower())
        ]
    if not chosen:
        raise CommandError(f"No connected account matches `{public(wanted, 40)}`; see `/twoway accounts`.")
    return chosen


def _set_enabled(ctx: Context, request: CommandRequest, enabled: bool) -> CommandReply:
    from storage import accounts as stored_accounts

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


@subcommand("pause", "admin", "/twoway pause [x|facebook|@handle|id]", "stop polling one account, or all")
def pause_command(ctx: Context, request: CommandRequest) -> CommandReply:
    return _set_enabled(ctx, request, False)


@subcommand("resume", "admin", "/twoway resume [x|facebook|@handle|id]", "start polling again")
def resume_command(ctx: Context, request: CommandRequest) -> CommandReply:
    return _set_enabled(ctx, request, True)


# -- role ------------------------------------------------------------------------------------


def parse_user(token: str) -> str:
    """The user id in `<@U123|name>`, `<@U123>` or `U123`."""
    match = USER_MENTION.match(token)
    if match:
        return match.group(1)
    if BARE_USER_ID.match(token):
        return token
    raise CommandError(f"`{public(token, 40)}` is not a Slack user; mention them like `@name`.")


@subcommand(
    "role", "admin", "/twoway role @user officer|supervisor|admin|none", "grant or remove someone's role"
)
def role_command(ctx: Context, request: CommandRequest) -> CommandReply:
    if len(request.args) != 2:
        raise CommandError("Give one person and one role.")
    user_id = parse_user(request.args[0])
    wanted = request.args[1].lower()
    if wanted not in (*ROLES, "none"):
        raise CommandError(
            f"`{public(request.args[1], 20)}` is not a role: use officer, supervisor, admin or none."
        )
    role = None if wanted == "none" else wanted
    now = ctx.clock.now()
    with ctx.transaction() as session:
        # Lock the admin rows (PostgreSQL; SQLite's write lock already serialises) so two
        # admins demoting each other at once cannot leave the workspace with none.
        admins = list(
            session.scalars(select(Staff.slack_user_id).where(Staff.role == "admin").with_for_update())
        )
        if user_id in admins and role != "admin" and len(admins) == 1:
            raise CommandError(f"<@{user_id}> is the only admin; make someone else admin first.")
        previous = staff.set_role(session, user_id, role, by=request.user_id, now=now)
    if previous == role:
        return CommandReply(f"<@{user_id}> already has the role {role or 'none'}; nothing changed.")
    if role is None:
        text = f"<@{user_id}> is now without a role"
    else:
        text = f"<@{user_id}> is now {ROLE_WORDS[role]}"
    text += f" (was {previous or 'none'})."
    if previous == "admin" and user_id in ctx.settings.twoway_admins:
        text += " They are listed in TWOWAY_ADMINS, so they become admin again when TwoWay restarts."
    if role is None:
        note = f"<@{request.user_id}> removed your TwoWay role."
    else:
        note = f"<@{request.user_id}> made you {ROLE_WORDS[role]} in TwoWay. `/twoway help` shows what you can do."
    return CommandReply(text, after=lambda: _tell(ctx, user_id, note))


def _tell(ctx: Context, user_id: str, text: str) -> None:
    """A DM after the ack; a refusal is logged, the role change stands."""
    if ctx.slack is None:
        return
    from bot.supervision_slack import posting_client  # retries only 429s: one DM, not two

    try:
        posting_client(ctx).chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.warning("could not tell %s about their role: %s", user_id, exc.response.get("error"))
