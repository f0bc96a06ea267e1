"""Leave one batch out: how the shipped recipe does on posts written nothing like its examples.

    python bench/grouped_cv.py [--thresholds]

Each batch of `handlers/data/examples/` (and each file of `handlers/data/urgency/`) was written
by a different writer in their own voice and topic mix, so predicting one batch from a model
fitted on all the others (`handlers.classifier.fit`, exactly the shipped recipe) estimates how
the model does on real posts it has never seen. Every setting of the recipe (C, the weights of the
cues and the sentence vector, the n-gram vocabulary, the compliment bar, the unsure bar, the
urgency thresholds) was chosen with these figures, never with the dev file.

Printed for all batches and for the in-domain ones (`IN_DOMAIN`: written as X replies to Los
Angeles police accounts, the kind of post TwoWay is judged on, so they predict real
use best and settings are judged primarily on them): macro-F1 pooled over the held-out batches and
per batch, per-class F1, compliment precision and recall, the harm figures on first drafts
(`handlers.harm`), the share shown unsure; then urgency: recall on the held-out emergencies of each
file and the share of the batches' ordinary posts flagged. `--thresholds` adds the tables the
thresholds were read from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# Batches written as X replies to Los Angeles police accounts (i-s: to @LAPDHQ in 2024), like the
# held-out test set.
IN_DOMAIN = ("batch-a", *(f"batch-{letter}" for letter in "ijklmnopqrstuvwxyz"), "batch-aa")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--dump", type=Path, help="write every held-out judgement to this JSONL file")
    parser.add_argument(
        "--encoder", default="static-minilm", help="sentence vectors: static-minilm or minilm"
    )
    args = parser.parse_args(argv)

    from domain import Triage
    from handlers.classifier import fit
    from handlers.examples import category_examples, urgency_examples
    from handlers.metrics import macro_f1
    from handlers.urgency import urgent_reason

    examples = category_examples()
    urgency = urgency_examples()
    groups = sorted({e.group for e in examples} | {g for _, _, g in urgency})
    truth: list[str] = []
    predicted: list[Triage] = []
    texts: list[str] = []
    flags: list[bool] = []
    batches: list[str] = []
    probabilities: list[list[float]] = []
    # group, urgent, P(urgent), flagged, "ordinary" or "look-alike", flagged by a rule
    alarm_rows: list[tuple[str, bool, float, bool, str, bool]] = []
    alarm_texts: list[str] = []
    per_batch: list[tuple[str, float]] = []
    print(f"leave one batch out, {len(examples)} category examples in {len(groups)} files, {args.encoder}")
    for group in groups:
        train = [(e.text, e.label) for e in examples if e.group != group]
        alarm = [(t, u) for t, u, g in urgency if g != group] + [
            (e.text, e.urgent) for e in examples if e.group != group
        ]
        model = fit(train, encoder=args.encoder, alarm_examples=alarm)
        held = [e for e in examples if e.group == group]
        held_urgency = [(t, u) for t, u, g in urgency if g == group] + [(e.text, e.urgent) for e in held]
        if held:
            triages = model.classify_many([e.text for e in held])
            rows = model.probabilities([e.text for e in held])
            per_batch.append((group, macro_f1([e.label for e in held], [t.category for t in triages])))
            truth += [e.label for e in held]
            predicted += triages
            texts += [e.text for e in held]
            flags += [e.urgent for e in held]
            batches += [group] * len(held)
            probabilities += [[float(p) for p in row] for row in rows]
        alarms = model.alarm_probabilities([t for t, _ in held_urgency])
        judged = model.classify_many([t for t, _ in held_urgency])
        for (text, urgent), p, triage in zip(held_urgency, alarms, judged, strict=True):
            kind = "ordinary" if held else "look-alike"
            alarm_rows.append((group, urgent, float(p), triage.urgent, kind, urgent_reason(text) is not None))
            alarm_texts.append(text)
        print(f"{group}: done", file=sys.stderr)

    in_domain = [b in IN_DOMAIN for b in batches]
    summary("all batches", truth, predicted, texts, flags)
    names = ", ".join(g.removeprefix("batch-") for g in IN_DOMAIN)
    summary(
        f"in-domain batches ({names})",
        [x for x, keep in zip(truth, in_domain, strict=True) if keep],
        [x for x, keep in zip(predicted, in_domain, strict=True) if keep],
        [x for x, keep in zip(texts, in_domain, strict=True) if keep],
        [x for x, keep in zip(flags, in_domain, strict=True) if keep],
    )
    print("per batch: " + ", ".join(f"{g} {f:.3f}" for g, f in per_batch))
    print("urgency, each file held out:")
    for group in groups:
        rows = [r for r in alarm_rows if r[0] == group]
        urgent = [r for r in rows if r[1]]
        calm = [r for r in rows if not r[1]]
        caught = sum(r[3] for r in urgent) / len(urgent) if urgent else float("nan")
        print(
            f"  {group}: {sum(r[3] for r in urgent)} of {len(urgent)} emergencies flagged ({caught:.2f}); "
            f"{sum(r[3] for r in calm)} of {len(calm)} {calm[0][4] if calm else ''} posts flagged"
        )
    ordinary = [r for r in alarm_rows if not r[1] and r[4] == "ordinary"]
    print(f"  ordinary posts flagged: {sum(r[3] for r in ordinary) / len(ordinary):.3f}")
    if args.thresholds:
        thresholds(truth, np.asarray(probabilities), texts, alarm_rows, in_domain)
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for text, label, row, group, triage in zip(
                texts, truth, probabilities, batches, predicted, strict=True
            ):
                judged = {"group": group, "category": triage.category, "flagged": triage.urgent}
                out.write(
                    json.dumps({"kind": "category", "text": text, "label": label, "p": row, **judged}) + "\n"
                )
            for (group, urgent, p, _flagged, kind, ruled), text in zip(alarm_rows, alarm_texts, strict=True):
                row = {"kind": kind, "group": group, "text": text, "urgent": urgent, "p": p, "rule": ruled}
                out.write(json.dumps(row) + "\n")
    return 0


def summary(title: str, truth: list[str], predicted: list[Any], texts: list[str], flags: list[bool]) -> None:
    """Macro-F1, per-class F1, compliment precision and recall, unsure and harm of one set of batches."""
    from domain import CATEGORIES
    from handlers.classifier import unsure
    from handlers.harm import harm
    from handlers.metrics import macro_f1, per_class

    categories = [t.category for t in predicted]
    table = per_class(truth, categories)
    shown = sum(unsure(t.category, t.confidence, t.scores) for t in predicted) / len(predicted)
    print(f"{title}: {len(truth)} posts")
    print(f"  macro-F1 pooled {macro_f1(truth, categories):.3f}")
    print(
        "  per class F1: "
        + ", ".join(f"{c} {table[c]['f1']:.3f}" for c in CATEGORIES)
        + f"; compliment precision {table['compliment']['precision']:.3f}, recall {table['compliment']['recall']:.3f}"
    )
    print(f"  shown unsure: {shown:.1%}")
    print(f"  harm on first drafts: {harm(texts, predicted, truth, flags)}")


def thresholds(
    truth: list[str],
    probabilities: np.ndarray,
    texts: list[str],
    alarm_rows: list[tuple[str, bool, float, bool, str, bool]],
    in_domain: list[bool],
) -> None:
    """The tables the compliment bar, the unsure bars and the urgency thresholds were read from."""
    from handlers import features

    classes = sorted(set(truth))
    order = np.argsort(-probabilities, axis=1, kind="stable")
    top = probabilities[np.arange(len(truth)), order[:, 0]]
    second = probabilities[np.arange(len(truth)), order[:, 1]]
    right = np.asarray([classes[i] == t for i, t in zip(order[:, 0], truth, strict=True)])
    compliment = classes.index("compliment")
    guarded = np.asarray([features.has_negative_cue(t) or features.is_asking(t) for t in texts])
    is_compliment = np.asarray([t == "compliment" for t in truth])
    for title, where in (
        ("all batches", np.ones(len(truth), dtype=bool)),
        ("in-domain", np.asarray(in_domain)),
    ):
        print(f"{title}: accuracy by the top category's probability:")
        for low, high in ((0, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)):
            mask = where & (top >= low) & (top < high)
            print(f"  [{low:.1f}, {high:.1f}): {mask.sum():5d} posts, right {right[mask].mean():.2f}")
        print(f"{title}: accuracy by the margin over the runner-up:")
        for low, high in ((0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 1.01)):
            mask = where & (top - second >= low) & (top - second < high)
            print(f"  [{low:.1f}, {high:.1f}): {mask.sum():5d} posts, right {right[mask].mean():.2f}")
        print(f"{title}: compliment precision and recall by the bar (top category compliment, no guard cue):")
        for bar in (0.5, 0.6, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9):
            chosen = where & (order[:, 0] == compliment) & (probabilities[:, compliment] >= bar) & ~guarded
            precision = is_compliment[chosen].mean() if chosen.any() else float("nan")
            recall = chosen[where & is_compliment].mean()
            print(f"  {bar:.2f}: precision {precision:.3f}, recall {recall:.3f}")
    print("urgency by the learned layer's threshold, rules included (flag = a rule or P >= threshold):")
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        by_group = {}
        for group in sorted({r[0] for r in alarm_rows}):
            urgent = [r for r in alarm_rows if r[0] == group and r[1]]
            if urgent:
                by_group[group] = np.mean([r[2] >= threshold or r[5] for r in urgent])
        ordinary = [r for r in alarm_rows if not r[1] and r[4] == "ordinary"]
        lookalike = [r for r in alarm_rows if not r[1] and r[4] == "look-alike"]
        print(
            f"  {threshold:.1f}: recall "
            + ", ".join(f"{g} {v:.2f}" for g, v in by_group.items())
            + f"; ordinary flagged {np.mean([r[2] >= threshold or r[5] for r in ordinary]):.3f}, "
            f"look-alikes flagged {np.mean([r[2] >= threshold or r[5] for r in lookalike]):.3f}"
        )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
