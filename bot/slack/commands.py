"""The `/twoway` slash command: a registry of subcommands and the listener that dispatches them.

Each feature keeps its own `Commands` and decorates its handlers with `@COMMANDS.command(...)`;
`bot.app` joins them into the one registry the listener uses, so the set of subcommands is read
in one place. The listener parses the text, checks the role on the server and calls the handler
before the ack (some open a modal whose trigger id dies after 3 seconds); the handler's reply is
the ack body (ephemeral), and slow follow-up work (`CommandReply.after`) runs after the ack.
Handlers raise `UserError` for bad arguments: the user gets the message and the usage line, and
nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App

from bot import __version__
from bot.core.context import Context
from bot.core.errors import UserError
from bot.slack.app import after_ack, user_message
from bot.slack.escape import public
from bot.slack.roles import require
from storage import staff
from storage.models import ROLES, Role

log = logging.getLogger(__name__)

COMMAND = "/twoway"
DEFAULT = "help"
ROLE_TITLES = {
    None: "Everyone",
    Role.OFFICER: "Officers",
    Role.SUPERVISOR: "Supervisors",
    Role.ADMIN: "Admins",
}


@dataclass(frozen=True)
class CommandRequest:
    user_id: str
    channel_id: str
    text: str  # everything after the subcommand name
    args: tuple[str, ...]  # `text` split on whitespace
    trigger_id: str = ""
    response_url: str = ""
    team_id: str = ""


@dataclass
class CommandReply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    # Work to run after Slack has been answered (slow calls: DMs, uploads, platform checks).
    after: Callable[[], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Context, CommandRequest], CommandReply]


@dataclass(frozen=True)
class Subcommand:
    name: str
    role: Role | None  # None: anyone
    usage: str  # e.g. "/twoway role @user officer|supervisor|admin|none"
    summary: str
    handler: Handler


class Commands:
    """Subcommands by name. A feature's own set, or the registry `bot.app` joins from them."""

    def __init__(self, *parts: Commands) -> None:
        self._by_name: dict[str, Subcommand] = {}
        for part in parts:
            for command in part.values():
                self.add(command)

    def command(self, name: str, role: Role | None, usage: str, summary: str) -> Callable[[Handler], Handler]:
        """Register the decorated handler as `/twoway NAME`, usable by `role` and stronger roles."""

        def register(handler: Handler) -> Handler:
            self.add(Subcommand(name, role, usage, summary, handler))
            return handler

        return register

    def add(self, command: Subcommand) -> None:
        if command.name in self._by_name:
            raise RuntimeError(f"/twoway {command.name} is registered twice")
        self._by_name[command.name] = command

    def remove(self, name: str) -> None:
        self._by_name.pop(name, None)

    def get(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Subcommand:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def values(self) -> list[Subcommand]:
        return list(self._by_name.values())


def registry(*parts: Commands) -> Commands:
    """Every feature's subcommands, plus `help`, which lists them."""
    joined = Commands(*parts)

    def help_command(ctx: Context, request: CommandRequest) -> CommandReply:
        if request.args:  # `/twoway help assign`: that command's usage
            asked = joined.get(request.args[0].lower()) if len(request.args) == 1 else None
            if asked is None:
                return CommandReply(
                    "Usage: `/twoway help` or `/twoway help COMMAND`, e.g. `/twoway help assign`."
                )
            who = ROLE_TITLES[asked.role].lower()
            return CommandReply(f"`{asked.usage}` · {asked.summary} ({who})")
        with ctx.transaction() as session:
            role = staff.role_of(session, request.user_id)
        lines = [f"*TwoWay {__version__}* · your role: {role or 'none (an admin grants roles)'}"]
        for group in (None, *ROLES):
            commands = sorted((c for c in joined.values() if c.role == group), key=lambda c: c.name)
            if commands:
                lines.append(f"\n*{ROLE_TITLES[group]}*")
                lines.extend(f"`{c.usage}` · {c.summary}" for c in commands)
        lines.append("\nSupervisors can also do what officers can; admins can do everything.")
        return CommandReply("\n".join(lines))

    joined.command("help", None, "/twoway help [COMMAND]", "what you can do with /twoway")(help_command)
    return joined


# -- dispatch ----------------------------------------------------------------------------------


def parse(text: str) -> tuple[str, str, tuple[str, ...]]:
    """(subcommand, the rest of the text, the rest split on whitespace)."""
    stripped = (text or "").strip()
    if not stripped:
        return DEFAULT, "", ()
    name, *others = stripped.split(None, 1)  # any whitespace: a newline, a tab, a no-break space
    rest = others[0].strip() if others else ""
    return name.lower(), rest, tuple(rest.split())


def usage_list(commands: Commands) -> str:
    return "\n".join(f"`{c.usage}` · {c.summary}" for c in sorted(commands.values(), key=lambda c: c.name))


def run_command(ctx: Context, commands: Commands, body: dict[str, Any]) -> CommandReply:
    """Everything but the transport: usable from Socket Mode, HTTP and tests alike."""
    name, rest, args = parse(str(body.get("text") or ""))
    user = str(body.get("user_id") or "")
    command = commands.get(name)
    if command is None:
        return CommandReply(
            f"Unknown subcommand `{public(name, 40)}`. Nothing was changed. Usage:\n{usage_list(commands)}"
        )
    if command.role is not None:
        try:
            with ctx.transaction() as session:
                require(session, user, command.role, f"use `/twoway {command.name}`")
        except UserError as exc:
            return CommandReply(str(exc))
    request = CommandRequest(
        user_id=user,
        channel_id=str(body.get("channel_id") or ""),
        text=rest,
        args=args,
        trigger_id=str(body.get("trigger_id") or ""),
        response_url=str(body.get("response_url") or ""),
        team_id=str(body.get("team_id") or ""),
    )
    try:
        return command.handler(ctx, request)
    except UserError as exc:
        return CommandReply(f"{exc}\nUsage: `{command.usage}`")


def register(app: App, ctx: Context, commands: Commands) -> None:
    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        try:
            reply = run_command(ctx, commands, body)
        except Exception as exc:
            log.exception("/twoway failed")
            ack(response_type="ephemeral", text=user_message(exc))
            return
        answer: dict[str, Any] = {"response_type": "ephemeral", "text": reply.text[:3900]}
        if reply.blocks:
            answer["blocks"] = reply.blocks
        ack(**answer)
        if reply.after is not None:
            after_ack(ctx, reply.after)

    app.command(COMMAND)(on_command)
