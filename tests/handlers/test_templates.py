"""Template placeholders, validation, rendering and the shipped default pack."""

from __future__ import annotations

import re

import pytest

from connectors import registry
from handlers.templates import (
    TEMPLATE_CATEGORIES,
    URGENT_LEAD,
    TemplateError,
    author_variables,
    default_pack,
    parse_pack,
    render,
    validate_template,
)
from handlers.text import x_weighted_length

FULL = {
    "agency_name": "Springfield Police",
    "phone": "(555) 010-2000",
    "website": "https://springfield.example.gov",
    "records_url": "https://springfield.example.gov/records",
    "author_handle": "@jane",
    "author_name": "Jane",
}


@pytest.mark.parametrize(
    "text",
    [
        "Thank you!",
        "Call {phone} or visit {website}.",
        "{author_handle} thanks from all of us at {agency_name}",
        "Records: {records_url}. Hi {author_name}!",
        "{phone}{phone}",
    ],
)
def test_valid_templates_are_accepted(text: str) -> None:
    validate_template(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Call {phone_number}", "unknown placeholder `{phone_number}`"),
        ("Hi {name}", "unknown placeholder `{name}`"),
        ("Hi {Author_Name}", "`{Author_Name}` is not a placeholder"),
        ("Hi { phone }", "`{ phone }` is not a placeholder"),
        ("Hi {}", "`{}` is not a placeholder"),
        ("Call {phone", "braces"),
        ("Call phone}", "braces"),
        ("Call {{phone}}", "braces"),
        ("Call {phone} {", "braces"),
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 2001, "longer than"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        validate_template(text)


@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        ("Call {phone}.", FULL, "Call (555) 010-2000."),
        ("{author_handle} thanks!", FULL, "@jane thanks!"),
        ("No placeholders.", {}, "No placeholders."),
        # A missing, empty or blank value means no draft at all, never a half-filled one.
        ("Call {phone} or visit {website}.", {"phone": "555"}, None),
        ("Call {phone}.", {"phone": ""}, None),
        ("Call {phone}.", {"phone": "   "}, None),
        ("Hi {author_name}, call {phone}.", {"phone": "555"}, None),
        # Values are inserted once, never read as placeholders themselves.
        ("Hi {author_name}", {"author_name": "{phone}"}, "Hi {phone}"),
        ("Hi {author_name}", {"author_name": r"\1 \g<0>"}, r"Hi \1 \g<0>"),
    ],
)
def test_render(template: str, variables: dict[str, str], expected: str | None) -> None:
    assert render(template, variables) == expected


@pytest.mark.parametrize(
    ("platform", "handle", "name", "expected"),
    [
        ("x", "jane", "Jane D", {"author_handle": "@jane", "author_name": "Jane D"}),
        ("x", "@jane", "", {"author_handle": "@jane", "author_name": ""}),
        ("x", "", "Jane", {"author_handle": "", "author_name": "Jane"}),
        ("facebook", "jane.doe", "Jane Doe", {"author_handle": "jane.doe", "author_name": "Jane Doe"}),
    ],
)
def test_author_variables(platform: str, handle: str, name: str, expected: dict[str, str]) -> None:
    assert author_variables(registry.spec(platform).rules, handle, name) == expected


def test_default_pack_covers_every_category_with_several_templates() -> None:
    pack = default_pack()
    for category in TEMPLATE_CATEGORIES:
        generic = [t for t in pack if t.category == category and not t.hints]
        assert len(generic) >= 2, category  # offered whatever the post says
    assert len({t.key for t in pack}) == len(pack)
    assert all(t.key.startswith(t.category + ".") for t in pack)


def test_default_pack_renders_within_the_x_limit() -> None:
    for spec in default_pack():
        text = render(spec.text, FULL)
        assert text is not None
        assert x_weighted_length(text) <= 280, spec.key


def test_default_pack_tone_per_category() -> None:
    """Compliments thank, criticism never thanks and offers a direct channel, urgent leads with 911."""
    pack = default_pack()
    for spec in pack:
        lowered = spec.text.lower()
        if spec.category == "compliment":
            assert "thank" in lowered, spec.key
        if spec.category == "criticism":
            assert "thank" not in lowered, spec.key
            assert "appreciate" not in lowered, spec.key
            assert "direct message" in lowered or "{phone}" in lowered, spec.key
        if spec.category == "urgent":
            assert spec.text.startswith(URGENT_LEAD), spec.key
        if spec.category == "question":
            assert any(p in spec.text for p in ("{website}", "{phone}", "{records_url}", "direct message"))
    compliment_openings = {t.text.split(".")[0] for t in pack if t.category == "compliment"}
    assert len(compliment_openings) == len([t for t in pack if t.category == "compliment"])


def test_default_pack_never_promises_what_it_cannot_know() -> None:
    for spec in default_pack():
        lowered = spec.text.lower()
        for promise in (
            "on the way",
            "on their way",
            "has been dispatched",
            "will be arrested",
            "case number",
        ):
            assert promise not in lowered, spec.key


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "templates"),
        ({"templates": [{"key": "compliment.a", "category": "compliment", "text": "Hi {nope}"}]}, "{nope}"),
        ({"templates": [{"key": "urgent.a", "category": "urgent", "text": "Call us."}]}, "must start"),
        ({"templates": [{"key": "other.a", "category": "compliment", "text": "Hi"}]}, "category"),
        (
            {
                "templates": [
                    {"key": "other.a", "category": "other", "text": "Hi"},
                    {"key": "other.a", "category": "other", "text": "Hello"},
                ]
            },
            "repeated",
        ),
    ],
)
def test_broken_packs_are_refused(raw: object, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        parse_pack(raw)
