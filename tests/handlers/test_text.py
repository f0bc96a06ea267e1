"""Reply length as X and Facebook count it."""

from __future__ import annotations

import pytest

from connectors.registry import spec
from handlers.text import (
    fits,
    grapheme_length,
    length_on,
    urls,
    visible,
    without_controls,
    x_weighted_length,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Thanks for reaching out!", 24),
        ("a" * 280, 280),
        # Every URL counts 23, however long or short.
        ("https://www.example.gov/records/requests/police-reports?type=collision&year=2026", 23),
        ("x.com", 23),
        ("Request it at https://example.gov/records.", 14 + 23 + 1),
        ("See example.org/path and http://a.co", 4 + 23 + 5 + 23),
        ("Email records@example.gov", 25),  # an address is not a link
        # Light ranges: Latin, accents, Cyrillic, Hebrew weigh 1; typographic quotes and dashes too.
        ("café", 4),
        ("Привет", 6),
        ("שלום", 4),
        ("“quoted” – dash", 15),
        ("wait…", 6),  # U+2026 is outside the light ranges
        # CJK and other heavy scripts weigh 2 per code point.
        ("警察", 4),
        ("감사합니다", 10),
        ("ありがとう", 10),
        # Emoji: one sequence weighs 2, whatever it is built of.
        ("👍", 2),
        ("👍🏽", 2),
        ("👨\u200d👩\u200d👧\u200d👦", 2),
        ("🇺🇸", 2),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),
        ("❤️", 2),
        ("1️⃣", 2),
        ("Thank you 🙏🙏", 14),
        # NFC first: e + combining acute is one light character; a mark with no precomposed form is 2.
        ("e\u0301", 1),
        ("q\u0303", 2),
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Go to https://example.gov/a.", ["https://example.gov/a"]),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar))", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("visit www.example.org!", ["www.example.org"]),
        ("no links here, just a sentence.", []),
        ("name@example.com", []),
    ],
)
def test_urls_drop_trailing_punctuation(text: str, found: list[str]) -> None:
    assert urls(text) == found


@pytest.mark.parametrize(
    ("text", "platform", "ok"),
    [
        ("a" * 280, "x", True),
        ("a" * 281, "x", False),
        ("警" * 140, "x", True),
        ("警" * 141, "x", False),
        ("a" * 257 + " https://example.gov/" + "a" * 200, "x", False),
        ("a" * 256 + " https://example.gov/" + "a" * 200, "x", True),
        ("a" * 8000, "facebook", True),
        ("a" * 8001, "facebook", False),
        ("   ", "x", False),
    ],
)
def test_fits(text: str, platform: str, ok: bool) -> None:
    assert fits(text, spec(platform).rules) is ok


def test_limits_and_unknown_platform() -> None:
    assert (spec("x").rules.limit, spec("facebook").rules.limit) == (280, 8000)
    with pytest.raises(KeyError):
        spec("myspace")


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("hello", 5),
        ("e\u0301", 1),  # e + combining acute
        ("👍🏽", 1),  # thumbs up with a skin tone
        ("👨‍👩‍👧‍👦", 1),  # a family joined by zero-width joiners
        ("🇺🇸🇨🇦", 2),  # two flags, each a pair of regional indicators
        ("❤️ ok", 4),  # heart with a presentation selector, a space, two letters
        ("किताब", 3),  # Hindi: spacing vowel signs join their consonant (Bluesky counts 3, not 5)
        ("ก่อน", 3),  # Thai: a tone mark joins its consonant
        ("a\u200db", 2),  # a joiner between two letters joins nothing
    ],
)
def test_graphemes_are_what_a_reader_counts(text: str, graphemes: int) -> None:
    assert grapheme_length(text) == graphemes


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("a" * 500, 500),
        ("a" * 495 + "🚓" * 5, 515),  # Meta: "Emojis are counted as the number of UTF-8 bytes"
        ("👍🏽 thanks", 15),  # an emoji with a skin tone: 8 bytes, then 7 characters
        ("¡Gracias!", 9),  # accented letters are one each
    ],
)
def test_threads_counts_an_emoji_as_its_utf8_bytes(text: str, counted: int) -> None:
    rules = spec("threads").rules
    assert length_on(text, rules) == counted
    assert fits(text, rules) == (counted <= 500)


@pytest.mark.parametrize(
    ("text", "shows"),
    [
        ("ok", True),
        (" \u200bé", True),
        ("🙏", True),
        ("", False),
        (" \n\t", False),
        ("\u200b\u200c\u200d\u2060\ufeff", False),  # zero-width spaces, joiners, word joiner, BOM
        ("\u202e\u202c\u200e", False),  # bidi controls
        ("\u3164\u115f\u1160\uffa0\u2800", False),  # Hangul fillers, braille blank
        ("\x00\x1b", False),
        ("\ufe0f\U000e0100", False),  # variation selectors
        ("\u034f\u17b5", False),  # the grapheme joiner, a Khmer inherent vowel
        ("\u0301\u0301", False),  # accents with nothing to sit on
        ("e\u0301", True),
    ],
)
def test_visible_sees_only_what_a_reader_sees(text: str, shows: bool) -> None:
    assert visible(text) is shows


def test_without_controls_keeps_line_breaks_tabs_and_every_visible_character() -> None:
    assert without_controls("a\x00b\r\nc\td\x1b\x7f\u0085é") == "ab\nc\tdé"
