"""Classifier speed on one core and the memory it adds: `python bench/classifier.py [CSV]`.

Speed is the best of several batch runs over the texts (the dev file when present, else the
shipped examples), pinned to one CPU. Memory is the peak resident size after importing the
classifier and loading the shipped model, minus the interpreter's before it.
"""

from __future__ import annotations

import csv
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV_CSV = REPO.parent / "shared" / "data" / "mentions-dev.csv"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(REPO))
    before = peak_mb()
    started = time.perf_counter()
    from handlers.classifier import base_examples, load_default

    model = load_default()
    load_s = time.perf_counter() - started
    added = peak_mb() - before
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEV_CSV
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
    else:
        texts = [t for t, _ in base_examples()]
    batch = (texts * (2000 // len(texts) + 1))[:2000]
    rates = []
    for _ in range(5):
        started = time.perf_counter()
        model.classify_many(batch)
        rates.append(len(batch) / (time.perf_counter() - started))
    started = time.perf_counter()
    for text in texts[:200]:
        model.classify(text)
    single = min(200, len(texts)) / (time.perf_counter() - started)
    print(f"texts: {path.name if path.exists() else 'shipped examples'}, batch of {len(batch)}, one core")
    print(f"batch: {max(rates):,.0f} mentions/s (best of 5; median {sorted(rates)[2]:,.0f})")
    print(f"one at a time: {single:,.0f} mentions/s")
    print(f"import + load shipped model: {load_s:.1f} s, {added:.0f} MB added peak RSS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
