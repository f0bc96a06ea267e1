"""Rewrite `handlers/data/base-model.bin` and `urgency-model.json`, fitted from `handlers/data/*.txt`.

Run it after changing the shipped examples, the features or the recipe; the tests
`test_the_shipped_model_is_the_one_the_shipped_examples_give` and
`test_the_shipped_alarm_is_the_one_the_shipped_examples_give` fail until you do.

    .venv/bin/python scripts/build_base_model.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers import embeddings
from handlers.classifier import SHIPPED_MODEL, base_examples, fit, fit_shipped_alarm
from handlers.urgency import SHIPPED_ALARM


def main() -> None:
    blob = fit(base_examples(), encoder=embeddings.STATIC).to_bytes()
    SHIPPED_MODEL.write_bytes(blob)
    print(f"wrote {SHIPPED_MODEL} ({len(blob):,} bytes)")
    alarm = fit_shipped_alarm(embeddings.STATIC).to_json()
    SHIPPED_ALARM.write_text(alarm + "\n", encoding="utf-8")
    print(f"wrote {SHIPPED_ALARM} ({len(alarm):,} bytes)")


if __name__ == "__main__":
    main()
