"""The `/twoway` slash command: parse, check the role on the server, run, answer ephemerally.

The subcommand's handler runs before the ack, because some open a modal whose trigger id dies
after 3 seconds; its reply is the ack body (ephemeral). Slow follow-up work
(`CommandReply.after`) runs after the ack. Unknown subcommands and bad arguments get the usage
and change nothing.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from slack_bolt import Ack, App

from bot.commands import COMMAND_MODULES, REGISTRY, CommandError, CommandReply, CommandRequest, Subcommand
from bot.context import Context
from bot.slack.app import after_ack, user_message
from bot.slack.escape import public
from bot.slack.roles import Refused, role_message
from storage import staff

log = logging.getLogger(__name__)

COMMAND = "/twoway"
DEFAULT = "help"


def load_commands() -> dict[str, Subcommand]:
    """`bot.commands.load_all()`, except that a feature module not installed yet is skipped."""
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            log.warning("subcommand module %s is not installed; its subcommands are off", name)
    return REGISTRY


def parse(text: str) -> tuple[str, str, tuple[str, ...]]:
    """(subcommand, the rest of the text, the rest split on whitespace)."""
    stripped = (text or "").strip()
    if not stripped:
        return DEFAULT, "", ()
    name, *others = stripped.split(None, 1)  # any whitespace: a newline, a tab, a no-break space
    rest = others[0].strip() if others else ""
    return name.lower(), rest, tuple(rest.split())


def usage_list(registry: dict[str, Subcommand]) -> str:
    return "\n".join(f"`{c.usage}` · {c.summary}" for c in sorted(registry.values(), key=lambda c: c.name))


def run_command(ctx: Context, body: dict[str, Any]) -> CommandReply:
    """Everything but the transport: usable from Socket Mode, HTTP and tests alike."""
    registry = load_commands()
    name, rest, args = parse(str(body.get("text") or ""))
    user = str(body.get("user_id") or "")
    command = registry.get(name)
    if command is None:
        return CommandReply(
            f"Unknown subcommand `{public(name, 40)}`. Nothing was changed. Usage:\n{usage_list(registry)}"
        )
    if command.role is not None:
        with ctx.transaction() as session:
            if not staff.has_role(session, user, command.role):
                return CommandReply(role_message(session, command.role, f"use `/twoway {command.name}`"))
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
    except (CommandError, Refused) as exc:
        return CommandReply(f"{exc}\nUsage: `{command.usage}`")


def register(app: App, ctx: Context) -> None:
    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        try:
            reply = run_command(ctx, body)
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
