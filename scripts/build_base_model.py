"""Rewrite `handlers/data/base-model.bin`, fitted from the shipped examples (`handlers/examples.py`).

The category model is fitted on `handlers/data/examples/*.jsonl`; its urgency layer on
`handlers/data/urgency/*.jsonl` and the urgent flags of the category examples. Run it after
changing the examples, the features or the recipe; the test
`test_the_shipped_model_is_the_one_the_shipped_examples_give` fails until you do.

    .venv/bin/python scripts/build_base_model.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers import embeddings
from handlers.classifier import SHIPPED_MODEL, fit_shipped


def main() -> None:
    model = fit_shipped(embeddings.STATIC)
    blob = model.to_bytes()
    SHIPPED_MODEL.write_bytes(blob)
    print(f"wrote {SHIPPED_MODEL} ({len(blob):,} bytes, {model.n_examples} examples)")


if __name__ == "__main__":
    main()
