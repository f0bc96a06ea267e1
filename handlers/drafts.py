"""Suggested replies for one mention: at most three, never inventing a fact.

Every draft comes from text the agency approved: a template, an FAQ answer, or a reply it sent
before to a similar post. The order follows what a public information officer needs first:

- urgent posts: every draft starts with "If this is an emergency, call 911 now.", the first one
  is an urgent template, criticism is still acknowledged in the second, and no draft thanks
  anyone for praise;
- questions and other posts: the matching FAQ answer, then an earlier reply, then templates;
- criticism: an acknowledgement template first (an FAQ answer alone reads as a brush-off), then
  an earlier reply and the FAQ answer;
- compliments: an earlier reply, then thank-you templates, the ones whose hints match first.
  When the classifier is unsure (`handlers.classifier.unsure`) or also saw a fair chance of
  criticism, drafts stay neutral, as for "other": thanking an angry post is the worst mistake a
  reply can make. Only compliment templates thank anyone.
- a post that may report an emergency without being flagged (`urgent_reason` set with `urgent`
  False, see `handlers.urgency.may_be_emergency`) gets the 911 line in front of every draft too:
  the line costs little on a post that turns out to be nothing, and a missing one on a real
  emergency could cost a life.

A draft that does not fit the platform is cut at a sentence boundary or left out, never cut
mid-word. The choice among equal templates rotates with a hash of the mention text, so cards
vary while the same mention always gets the same drafts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import domain
from handlers.classifier import unsure
from handlers.faq import FAQ_THRESHOLD, FaqEntry, FaqIndex
from handlers.templates import (
    AGENCY_VARIABLES,
    URGENT_LEAD,
    TemplateSpec,
    author_variables,
    render,
    thanks_author,
)
from handlers.text import fits, urls
from handlers.textmatch import TextIndex

MAX_DRAFTS = 3
HISTORY_THRESHOLD = 0.6  # an earlier reply is reused only for a close match
TORN_CRITICISM = 0.35  # a "compliment" with this much criticism gets neutral drafts
MATCH_EXCERPT = 200

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_LEADING_HANDLES = re.compile(r"^(?:\s*@\w+[,:]?)+\s*")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PastReply:
    """A reply the agency sent, with the post it answered."""

    id: int
    text: str
    mention_text: str
    category: str
    author_handle: str = ""
    author_name: str = ""
    mention_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    source: domain.DraftSource
    key: str
    match: str | None = None
    score: float | None = None
    shorten: bool = False  # FAQ answers and earlier replies may lose trailing sentences


class DraftMaker:
    """Drafts for many mentions against one set of templates, FAQs, earlier replies and settings.

    Build one per triage sweep: the FAQ and history indexes are made once.
    """

    def __init__(
        self,
        *,
        variables: Mapping[str, str],
        templates: Sequence[TemplateSpec],
        faqs: Sequence[FaqEntry],
        history: Sequence[PastReply],
    ) -> None:
        self.variables = {name: (variables.get(name) or "").strip() for name in AGENCY_VARIABLES}
        self.templates = sorted(templates, key=lambda t: t.key)
        self.faqs = FaqIndex(faqs) if faqs else None
        self._history: dict[str, tuple[list[PastReply], TextIndex]] = {}
        by_category: dict[str, list[PastReply]] = {}
        for past in history:
            by_category.setdefault(past.category, []).append(past)
        for category, pasts in by_category.items():
            self._history[category] = (pasts, TextIndex(p.mention_text for p in pasts))

    def make(
        self,
        *,
        triage: domain.Triage,
        text: str,
        rules: domain.ReplyRules,
        author_handle: str = "",
        author_name: str = "",
        in_thread: bool = False,
    ) -> list[domain.Draft]:
        """`in_thread`: the post is a reply to a reply, so the answer lands in its parent's thread."""
        values = {**self.variables, **author_variables(rules, author_handle, author_name)}
        drafts: list[domain.Draft] = []
        seen: set[str] = set()
        address = values["author_handle"] if rules.address_author else ""
        if not address and in_thread and rules.address_in_thread:
            address = (values["author_handle"] if rules.handle_prefix else "") or values["author_name"]
        urgent = leads_with_911(triage)
        candidates = self._candidates(triage, text, values, urgent)
        if urgent or drafting_category(triage) != "compliment":
            candidates = _without_thanks(candidates)
        for candidate in candidates:
            final = self._fit(candidate, rules, urgent, address)
            if final is None or _normal(final) in seen:
                continue
            seen.add(_normal(final))
            drafts.append(
                domain.Draft(
                    text=final,
                    source=candidate.source,
                    key=candidate.key,
                    match=candidate.match,
                    score=candidate.score,
                )
            )
            if len(drafts) == MAX_DRAFTS:
                break
        if urgent and not drafts:
            lead = self._fit(_Candidate(URGENT_LEAD, "template", "urgent.lead"), rules, True, address)
            drafts.append(domain.Draft(text=lead or URGENT_LEAD, source="template", key="urgent.lead"))
        return drafts

    # -- where drafts come from, in the order a PIO wants them --

    def _candidates(
        self, triage: domain.Triage, text: str, values: Mapping[str, str], urgent: bool
    ) -> Iterator[_Candidate]:
        category = drafting_category(triage)
        seed = _seed(text)
        # Unsure (or torn) posts get the plain neutral templates: a hint ("rip", "never forget") in
        # a post the model cannot read must not pick condolences or any other specific answer.
        neutral = category != triage.category or unsure(triage.category, triage.confidence, triage.scores)
        templates = list(self._templates(category, text, seed, values, hinted=not neutral))
        faq = self._faq(text, values) if category != "compliment" else None
        if urgent:
            # The 911 line leads every draft; criticism still gets acknowledged in the second.
            leads = list(self._templates("urgent", text, seed, values))
            yield from leads[:1]
            if category == "criticism":
                yield from templates[:1]
            if faq:
                yield faq
            yield from leads[1:]
            if category != "compliment":
                yield from templates
            return
        history = self._past(category, text, values)
        if category == "criticism":
            yield from templates[:1]
            yield from (c for c in (history, faq) if c)
            yield from templates[1:]
            return
        yield from (c for c in (faq, history) if c)
        yield from templates

    def _templates(
        self, category: str, text: str, seed: int, values: Mapping[str, str], hinted: bool = True
    ) -> Iterator[_Candidate]:
        lowered = f" {_SPACE.sub(' ', re.sub(r'[^a-z0-9#@ ]', ' ', text.lower()))} "
        matching = [
            t
            for t in self.templates
            if hinted and t.category == category and t.hints and _has_hint(lowered, t)
        ]
        generic = [t for t in self.templates if t.category == category and not t.hints]
        if any(t.exclusive for t in matching):
            matching, generic = [t for t in matching if t.exclusive], []
        for spec in _rotate(matching, seed) + _rotate(generic, seed):
            rendered = render(spec.text, values)
            if rendered is not None:
                yield _Candidate(rendered, "template", spec.key)

    def _faq(self, text: str, values: Mapping[str, str]) -> _Candidate | None:
        match = self.faqs.match(text, FAQ_THRESHOLD) if self.faqs else None
        if match is None:
            return None
        answer = render(match.faq.answer, values)
        if answer is None:
            return None
        return _Candidate(answer, "faq", str(match.faq.id), match.faq.question, match.score, shorten=True)

    def _past(self, category: str, text: str, values: Mapping[str, str]) -> _Candidate | None:
        if category not in self._history:
            return None
        pasts, index = self._history[category]
        for position, score in index.ranked(text, HISTORY_THRESHOLD):
            past = pasts[position]
            reused = reuse_reply(past, values)
            if reused is not None and category != "compliment" and thanks_author(reused):
                continue  # only a compliment is thanked, whatever was once said to another post
            if reused is not None:
                excerpt = past.mention_text[:MATCH_EXCERPT]
                return _Candidate(reused, "history", str(past.id), excerpt, round(score, 3), shorten=True)
        return None

    # -- fitting the platform --

    def _fit(
        self, candidate: _Candidate, rules: domain.ReplyRules, urgent: bool, address: str = ""
    ) -> str | None:
        """The draft as it would be posted, or None when it cannot fit at a sentence boundary.

        On X a draft is addressed to its author: X refuses a post whose text repeats an earlier
        one, so the same template or FAQ answer sent to two people would fail the second time.
        """
        body = candidate.text.strip()
        lead = ""
        if urgent and not body.lower().startswith(URGENT_LEAD[:-5].lower()):
            lead = URGENT_LEAD + " "
        if address and address.lower() in body.lower():
            address = ""

        def posted(text: str) -> str:
            if not address:
                return text
            if text.lower().startswith(URGENT_LEAD[:-5].lower()):  # the 911 line always comes first
                end = next((m.end() for m in _SENTENCE_END.finditer(text)), len(text))
                return f"{text[:end].rstrip()} {address} {text[end:].lstrip()}".rstrip()
            return f"{address} {text}"

        if fits(posted(lead + body), rules):
            return posted(lead + body)
        sentences = _SENTENCE_END.split(body)
        if not (candidate.shorten or lead) or len(sentences) < 2:
            return None
        website = self.variables["website"]
        for keep in range(len(sentences) - 1, 0, -1):
            kept = lead + " ".join(sentences[:keep])
            if candidate.source == "faq" and website and website not in kept:
                with_link = posted(f"{kept} More at {website}")
                if fits(with_link, rules):
                    return with_link
            if fits(posted(kept), rules):
                return posted(kept)
        return None


# Thanks that open or close a sentence ("Thanks for asking, you can…", "…within 5 days, thank
# you."), and a request that only sounds like thanks ("we'd appreciate it if you…").
_OPENING_THANKS = re.compile(
    r"^(?:(?:many )?thanks|thank you|great question|good question|we appreciate (?:your [^,.!?;:]*|it|you)\b)"
    r"(?: so much| very much| again)?(?: for [^,.!?;:]*)?\s*[,.!;:\u2014-]*\s*",
    re.IGNORECASE,
)
_CLOSING_THANKS = re.compile(
    r"[,;\u2014-]?\s*(?:thanks|thank you)(?: so much| very much)?\s*[.!]*\s*$", re.IGNORECASE
)
_LINK_AT = re.compile(r"(?:https?://|www\.)", re.IGNORECASE)
_POLITE_REQUEST = re.compile(
    r"\b(?:we'?d|we would|would) (?:really |greatly )?appreciate (?:it )?if\b", re.IGNORECASE
)


def _unthanked(sentence: str) -> str:
    """The sentence without thanks to its reader: an opening or closing "thank you" goes, a
    sentence that thanks in its middle goes whole; a polite request stays."""
    if not thanks_author(_POLITE_REQUEST.sub("", sentence)):
        return sentence
    rest = _CLOSING_THANKS.sub("", _OPENING_THANKS.sub("", sentence)).strip()
    if not rest or thanks_author(_POLITE_REQUEST.sub("", rest)):
        return ""
    if _LINK_AT.match(rest):  # "Thanks for asking: https://…" keeps the link as it is
        return rest
    if not rest.endswith((".", "!", "?")) and not _LINK_AT.search(rest.rsplit(None, 1)[-1]):
        rest += "."
    return rest[0].upper() + rest[1:]


def _without_thanks(candidates: Iterator[_Candidate]) -> Iterator[_Candidate]:
    """Only a compliment is thanked: an admin's FAQ answer or template that says "Thanks for
    asking, you can request…" loses its thanks when it answers anything else, keeping what it
    says, and a draft that is all thanks is left out. An angry post wrapped around the question an
    FAQ matches must not be thanked by it."""
    for candidate in candidates:
        sentences = _SENTENCE_END.split(candidate.text.strip())
        kept = [_unthanked(s) for s in sentences]
        if kept == sentences:
            yield candidate
        elif any(kept):
            yield replace(candidate, text=" ".join(k for k in kept if k))


def drafting_category(triage: domain.Triage) -> str:
    """The category whose templates answer this post: an unsure judgement, or a compliment with
    real odds of criticism, is answered neutrally ("other"), never with thanks."""
    if unsure(triage.category, triage.confidence, triage.scores):
        return "other"
    if triage.category == "compliment" and triage.scores.get("criticism", 0.0) >= TORN_CRITICISM:
        return "other"
    return triage.category


def leads_with_911(triage: domain.Triage) -> bool:
    """Whether every draft starts with the 911 line: a flagged post, or one the classifier says may
    be an emergency without flagging it (`urgent_reason` set, `urgent` False)."""
    return triage.urgent or triage.urgent_reason is not None


def make_drafts(
    *,
    triage: domain.Triage,
    text: str,
    rules: domain.ReplyRules,
    author_handle: str,
    author_name: str,
    variables: Mapping[str, str],
    templates: Sequence[TemplateSpec],
    faqs: Sequence[FaqEntry],
    history: Sequence[PastReply],
    in_thread: bool = False,
) -> list[domain.Draft]:
    """Up to three drafts for one mention; see the module docstring for the order."""
    maker = DraftMaker(variables=variables, templates=templates, faqs=faqs, history=history)
    return maker.make(
        triage=triage,
        text=text,
        rules=rules,
        author_handle=author_handle,
        author_name=author_name,
        in_thread=in_thread,
    )


def reuse_reply(past: PastReply, values: Mapping[str, str]) -> str | None:
    """An earlier reply made fit for a new author, or None when it may carry facts of its own case.

    Leading @handles go; the earlier author's name or handle becomes the new one's (or the reply
    is skipped when the new one is unknown); a reply naming anyone else, or holding a number the
    agency's settings do not explain (a case number, a time, an address) or a link to a site
    other than the agency's own, is not reused.
    """
    text = _LEADING_HANDLES.sub("", past.text).strip()
    old_handle = past.author_handle.strip().lstrip("@")
    for old, new in (
        (f"@{old_handle}" if old_handle else "", "author_handle"),
        (past.author_name.strip(), "author_name"),
    ):
        if len(old) < 3 or old.lower() not in text.lower():
            continue
        if not values.get(new):
            return None
        pattern = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)", re.IGNORECASE)
        text = pattern.sub(values[new].replace("\\", "\\\\"), text)
    current = values.get("author_handle", "")
    if any(h.lower() != current.lower() for h in _HANDLE.findall(text)):
        return None
    own_sites = {_host(values.get("website", "")), _host(values.get("records_url", ""))} - {""}
    found = urls(text)
    if any(_host(url) not in own_sites for url in found):
        return None
    rest = text
    for part in [*found, values.get("author_handle", ""), values.get("author_name", "")]:
        if part:
            rest = rest.replace(part, " ")
    known = {"911"} | {d for name in AGENCY_VARIABLES for d in _DIGITS.findall(values.get(name, ""))}
    if any(d not in known for d in _DIGITS.findall(rest)):
        return None
    return text or None


def _host(url: str) -> str:
    if not url:
        return ""
    host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
    return host.removeprefix("www.")


def _rotate(items: list[TemplateSpec], seed: int) -> list[TemplateSpec]:
    if not items:
        return items
    start = seed % len(items)
    return items[start:] + items[:start]


# Idioms in which a hint word means something else ("what a rip off").
_IDIOMS = {"rip": (" rip off ", " rip offs ")}


def _has_hint(lowered: str, spec: TemplateSpec) -> bool:
    return any(
        f" {hint} " in lowered and not any(idiom in lowered for idiom in _IDIOMS.get(hint, ()))
        for hint in spec.hints
    )


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()
