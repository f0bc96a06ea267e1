"""The two errors that hurt most, measured on the first draft a card would offer.

- `thanks_to_non_compliment`: the share of posts that are not compliments whose first draft
  thanks or praises the author. A "thank you" sent to an angry complaint is the worst reply
  TwoWay can suggest.
- `emergency_without_911`: the share of emergencies whose first draft does not start with "If
  this is an emergency, call 911 now.". A missed emergency is the most dangerous error.

The drafts are the shipped templates with example agency settings (so every template renders),
no FAQ and no earlier replies, on X: what a new agency's cards would show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import domain
from handlers.drafts import DraftMaker
from handlers.templates import URGENT_LEAD, default_pack, thanks_author

__all__ = ["first_drafts", "harm", "thanks_author"]

EXAMPLE_SETTINGS = {
    "agency_name": "the Police Department",
    "phone": "(555) 010-0100",
    "website": "https://www.example.gov",
    "records_url": "https://www.example.gov/records",
}


ANY_PLATFORM = domain.ReplyRules(limit=8000)  # no platform's length or addressing rules in the way


def first_drafts(
    texts: Sequence[str], triages: Sequence[domain.Triage], rules: domain.ReplyRules = ANY_PLATFORM
) -> list[str]:
    """The first draft a new agency's card would offer for each post ("" when there is none)."""
    maker = DraftMaker(variables=EXAMPLE_SETTINGS, templates=default_pack(), faqs=(), history=())
    first = []
    for text, triage in zip(texts, triages, strict=True):
        drafts = maker.make(triage=triage, text=text, rules=rules, author_handle="", author_name="")
        first.append(drafts[0].text if drafts else "")
    return first


def harm(
    texts: Sequence[str],
    triages: Sequence[domain.Triage],
    labels: Sequence[str],
    urgent: Sequence[bool | None],
    rules: domain.ReplyRules = ANY_PLATFORM,
) -> dict[str, Any]:
    """`thanks_to_non_compliment` and `emergency_without_911` (None when no post of that kind),
    with the counts behind them."""
    first = first_drafts(texts, triages, rules)
    others = [draft for draft, label in zip(first, labels, strict=True) if label != "compliment"]
    emergencies = [draft for draft, flag in zip(first, urgent, strict=True) if flag]
    thanked = sum(1 for draft in others if thanks_author(draft))
    missed = sum(1 for draft in emergencies if not draft.startswith(URGENT_LEAD))
    return {
        "thanks_to_non_compliment": round(thanked / len(others), 4) if others else None,
        "emergency_without_911": round(missed / len(emergencies), 4) if emergencies else None,
        "non_compliments_thanked": thanked,
        "emergencies_without_911": missed,
    }
