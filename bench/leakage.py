"""Leakage check: repository lines and examples that share a run of words with a dev post.

    python bench/leakage.py [--words 5] [--suspect 4] [PATHS...]

The dev file is an exam: no rule, cue, example or test may be copied from one of its posts or
written after reading one. This compares word n-grams (lower-cased words and numbers) of every
line of the repository's text files, and every example of the shipped JSONL example files, with
the dev posts, and prints **only the repository side**: the file, the line number and the line.
Nothing of the dev file is printed, so running it shows no dev text.

Two levels:

- `--words` (default 5): a line sharing that many consecutive words with a dev post. Shipped
  examples must have none (`scripts/build_base_model.py` drops them; a test checks it).
- `--suspect` (default 4): a line sharing that many consecutive words with a dev post that no
  independent example (the shipped examples, written by people who never saw the dev file) also
  contains. Common phrasing ("thank you for your") is in the examples too and is not reported; a
  distinctive phrase found only in the dev file and in a rule, test or document is.

Exit status 1 when a shipped example shares `--words` words with a dev post. With `--drop`,
such examples are removed from the shipped example files instead (each one is printed, and
nothing of the dev file); rebuild the model afterwards with `scripts/build_base_model.py`.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV_CSV = REPO.parent / "shared" / "data" / "mentions-dev.csv"
WORD = re.compile(r"[a-z0-9]+")  # "it's" is two words, as the project's pre-submit check reads it
# Regular-expression syntax inside a rule's source: "\b", "\w", "(?:", "\s+" are not words.
REGEX_ESCAPE = re.compile(r"\\[a-zA-Z]|\(\?[:!=<]+|[{}\[\]()|?*+^$]")
SKIP = (".bin", ".safetensors", ".png", ".lock")


def words(text: str) -> list[str]:
    return WORD.findall(REGEX_ESCAPE.sub(" ", text.lower().replace("’", "'")))


def grams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def dev_grams(n: int) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for post in dev_posts():
        found |= grams(words(post), n)
    return found


def shares(text: str, dev: set[tuple[str, ...]], n: int) -> bool:
    """Whether `text` has a run of `n` words that some dev post also has."""
    return bool(grams(words(text), n) & dev)


def example_texts(paths: Iterable[Path]) -> Iterator[tuple[Path, int, str]]:
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                yield path, number, json.loads(line)["text"]


def repository_lines(paths: Iterable[Path]) -> Iterator[tuple[Path, int, str]]:
    for path in paths:
        if path.suffix in SKIP or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".jsonl":
            yield from example_texts([path])
            continue
        for number, line in enumerate(text.splitlines(), 1):
            yield path, number, line


def tracked() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / name for name in names]


def dev_posts() -> list[str]:
    with DEV_CSV.open(encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def copied(text: str, dev: set[tuple[str, ...]], n: int, exact: set[str], bags: list[set[str]]) -> bool:
    """A dev post itself, a near copy (half its words or more in common, as the tests check),
    or `n` words in a row of one."""
    if text.strip().casefold() in exact or shares(text, dev, n):
        return True
    mine = set(words(text))
    return len(mine) >= 6 and any(len(mine & bag) / len(mine | bag) >= 0.5 for bag in bags)


def drop(paths: list[Path], dev: set[tuple[str, ...]], n: int) -> int:
    """Rewrite each example file without the examples `copied` from a dev post."""
    posts = dev_posts()
    exact = {post.strip().casefold() for post in posts}
    bags = [set(words(post)) for post in posts]
    for path in paths:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [line for line in lines if not copied(json.loads(line)["text"], dev, n, exact, bags)]
        for line in lines:
            if line not in kept:
                print(f"dropped from {path.name}: {json.loads(line)['text'][:200]}")
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        print(f"{path.name}: kept {len(kept)} of {len(lines)}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--words", type=int, default=5)
    parser.add_argument("--suspect", type=int, default=4)
    parser.add_argument("--drop", action="store_true", help="remove overlapping shipped examples")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from handlers.examples import EXAMPLE_FILES, URGENCY_FILES

    examples = [p for p in (*EXAMPLE_FILES, *URGENCY_FILES) if p.is_file()]
    if args.drop:
        return drop(examples, dev_grams(args.words), args.words)
    paths = args.paths or tracked()
    background: set[tuple[str, ...]] = set()
    for _, _, text in example_texts(examples):
        background |= grams(words(text), args.suspect)
    copied, suspect = dev_grams(args.words), dev_grams(args.suspect) - background
    failed = False
    for path, number, line in repository_lines(paths):
        tokens = words(line)
        where = f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{number}"
        if grams(tokens, args.words) & copied:
            print(f"{args.words}+ words: {where}: {line.strip()[:200]}")
            failed = failed or path in examples
        elif grams(tokens, args.suspect) & suspect:
            print(f"{args.suspect} rare words: {where}: {line.strip()[:200]}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
