"""Every platform TwoWay speaks, by name. Adding one is its connector module and a line here."""

from __future__ import annotations

from connectors import bluesky, facebook, instagram, threads, x
from connectors.base import PlatformSpec

PLATFORMS: dict[str, PlatformSpec] = {
    spec.name: spec for spec in (x.SPEC, facebook.SPEC, instagram.SPEC, threads.SPEC, bluesky.SPEC)
}


def spec(name: str) -> PlatformSpec:
    """The platform called `name`; KeyError for a name no connector has."""
    return PLATFORMS[name]


def title(name: str) -> str:
    """`X`, `Facebook`: a stored platform name as people read it (the name itself if unknown)."""
    found = PLATFORMS.get(name)
    return found.title if found else name.title()


def names() -> tuple[str, ...]:
    return tuple(PLATFORMS)


def listed(separator: str = "|") -> str:
    """`x|facebook|...` for usage lines."""
    return separator.join(PLATFORMS)
