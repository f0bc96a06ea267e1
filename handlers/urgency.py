"""Is this post a possible emergency or crime in progress that must be answered "call 911 now"?

Rules, not a learned model: a missed emergency is the most dangerous error, every flag must be
explainable to the officer who sees it (the reason goes on the card), and five real emergencies
in a few hundred posts are far too few to learn from. Alarm fatigue is the other risk, so a cue
counts only when the post reads as a report happening now, not as news, history or a hypothetical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*patterns: str) -> re.Pattern[str]:
    # Matched against lower-cased text: IGNORECASE makes Python's re several times slower.
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    reason: str
    needs_now: bool  # True: only with a sign that it is happening now or to the writer


RULES = (
    Rule(
        _rx(
            r"\b(?:my|our|his|her|their) li(?:fe|ves) (?:is|are) in (?:danger|jeopardy)\b",
            r"\bi(?:'m| am) (?:in danger|not safe|scared for my life|being threatened)\b",
            r"\b(?:fear|scared|afraid) for (?:my|our) (?:life|lives|safety)\b",
            r"\bgoing to kill (?:me|us)\b",
            r"\bthreaten(?:ing|s|ed) to kill (?:me|us)\b",
        ),
        "says a life is in danger",
        needs_now=False,
    ),
    Rule(
        _rx(
            r"\bshots? (?:being )?fired\b",
            r"\b(?:hearing|heard|hear) (?:gun ?shots|shots|shooting|gunfire)\b",
            r"\bgun ?fire\b",
            r"\bsomeone (?:is )?shooting\b",
            r"\bactive shooter\b",
        ),
        "mentions shots fired",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\b(?:someone|somebody|some ?one|a (?:man|guy|woman|person)|people|they|he|she)(?:'s| is| are)? (?:breaking|trying to break|broke) in(?:to)?\b",
            r"\bbreak(?:ing)?[- ]in (?:in progress|right now|now)\b",
            r"\b(?:intruder|prowler|someone|somebody) (?:is )?in (?:my|our) (?:house|home|apartment|apt|yard|backyard|garage|building|room|bedroom)\b",
        ),
        "reports a break-in",
        needs_now=False,
    ),
    Rule(
        _rx(
            r"\b(?:being|getting) (?:attacked|assaulted|stabbed|robbed|beaten|beat up|chased|followed|kidnapped|carjacked|shot at)\b",
            r"\b(?:attacking|assaulting|beating|stabbing|choking|hitting|robbing|following|chasing) (?:me|us|my|a|an|someone|somebody|people|her|him)\b",
            r"\bkidnapp(?:ed|ing)\b",
        ),
        "reports an attack in progress",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\b(?:has|with|holding|waving|pointing) an? (?:gun|knife|weapon|machete|rifle)\b",
            r"\b(?:gun|knife) (?:pointed|drawn)\b",
            r"\barmed (?:man|men|person|suspect|guy)\b",
        ),
        "reports a weapon",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\b(?:not breathing|unconscious|unresponsive|bleeding out|overdos(?:ing|ed)|having a seizure)\b",
            r"\b(?:just )?(?:been|got|was) (?:stabbed|shot)\b",
        ),
        "reports someone badly hurt",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\b(?:house|home|building|apartment|car|brush|garage|store|kitchen)(?:'s)? (?:is|are) on fire\b",
            r"\bthere(?:'s| is) a fire (?:in|at|on|next|behind|across)\b",
        ),
        "reports a fire",
        needs_now=False,
    ),
    Rule(
        _rx(
            r"\b(?:burning|torching|set(?:ting)? fire to) (?:cars?|buildings?|houses?)\b",
            r"\bsmoke (?:and|&) flames\b",
            r"\bon fire\b",
        ),
        "reports a fire",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\b(?:my|our) (?:son|daughter|child|kid|baby|toddler|little (?:boy|girl)) (?:is|went) missing\b",
            r"\bcan'?t find (?:my|our) (?:son|daughter|child|kid|baby|toddler)\b",
        ),
        "reports a missing child",
        needs_now=False,
    ),
    Rule(
        _rx(r"\b(?:kill|hurt) (?:myself|herself|himself)\b", r"\bsuicid(?:e|al)\b", r"\bjump(?:ing)? off\b"),
        "mentions a risk of suicide",
        needs_now=True,
    ),
    Rule(
        _rx(
            r"\bon hold\b.{0,60}\b(?:911|emergency)\b",
            r"\b(?:911|emergency)\b.{0,60}\bon hold\b",
            r"\b911 (?:is )?(?:not|isn'?t|won'?t|never) (?:answer|pick)\w*\b",
            r"\bcan'?t (?:get through to|reach) 911\b",
        ),
        "cannot get through to 911",
        needs_now=False,
    ),
    Rule(
        _rx(
            r"\b(?:please|pls|plz) send (?:someone|somebody|help|officers?|police|a unit|a car|cops)\b",
            r"\bsend (?:someone|somebody|help|officers|police|cops) (?:now|asap|right now|immediately|please)\b",
            r"\bneed (?:police|officers|help|cops) (?:now|asap|right now|immediately)\b",
        ),
        "asks for officers to be sent now",
        needs_now=False,
    ),
    Rule(
        _rx(
            r"\b(?:street takeover|takeover|riot|looting|fight|brawl|stabbing|robbery|carjacking|break-?in)\b"
        ),
        "reports a crime in progress",
        needs_now=True,
    ),
)

# Every rule at once: most posts match none, and one pass over them is cheaper than the guard
# and thirteen searches (a third of the time per post).
ANY_RULE = _rx(*(rule.pattern.pattern for rule in RULES))

NOW = _rx(
    r"\bright now\b",
    r"\bhappening (?:now|right now)\b",
    r"\bas we speak\b",
    r"\bcurrently\b",
    r"\bongoing\b",
    r"\bin progress\b",
    r"\bstill (?:here|there|going|happening|outside|inside|coming)\b",
    r"\b(?:outside|in front of|behind|across from) (?:my|our)\b",
    r"\bin (?:my|our) (?:house|home|apartment|apt|yard|street|building|parking lot)\b",
    r"\b(?:please|pls|plz) (?:help|hurry|come|send)\b",
    r"\bhelp\s*!",
    r"\bhurry\b",
    r"\basap\b",
    r"\bimmediately\b",
    r"\bkeeps? (?:coming|breaking|following|threatening|attacking)\b",
    r"\bjust (?:now|heard|saw|happened)\b",
    r"\b(?:is|are) (?:happening|going on)\b",
    r"\blivestream\b",
    r"\blive (?:now|stream)\b",
    r"\bnow!",
)
# A cue in one of these is news, history or a thought experiment, not a report of now.
GUARD = _rx(
    r"^\W*breaking\b",
    r"\bbreaking(?: news)?\s*[:|\-]",
    r"^\W*(?:video|watch|update|news|just in|developing)\s*:",
    r"\b(?:yesterday|last (?:night|week|month|year|weekend)|years? ago|months? ago|weeks? ago|back in)\b",
    r"\b(?:arrested|in custody|sentenced|convicted|charged|suspects? (?:was|were) caught)\b",
    r"\b(?:if|what if|whenever|in case|imagine if|suppose) (?:someone|somebody|a|an|you|i|they|he|she|my|your)\b",
    r"\bno (?:shots|one was hurt|injuries|emergency)\b",
    r"\bnon[- ]emergency\b",
    r"\b(?:rip|rest in peace|condolences|prayers for)\b",
)


def urgent_reason(text: str, parent_text: str | None = None) -> str | None:
    """A short reason ("mentions shots fired") when the post may be an emergency, else None.

    A cue that also appears in the parent post is an echo of what the agency (or somebody else)
    already said, not a new report, so it does not count.
    """
    text = text.lower().replace("’", "'")
    if not ANY_RULE.search(text):
        return None
    parent_text = parent_text.lower().replace("’", "'") if parent_text else None
    if GUARD.search(text):
        return None
    now = bool(NOW.search(text))
    for rule in RULES:
        match = rule.pattern.search(text)
        if match is None or (rule.needs_now and not now):
            continue
        if parent_text and rule.pattern.search(parent_text):
            continue
        return rule.reason
    return None
