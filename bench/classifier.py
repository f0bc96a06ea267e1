"""Classifier speed on one core and the memory it adds: `python bench/classifier.py [--agency] [CSV]`.

Speed is the best of several batch runs over the texts (the shipped examples, or the CSV given),
pinned to one CPU, then the time of the slowest kind of post (a long run without spaces). Memory
is the peak resident size after importing the classifier and loading the model, minus the
interpreter's before it. With `--agency` the model
is an agency model (the base model plus a layer learnt from the CSV's labels, or the shipped
examples' without a CSV), trained in a child process and loaded from its stored bytes, as the
bot loads it from the database.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED = Path("shipped examples")  # no file: the shipped examples


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def labelled(path: Path) -> list[tuple[str, str]]:
    from handlers.classifier import base_examples

    if path == SHIPPED:
        return list(base_examples())
    with path.open(encoding="utf-8") as handle:
        return [(row["text"], row.get("label") or "other") for row in csv.DictReader(handle)]


def write_agency(path: Path, target: Path) -> None:
    from handlers.classifier import load_default, train_agency

    target.write_bytes(train_agency(labelled(path), load_default()).to_bytes())


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    if argv[:1] == ["--write-agency"]:
        write_agency(Path(argv[1]), Path(argv[2]))
        return 0
    agency = argv[:1] == ["--agency"]
    argv = argv[1:] if agency else argv
    path = Path(argv[0]) if argv else SHIPPED
    blob = b""
    if agency:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "agency.bin"
            subprocess.run([sys.executable, __file__, "--write-agency", str(path), str(target)], check=True)
            blob = target.read_bytes()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    before = peak_mb()
    started = time.perf_counter()
    from handlers.classifier import Classifier, load_default

    model = Classifier.from_bytes(blob) if agency else load_default()
    load_s = time.perf_counter() - started
    added = peak_mb() - before
    texts = [t for t, _ in labelled(path)]
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
    print(f"texts: {path.name}, batch of {len(batch)}, one core")
    print(f"batch: {max(rates):,.0f} mentions/s (best of 5; median {sorted(rates)[2]:,.0f})")
    print(f"one at a time: {single:,.0f} mentions/s")
    # The slowest posts: long runs with no space (X Premium allows 25,000 characters), where a
    # pattern that may start anywhere in the run can take time quadratic in its length.
    for name, text in (
        ("'a.' x 12,500", "a." * 12_500),
        ("'@a' x 8,333", "@a" * 8_333),
        ("'(a' x 12,500", "(a" * 12_500),
    ):
        started = time.perf_counter()
        model.classify(text)
        print(f"one post of {len(text):,} characters, {name}: {time.perf_counter() - started:.2f} s")
    kind = f"agency model ({len(blob):,} bytes stored)" if agency else "shipped model"
    print(f"import + load {kind}: {load_s:.1f} s, {added:.0f} MB added peak RSS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
