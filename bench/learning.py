"""Learning from corrections, on fair splits of a labelled CSV: `python bench/learning.py [CSV]
[--folds 5] [--seeds 0,1]`.

Each split learns from one part exactly as the bot does (`handlers.adapt.learn`, acceptance check
included) and is evaluated on the other part, never on what it learned from. Printed per split
and as means: macro-F1 of the base model, of the model the check chose, and of the agency model
had it been kept whatever the check said. The CSV (default: the dev file) is only read.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV_CSV = REPO.parent / "shared" / "data" / "mentions-dev.csv"


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEV_CSV)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args(argv)
    from sklearn.model_selection import StratifiedKFold

    from handlers import embeddings
    from handlers.adapt import learn
    from handlers.classifier import load_default, train_agency
    from handlers.metrics import macro_f1, per_class

    with args.csv.open(encoding="utf-8") as handle:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
    labels = [label for _, label in rows]
    base = load_default()
    totals = {"before": 0.0, "after": 0.0, "kept": 0.0, "accepted": 0}
    splits = 0
    print(
        f"{args.csv.name}: {len(rows)} rows, {args.folds}-fold, seeds {args.seeds}, {embeddings.default_name()}"
    )
    print("seed  before  after  accepted  every-model-kept  compliment-precision-after")
    for seed in (int(s) for s in args.seeds.split(",")):
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
        for learnt, judged in folds.split(rows, labels):
            adaptation = learn([rows[i] for i in learnt], base)
            texts = [rows[i][0] for i in judged]
            truth = [labels[i] for i in judged]
            chosen = adaptation.model if adaptation.accepted and adaptation.model else base
            agency = adaptation.model or train_agency([rows[i] for i in learnt], base)
            predicted = [t.category for t in chosen.classify_many(texts)]
            before = macro_f1(truth, [t.category for t in base.classify_many(texts)])
            after = macro_f1(truth, predicted)
            kept = macro_f1(truth, [t.category for t in agency.classify_many(texts)])
            precision = per_class(truth, predicted)["compliment"]["precision"]
            print(
                f"{seed:>4}  {before:.3f}   {after:.3f}  {adaptation.accepted!s:>8}  {kept:.3f}             {precision}"
            )
            totals["before"] += before
            totals["after"] += after
            totals["kept"] += kept
            totals["accepted"] += int(adaptation.accepted)
            splits += 1
    print(
        f"mean of {splits}: before {totals['before'] / splits:.3f}, after {totals['after'] / splits:.3f} "
        f"({int(totals['accepted'])} accepted), every model kept {totals['kept'] / splits:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
