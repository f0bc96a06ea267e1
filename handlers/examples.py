"""The posts TwoWay's shipped models are fitted on, written by the TwoWay team.

`data/examples/*.jsonl` are category examples: each line `{"text", "label", "urgent", "note"}`,
one file per batch. Every batch was written by a different writer, in its own voice and mix of
topics, from public knowledge of what residents post to police accounts, without seeing any
agency's labelled data; so leaving one batch out and predicting it from the others estimates how
the model does on posts written nothing like its examples (`bench/grouped_cv.py`).

`data/urgency/*.jsonl` are emergencies and look-alikes for the urgency layer:
`{"text", "urgent", "kind"}` (what kind of emergency or look-alike it is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from domain import CATEGORIES

DATA = Path(__file__).resolve().parent / "data"
EXAMPLES_DIR = DATA / "examples"
URGENCY_DIR = DATA / "urgency"
EXAMPLE_FILES = tuple(sorted(EXAMPLES_DIR.glob("*.jsonl")))
URGENCY_FILES = tuple(sorted(URGENCY_DIR.glob("*.jsonl")))


@dataclass(frozen=True, slots=True)
class Example:
    """One handwritten post: its category, whether it reports an emergency, and its batch."""

    text: str
    label: str
    urgent: bool
    group: str


def _lines(path: Path) -> list[dict[str, object]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise ValueError(f"{path.name}, line {number}: not an example")
        rows.append(row)
    return rows


@cache
def category_examples() -> tuple[Example, ...]:
    """Every category example, batch by batch, in file order."""
    found: list[Example] = []
    for path in EXAMPLE_FILES:
        for row in _lines(path):
            label = str(row.get("label"))
            if label not in CATEGORIES:
                raise ValueError(f"{path.name}: unknown label {label!r}")
            found.append(Example(str(row["text"]).strip(), label, bool(row.get("urgent")), path.stem))
    return tuple(found)


@cache
def urgency_examples() -> tuple[tuple[str, bool, str], ...]:
    """(text, urgent, group) of the emergencies and look-alikes written for the urgency layer."""
    return tuple(
        (str(row["text"]).strip(), bool(row.get("urgent")), path.stem)
        for path in URGENCY_FILES
        for row in _lines(path)
    )
