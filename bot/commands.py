"""The `/twoway` subcommands, independent of Slack's transport.

Each feature module registers its subcommands here with `@subcommand`; the Slack listener parses
the text, checks the role on the server and calls the handler. Handlers raise `CommandError`
for bad arguments: the user gets the message and the usage line, and nothing changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.context import Context

# Modules that register subcommands; imported once by `load_all()`.
COMMAND_MODULES = (
    "bot.slack.admin_commands",  # help, setup, connect, accounts, pause, resume, role, status
    "bot.content_commands",  # template, faq, set
    "bot.supervision_commands",  # assign, queue, sla, report, export
)


class CommandError(Exception):
    """Bad arguments or a refused request, worded for the person who typed the command."""


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
    role: str | None  # officer | supervisor | admin; None: anyone
    usage: str  # e.g. "/twoway role @user officer|supervisor|admin|none"
    summary: str
    handler: Handler


REGISTRY: dict[str, Subcommand] = {}


def subcommand(name: str, role: str | None, usage: str, summary: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"/twoway {name} is registered twice")
        REGISTRY[name] = Subcommand(name, role, usage, summary, handler)
        return handler

    return register


def load_all() -> dict[str, Subcommand]:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    return REGISTRY
