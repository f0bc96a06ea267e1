"""Urgency on a battery of posts nobody tuned for: `python bench/urgency.py [FILE.jsonl ...]`.

Each FILE holds one JSON object a line with `text` and `urgent` (1/0), like the held-out U3
battery; with no FILE, `tests/handlers/urgency_battery.py` is measured. Printed, per file and only as
aggregates: emergencies flagged urgent, emergencies whose first draft leads with the 911 line
(flagged, or "may be an emergency"), and calm posts flagged or given the 911 line. A held-out
battery is measured once, after every choice was made; it never chooses anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(name: str, posts: list[tuple[str, bool]]) -> None:
    from handlers.classifier import load_default
    from handlers.harm import first_drafts
    from handlers.templates import URGENT_LEAD

    texts = [t for t, _ in posts]
    triages = load_default().classify_many(texts)
    leads = [d.startswith(URGENT_LEAD) for d in first_drafts(texts, triages)]
    urgent = [i for i, (_, u) in enumerate(posts) if u]
    calm = [i for i, (_, u) in enumerate(posts) if not u]
    flagged = sum(triages[i].urgent for i in urgent)
    led = sum(leads[i] for i in urgent)
    false_flags = sum(triages[i].urgent for i in calm)
    calm_leads = sum(leads[i] for i in calm)
    print(
        f"{name}: {flagged} of {len(urgent)} emergencies flagged ({flagged / max(len(urgent), 1):.2f}), "
        f"{led} led by the 911 line; {false_flags} of {len(calm)} calm posts flagged "
        f"({false_flags / max(len(calm), 1):.1%}), {calm_leads} given the 911 line"
    )


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    if not argv:
        from tests.handlers import urgency_battery

        posts = [(t, True) for t in urgency_battery.URGENT] + [(t, False) for t in urgency_battery.CALM]
        measure("tests/handlers/urgency_battery.py", posts)
    for name in argv:
        lines = Path(name).read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        measure(Path(name).name, [(str(r["text"]), bool(int(r["urgent"]))) for r in rows])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
