"""Reply templates: placeholders, validation, rendering and the shipped default pack.

A template only ever says what the agency knows: its name, its non-emergency number, its
website and its records-request page, and who it is answering. Anything else would be a fact
the template invents, so those are the only placeholders. A draft whose placeholder has no value
is never offered half-filled: `render` returns None and the draft is left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain import ReplyRules

PLACEHOLDERS: dict[str, str] = {
    "agency_name": "the agency's name",
    "author_handle": "the author's handle (with @ on X)",
    "author_name": "the author's display name",
    "phone": "the non-emergency number",
    "website": "the agency's website",
    "records_url": "the records-request page",
}
# What `/twoway set` stores for each agency placeholder (the others come from the mention).
AGENCY_VARIABLES = ("agency_name", "phone", "website", "records_url")
TEMPLATE_CATEGORIES = ("compliment", "question", "criticism", "other", "urgent", "statement", "pinned")
# A storm's summary card drafts one public statement and one pinned reply: they answer everyone,
# so they may use the agency's placeholders only.
STORM_CATEGORIES = ("statement", "pinned")
URGENT_LEAD = "If this is an emergency, call 911 now."

# Words of thanks or praise addressed to the author ("thank you", "kind words", "made our day").
THANKS = re.compile(
    r"\b(?:thank|thanks|thankful|grateful|appreciat\w*|kind words|made our day|means a lot|"
    r"proud of you|great question|good question)\b",
    re.IGNORECASE,
)


def thanks_author(draft: str) -> bool:
    """Whether a draft thanks or praises the person it answers."""
    return bool(THANKS.search(draft))


MAX_TEMPLATE_LENGTH = 2000

_TOKEN = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[a-z_]+")


class TemplateError(ValueError):
    """A template that cannot be saved, worded for the admin who wrote it."""


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template as drafting sees it.

    `hints` are words or phrases of which at least one must appear in the mention for the
    template to be offered; they keep specific wording ("our dispatchers") for posts that
    are about that thing. An empty `hints` means the template suits any post of its category.
    An `exclusive` template, when its hints match, replaces the generic ones: a post remembering
    a fallen officer must not get "This made our day".
    """

    key: str
    category: str
    text: str
    hints: tuple[str, ...] = ()
    exclusive: bool = False


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in `text`, in order of first use."""
    seen: list[str] = []
    for name in _TOKEN.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


def validate_template(text: str) -> None:
    """Refuse empty text, unknown placeholders and braces that are not a placeholder."""
    if not text.strip():
        raise TemplateError("the template text is empty")
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(f"the template is longer than {MAX_TEMPLATE_LENGTH} characters")
    for name in _TOKEN.findall(text):
        if not _NAME.fullmatch(name):
            raise TemplateError(f"`{{{name}}}` is not a placeholder; known ones: {known_placeholders()}")
        if name not in PLACEHOLDERS:
            raise TemplateError(f"unknown placeholder `{{{name}}}`; known ones: {known_placeholders()}")
    leftover = _TOKEN.sub("", text)
    if "{" in leftover or "}" in leftover:
        raise TemplateError("a `{` or `}` is not part of a placeholder such as `{phone}`; check the braces")


def validate_for_everyone(text: str) -> None:
    """A statement or pinned reply answers everyone: no placeholder about one author."""
    personal = [name for name in placeholders_in(text) if name not in AGENCY_VARIABLES]
    if personal:
        named = ", ".join(f"`{{{name}}}`" for name in personal)
        raise TemplateError(f"a statement or pinned reply answers everyone, so it cannot use {named}")


def known_placeholders() -> str:
    return ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)


def render(template: str, variables: Mapping[str, str]) -> str | None:
    """Fill every placeholder in one pass, or None when any used one has no value.

    Values are inserted as they are: a value that itself looks like `{phone}` stays literal.
    """
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = (variables.get(match.group(1)) or "").strip()
        if not value:
            missing = True
        return value

    text = _TOKEN.sub(fill, template)
    return None if missing else text


def author_variables(rules: ReplyRules, handle: str, name: str) -> dict[str, str]:
    """The per-mention placeholders: the handle written as the platform writes it (`@jane`)."""
    handle = handle.strip().lstrip("@")
    if handle and rules.handle_prefix:
        handle = rules.handle_prefix + handle
    return {"author_handle": handle, "author_name": name.strip()}


@cache
def default_pack() -> tuple[TemplateSpec, ...]:
    """The shipped templates (handlers/data/templates.json), validated once."""
    raw = json.loads(resources.files("handlers").joinpath("data/templates.json").read_text("utf-8"))
    return parse_pack(raw)


def parse_pack(raw: object) -> tuple[TemplateSpec, ...]:
    if not isinstance(raw, dict) or not isinstance(raw.get("templates"), list):
        raise TemplateError('a template pack is {"templates": [...]}')
    specs: list[TemplateSpec] = []
    keys: set[str] = set()
    items: Sequence[object] = raw["templates"]
    for item in items:
        if not isinstance(item, dict):
            raise TemplateError("each template is an object")
        key, category, text = str(item.get("key", "")), str(item.get("category", "")), item.get("text")
        hints = item.get("hints", [])
        if not key or key in keys:
            raise TemplateError(f"template key {key!r} is missing or repeated")
        if category not in TEMPLATE_CATEGORIES or not key.startswith(category + "."):
            raise TemplateError(f"template {key!r} has category {category!r}")
        if not isinstance(text, str) or not isinstance(hints, list):
            raise TemplateError(f"template {key!r} needs a text and a list of hints")
        validate_template(text)
        if category == "urgent" and not text.startswith(URGENT_LEAD):
            raise TemplateError(f"urgent template {key!r} must start with {URGENT_LEAD!r}")
        if category in STORM_CATEGORIES:
            validate_for_everyone(text)
        keys.add(key)
        exclusive = item.get("exclusive", False) is True
        if exclusive and not hints:
            raise TemplateError(f"exclusive template {key!r} needs hints")
        specs.append(TemplateSpec(key, category, text, tuple(str(h).lower() for h in hints), exclusive))
    return tuple(specs)


def shipped(key: str | None, category: str, text: str, fallback_key: str) -> TemplateSpec:
    """A template row read back from the database, with the hints the shipped pack gives its key."""
    known = {spec.key: spec for spec in default_pack()}.get(key or "")
    if known is None:
        return TemplateSpec(key or fallback_key, category, text)
    return TemplateSpec(known.key, category, text, known.hints, known.exclusive)
