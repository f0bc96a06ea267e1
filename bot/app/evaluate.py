"""`twoway eval` (how good is the classifier on a labelled CSV) and `twoway classify` (one text).

Neither needs a database. With `--corrections`, every row of the second file is treated as a
staff correction and learnt exactly as the running bot learns (`handlers.adapt.learn`, the
function `bot.intake.training.retrain` calls); the figures are printed for the model the bot would
then use, with the base model's under `before`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import UserError
from bot.core.words import counted
from connectors import registry
from domain import CATEGORIES
from handlers import metrics
from handlers.adapt import learn
from handlers.classifier import Classifier, load_default, unsure
from handlers.drafts import make_drafts
from handlers.harm import harm
from handlers.templates import default_pack

# Spreadsheets export flags as 1.0/0.0 and TRUE/FALSE as often as 1/0.
TRUE_VALUES = {"1", "1.0", "true", "yes", "y"}
FALSE_VALUES = {"0", "0.0", "false", "no", "n"}


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    urgent: bool | None  # None when the file has no urgent column or leaves the cell empty


FIELD_LIMIT = 16 * 1024 * 1024  # a long post is not a broken file; 16 MB of one cell is


class _Lines:
    """The file's lines as `csv.reader` takes them, keeping those of the record being read (the
    reader reads no further ahead than the record it returns)."""

    def __init__(self, handle: Iterator[str]) -> None:
        self.handle = handle
        self.current: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.current.append(line)
        return line


def read_labelled(path: str, empty: str | None = None) -> list[Row]:
    """Rows of a CSV with `text,label[,urgent]`; any problem is one UserError line.

    `empty` is the message when the file has a header but no rows (default "PATH: no rows to
    evaluate")."""
    start = 1  # the line the record being read starts on
    try:
        csv.field_size_limit(FIELD_LIMIT)
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            lines = _Lines(handle)
            reader = csv.reader(lines)
            try:
                header = next(reader, None)
                if header is None:
                    raise UserError(
                        f"{path}: the file is empty (needs a header text,label[,urgent] and rows)"
                    )
                columns = [c.strip().lower() for c in header]
                missing = [c for c in ("text", "label") if c not in columns]
                if missing:
                    raise UserError(
                        f"{path}: missing column {', '.join(missing)} (needs text,label[,urgent])"
                    )
                index: dict[str, int] = {
                    c: columns.index(c) for c in ("text", "label", "urgent") if c in columns
                }
                rows: list[Row] = []
                while True:
                    start, lines.current = reader.line_num + 1, []
                    cells = next(reader, None)
                    if cells is None:
                        break
                    if cells:  # a blank line is no row
                        rows.append(_row(path, start, cells, index, "".join(lines.current)))
            except csv.Error as exc:
                if sum(len(line) for line in lines.current) > FIELD_LIMIT:
                    raise UserError(
                        f"{path}, line {start}: a field is larger than {FIELD_LIMIT // 2**20} MB"
                        " (if no post is that long, check for an unterminated quote)"
                    ) from None
                raise UserError(f"{path}, line {start}: not a valid CSV file ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    if not rows:
        raise UserError(empty or f"{path}: no rows to evaluate")
    return rows


def _quotes_broken(raw: str) -> bool:
    """Whether the record's own text is not valid CSV when quotes are checked strictly: an
    unterminated quote swallows the rest of the file into one cell and leaves the label empty."""
    try:
        list(csv.reader(io.StringIO(raw), strict=True))
    except csv.Error:
        return True
    return False


def _row(path: str, line: int, cells: list[str], index: dict[str, int], raw: str) -> Row:
    def cell(name: str) -> str | None:
        i = index.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    label = (cell("label") or "").strip().lower()
    if label not in CATEGORIES:
        shown = label if len(label) <= 40 else label[:40] + "..."
        what = f"unknown label {shown!r}" if label else "the row has no label"
        hint = "check for an unterminated quote" if _quotes_broken(raw) else f"use {', '.join(CATEGORIES)}"
        raise UserError(f"{path}, line {line}: {what} ({hint})")
    if "\n" in (cell("text") or "") and _quotes_broken(raw):
        # A stray quote made one row of two: "thank you,compliment⏎"next",criticism" reads as one
        # post labelled criticism, and the figures would describe another file than the one written.
        raise UserError(
            f"{path}, line {line}: the text runs into the next line and its quotes do not close"
            " cleanly (check for an unterminated quote)"
        )
    raw_urgent = cell("urgent")
    urgent: bool | None = None
    if raw_urgent is not None and raw_urgent.strip():
        value = raw_urgent.strip().lower()
        if value not in TRUE_VALUES | FALSE_VALUES:
            raise UserError(
                f"{path}, line {line}: urgent must be 1 or 0 (or true/false, yes/no, y/n; empty: not known), not {raw_urgent!r}"
            )
        urgent = value in TRUE_VALUES
    return Row(text=cell("text") or "", label=label, urgent=urgent)


WARM_UP = ["Thank you officers!", "How do I get a copy of my report?", "Nobody came. Useless", "lol"]


def evaluate(model: Classifier, rows: Sequence[Row]) -> dict[str, Any]:
    """The figures for one model on labelled rows (the keys `--json` promises)."""
    texts = [r.text for r in rows]
    # Start-up is not classification: the first call loads VADER's lexicon and warms caches,
    # which on a few hundred rows would otherwise cut the speed reported by a quarter. Posts of
    # its own, so that no row is timed from an encoder's cache.
    model.classify_many(WARM_UP)
    started = time.perf_counter()
    triages = model.classify_many(texts)
    elapsed = time.perf_counter() - started
    truth = [r.label for r in rows]
    predicted: list[str] = [t.category for t in triages]
    table = metrics.per_class(truth, predicted)
    return {
        "n": len(rows),
        "macro_f1": round(metrics.macro_f1(truth, predicted), 4),
        "per_class": {label: _figures(table[label]) for label in CATEGORIES},
        "support": {label: int(table[label]["support"]) for label in CATEGORIES},
        "confusion": metrics.confusion(truth, predicted),
        **{
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in metrics.urgency([r.urgent for r in rows], [t.urgent for t in triages]).items()
        },
        "urgent_flagged": sum(1 for t in triages if t.urgent),
        "mentions_per_s": round(len(rows) / elapsed) if elapsed > 0 else None,
        "harm": harm(
            texts, triages, truth, [r.urgent for r in rows], registry.spec("x").rules
        ),  # as X replies
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _figures(row: metrics.ClassFigures) -> dict[str, float | None]:
    """precision, recall and F1, None (JSON null) where undefined: see handlers.metrics."""
    return {"precision": _round(row["precision"]), "recall": _round(row["recall"]), "f1": _round(row["f1"])}


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _cell(value: float | None, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:{width}.3f}"


def report_text(title: str, figures: dict[str, Any]) -> str:
    lines = [f"{title} ({counted(figures['n'], 'post')})", "", f"{'':12} precision  recall     f1  support"]
    for label in CATEGORIES:
        row = figures["per_class"][label]
        lines.append(
            f"{label:12} {_cell(row['precision'], 9)} {_cell(row['recall'], 7)} {_cell(row['f1'], 6)}"
            f" {figures['support'][label]:8d}"
        )
    lines += [
        "",
        f"macro-F1 {figures['macro_f1']:.3f}",
        "",
        "confusion (rows: true label, columns: predicted)",
    ]
    lines.append(" " * 12 + "".join(f"{label[:10]:>11}" for label in CATEGORIES))
    for label in CATEGORIES:
        counts = figures["confusion"][label]
        lines.append(f"{label:12}" + "".join(f"{counts[p]:11d}" for p in CATEGORIES))
    lines.append("")
    share = f"{figures['urgent_share']:.1%} of posts flagged urgent ({figures['urgent_flagged']})"
    recall, precision = figures["urgent_recall"], figures["urgent_precision"]
    lines.append(
        f"urgent recall {'n/a' if recall is None else f'{recall:.3f}'}, "
        f"precision {'n/a' if precision is None else f'{precision:.3f}'}; {share}"
    )
    figures_harm = figures["harm"]
    lines.append(
        "harm (first drafts): "
        + f"{_share(figures_harm['thanks_to_non_compliment'])} of non-compliments thanked "
        + f"({figures_harm['non_compliments_thanked']}), "
        + f"{_share(figures_harm['emergency_without_911'])} of emergencies without the 911 line "
        + f"({figures_harm['emergencies_without_911']})"
    )
    lines.append(f"speed {figures['mentions_per_s']} mentions/s (one batch, this process)")
    return "\n".join(lines)


def overlap(rows: Sequence[Row], corrections: Sequence[Row]) -> int:
    """Rows whose text is also a correction, compared as corrections are de-duplicated (stripped)."""
    corrected = {r.text.strip() for r in corrections} - {""}
    return sum(1 for r in rows if r.text.strip() in corrected)


def main(args: argparse.Namespace) -> int:
    rows = read_labelled(args.path)
    corrections = (
        read_labelled(args.corrections, empty=f"no corrections in {args.corrections}")
        if args.corrections
        else None
    )
    base = load_default()
    before = evaluate(base, rows)
    if corrections is None:
        print(json.dumps(before) if args.json else report_text(f"Base model on {args.path}", before))
        return 0
    shared = overlap(rows, corrections)
    if shared:
        posts = f"{shared} posts of {args.path} are" if shared > 1 else f"1 post of {args.path} is"
        print(
            f"twoway: warning: {posts} also in {args.corrections}; the figures after learning are not a fair test",
            file=sys.stderr,
        )
    adaptation = learn([(r.text, r.label) for r in corrections], base)
    used = adaptation.model if adaptation.accepted and adaptation.model is not None else None
    after = evaluate(used or base, rows)
    if args.json:
        print(
            json.dumps({**after, "before": before, "learning": {**adaptation.metrics(), "overlap": shared}})
        )
        return 0
    verdict = "accepted" if adaptation.accepted else "rejected, the bot keeps the base model"
    print(report_text(f"Before: base model on {args.path}", before))
    print()
    print(f"Learning from {counted(adaptation.n_corrections, 'correction')} in {args.corrections}: {verdict}")
    print(f"  ({adaptation.reason})")
    print()
    kept = "agency model" if used is not None else f"base model kept (learning rejected: {adaptation.reason})"
    print(report_text(f"After: {kept} on {args.path}", after))
    return 0


def classify_main(args: argparse.Namespace) -> int:
    """`twoway classify TEXT`: the judgement and the drafts a card would show, shipped defaults only."""

    if not args.text.strip():
        raise UserError('give the text of a post to classify, e.g. twoway classify "Thank you officers!"')
    try:
        args.text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 reach Python as lone surrogates
        raise UserError("the text is not UTF-8: set the terminal's encoding to UTF-8") from None
    if args.platform not in registry.PLATFORMS:
        raise UserError(f"--platform is one of {', '.join(registry.names())}, not {args.platform!r}")
    triage = load_default().classify(args.text)
    print(f"category:   {triage.category}")
    shown_unsure = (
        " (unsure: drafts stay neutral)" if unsure(triage.category, triage.confidence, triage.scores) else ""
    )
    print(f"confidence: {triage.confidence:.2f}{shown_unsure}")
    scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(triage.scores.items(), key=lambda kv: -kv[1]))
    print(f"scores:     {scores}")
    maybe = f"no; {triage.urgent_reason}" if triage.urgent_reason else "no"
    print(f"urgent:     {'YES, ' + (triage.urgent_reason or '') if triage.urgent else maybe}")
    drafts = make_drafts(
        triage=triage,
        text=args.text,
        rules=registry.spec(args.platform).rules,
        author_handle="",
        author_name="",
        variables={},
        templates=default_pack(),
        faqs=(),
        history=(),
    )
    print("drafts:")
    for i, draft in enumerate(drafts, 1):
        print(f"  {i}. {draft.text}")
    if not drafts:
        print("  (none: set agency_name, phone and website with /twoway set for more)")
    return 0
