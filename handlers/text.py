"""How long a reply is in the eyes of each platform.

X counts "weighted" characters (twitter-text v3): most Latin, Greek, Cyrillic and Hebrew code
points weigh 1, everything else (CJK, most symbols) weighs 2, every URL weighs 23 whatever its
length, and an emoji sequence (flags, skin tones, ZWJ families) weighs 2 in total. The text is
NFC-normalised first, so "e" + combining acute counts like "é". Bluesky counts graphemes (what a
reader sees as one character: an emoji family, a flag, a letter with its accents). The others
count plain characters. Which counting a platform uses is in its connector's `ReplyRules`.
"""

from __future__ import annotations

import re
import unicodedata

import regex

from domain import ReplyRules

URL_WEIGHT = 23
EMOJI_WEIGHT = 2

# Code points outside the ranges that weigh 1 on X (U+0000-10FF, U+2000-200D, U+2010-201F,
# U+2032-2037); each of them weighs 2.
_HEAVY = re.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")

# Top-level domains recognised without "http://": the common generic ones, US government and
# education, and the country codes people in the US actually type.
_TLDS = (
    "com|org|net|gov|edu|mil|int|info|biz|io|co|us|app|dev|ai|me|tv|ly|gl|news|online|site|xyz|"
    "page|link|city|county|law|help|live|media|social|community|uk|ca|au|de|fr|mx|nz|ie|in|eu"
)
_URL = re.compile(
    r"(?<![\w@#$./-])"
    r"(?:https?://[^\s<>\"]+"
    r"|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:"
    + _TLDS
    + r")(?![a-z0-9-])(?::\d{1,5})?(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\""

# An emoji: a pictographic base (or a keycap, flag pair or tag flag), with optional
# presentation selector and skin tone, joined to more of the same by zero-width joiners.
_PICTO = (
    r"[\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf\u23e9-\u23f3"
    r"\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
    r"\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)
_ELEMENT = (
    r"(?:[\U0001f1e6-\U0001f1ff]{2}"
    r"|[0-9#*]\ufe0f?\u20e3"
    r"|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    r"|[\u00a9\u00ae]\ufe0f"
    r"|" + _PICTO + r"[\ufe0e\ufe0f]?[\U0001f3fb-\U0001f3ff]?)"
)
_EMOJI = re.compile(_ELEMENT + r"(?:\u200d" + _ELEMENT + r")*")
_GRAPHEME = regex.compile(r"\X")


def _weight(text: str) -> int:
    """Code-point weights: 1 each, plus 1 more for every code point outside the light ranges."""
    return len(text) + len(_HEAVY.findall(text))


def _plain_weight(text: str) -> int:
    total = _weight(text)
    for emoji in _EMOJI.finditer(text):
        total += EMOJI_WEIGHT - _weight(emoji.group())
    return total


def urls(text: str) -> list[str]:
    """The URLs X would count in `text`, without trailing sentence punctuation."""
    return [_strip_trailing(m.group()) for m in _URL.finditer(text)]


def _strip_trailing(url: str) -> str:
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def x_weighted_length(text: str) -> int:
    """The length X counts against its 280 limit."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in _URL.finditer(text):
        url = _strip_trailing(match.group())
        total += _plain_weight(text[position : match.start()]) + URL_WEIGHT
        position = match.start() + len(url)
    return total + _plain_weight(text[position:])


def grapheme_length(text: str) -> int:
    """Extended grapheme clusters (UAX #29), as Bluesky counts them against its 300 limit: a
    Hindi syllable with its vowel signs, a flag or a family emoji is one."""
    return len(_GRAPHEME.findall(unicodedata.normalize("NFC", text)))


def emoji_bytes_length(text: str) -> int:
    """Characters, each emoji counted as its UTF-8 bytes, as Threads counts its 500 limit
    (Meta: "Emojis are counted as the number of UTF-8 bytes"): "🚓" is 4."""
    total = len(text)
    for emoji in _EMOJI.finditer(text):
        total += len(emoji.group().encode("utf-8")) - len(emoji.group())
    return total


def length_on(text: str, rules: ReplyRules) -> int:
    """The length the platform whose `rules` these are counts for `text`."""
    if rules.counting == "x_weighted":
        return x_weighted_length(text)
    if rules.counting == "graphemes":
        return grapheme_length(text)
    if rules.counting == "emoji_bytes":
        return emoji_bytes_length(text)
    return len(text)


def fits(text: str, rules: ReplyRules) -> bool:
    """True when `text` shows something and is not longer than the platform accepts."""
    return visible(text) and length_on(text, rules) <= rules.limit


# Code points that draw nothing although `str.strip` keeps them: the Hangul fillers and the braille
# blank (category Lo / So), besides the categories in _UNSEEN.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format and control characters, and marks that only change the character before them (variation
# selectors, combining accents, the grapheme joiner): alone they show nothing.
_UNSEEN = frozenset({"Cf", "Cc", "Mn", "Me"})


def visible(text: str) -> bool:
    """True when `text` shows at least one character a reader can see.

    A reply or template of zero-width spaces passes `strip()` yet publishes an empty-looking post
    (and marks the item answered), so what is published is checked with this instead.
    """
    return any(
        not char.isspace() and char not in _BLANK_LETTERS and unicodedata.category(char) not in _UNSEEN
        for char in text
    )


def without_controls(text: str) -> str:
    """`text` without control characters (NUL, escape, …) except line breaks and tabs.

    They never belong in a public post and some platforms refuse or mangle them; CRLF becomes LF.
    """
    text = text.replace("\r\n", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
