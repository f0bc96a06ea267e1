"""Public text can never become a live Slack mention, link or broadcast."""

from __future__ import annotations

import pytest

from bot.slack.escape import cut, public


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel> help", "&lt;!channel&gt; help"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("hi <@U123ABC>", "hi &lt;@U123ABC&gt;"),
        (
            "<http://evil.example|Click for your case status>",
            "&lt;http://evil.example|Click for your case status&gt;",
        ),
        ("Fish & chips", "Fish &amp; chips"),
        ("&lt;already escaped&gt;", "&amp;lt;already escaped&amp;gt;"),
        ("@channel look", "@\u2060channel look"),
        ("@Here now", "@\u2060Here now"),
        ("email me@everyone.org", "email me@\u2060everyone.org"),
        ("bell\x07 and nul\x00 removed", "bell and nul removed"),
        ("rtl \u202eoverride", "rtl override"),
        ("", ""),
    ],
)
def test_public_text_is_inert(raw: str, shown: str) -> None:
    assert public(raw) == shown


def test_none_becomes_empty() -> None:
    assert public(None) == ""


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("a long sentence here", 10, "a long se…"),
        ("cafe\u0301 au lait", 5, "caf…"),  # the e is not split from its accent
    ],
)
def test_cut_respects_limits_and_characters(text: str, limit: int, expected: str) -> None:
    assert cut(text, limit) == expected
    assert len(cut(text, limit)) <= limit


def test_limit_applies_before_escaping_and_never_leaves_half_an_entity() -> None:
    shown = public("<" * 50, limit=10)
    assert shown.count("&lt;") == 9
    assert shown.endswith("…")
