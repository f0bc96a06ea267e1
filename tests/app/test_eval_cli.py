"""`twoway eval` and `twoway classify` as an operator runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.cli import main
from domain import CATEGORIES
from tests.conftest import REPO

ROWS = [
    ("Thank you officers for helping my mom after her accident", "compliment", "0"),
    ("Congratulations Sergeant Kim on your retirement!", "compliment", "0"),
    ("How do I get a copy of my police report?", "question", "0"),
    ("where can I pick up my towed car", "question", "0"),
    ("Useless. Nobody came when I called about the burglary", "criticism", "0"),
    ("Thanks for nothing, the alert came two hours late", "criticism", "0"),
    ("The mayor needs to go", "other", "0"),
    ("BREAKING: crash closes the 101 https://t.co/abc", "other", "0"),
    ("Someone is breaking into my car right now on Vermont, please send someone", "question", "1"),
]
KEYS = {
    "macro_f1",
    "per_class",
    "urgent_recall",
    "urgent_precision",
    "urgent_share",
    "n",
    "mentions_per_s",
    "harm",
}


def write_csv(
    path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("id", "text", "label", "urgent")
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow((f"t{i}", *row) if header[0] == "id" else row)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_eval_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "labelled.csv", ROWS)
    assert main(["eval", str(path)]) == 0
    out = capsys.readouterr().out
    for label in CATEGORIES:
        assert label in out
    for needle in (
        "precision",
        "recall",
        "macro-F1",
        "confusion",
        "urgent recall",
        "flagged urgent",
        "mentions/s",
        "non-compliments thanked",
        "emergencies without the 911 line",
    ):
        assert needle in out


def test_eval_json_is_one_object_with_the_promised_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "labelled.csv", ROWS)
    assert main(["eval", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    assert figures["n"] == len(ROWS)
    assert set(figures["per_class"]) == set(CATEGORIES)
    for row in figures["per_class"].values():
        assert set(row) == {"precision", "recall", "f1"}
        assert all(0.0 <= v <= 1.0 for v in row.values())
    assert figures["urgent_recall"] == 1.0
    assert figures["urgent_share"] == pytest.approx(1 / len(ROWS), abs=1e-3)
    assert figures["mentions_per_s"] > 0
    assert 0.0 <= figures["macro_f1"] <= 1.0
    # The one emergency leads with the 911 line; no row that is no compliment is thanked.
    assert figures["harm"]["emergency_without_911"] == 0.0
    assert figures["harm"]["thanks_to_non_compliment"] == 0.0


def test_harm_counts_a_thank_you_to_a_complaint_and_an_emergency_without_911(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Labels that disagree with the model: its compliment is a complaint, its calm post an emergency."""
    rows = [
        ("Thank you officers for everything you do!", "criticism", "0"),
        ("Lakers in 5", "other", "1"),
        ("The mayor needs to go", "other", "0"),
    ]
    path = write_csv(tmp_path / "harm.csv", rows)
    assert main(["eval", str(path), "--json"]) == 0
    harm = json.loads(capsys.readouterr().out)["harm"]
    assert harm["thanks_to_non_compliment"] == pytest.approx(1 / 3, abs=1e-3)
    assert harm["emergency_without_911"] == 1.0
    assert (harm["non_compliments_thanked"], harm["emergencies_without_911"]) == (1, 1)


def test_without_an_urgent_column_urgent_figures_are_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "plain.csv", [(t, label) for t, label, _ in ROWS], header=("text", "label"))
    assert main(["eval", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["urgent_recall"] is None
    assert figures["urgent_precision"] is None
    assert figures["harm"]["emergency_without_911"] is None
    assert figures["urgent_share"] > 0


def test_urgent_recall_is_undefined_when_no_row_is_urgent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "calm.csv", [row for row in ROWS if row[2] == "0"])
    assert main(["eval", str(path)]) == 0
    assert "urgent recall n/a, precision n/a; 0.0% of posts flagged urgent (0)" in capsys.readouterr().out


def test_corrections_report_after_and_before(tmp_path: Path) -> None:
    """The real CLI: stdout is the JSON object alone, learning figures included."""
    corrections = CORRECTIONS
    evaluation = write_csv(tmp_path / "eval.csv", ROWS)
    other = write_csv(tmp_path / "corrections.csv", corrections)
    result = run_cli("eval", str(evaluation), "--json", "--corrections", str(other))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) >= KEYS
    assert set(figures["before"]) >= KEYS
    assert figures["learning"]["n_corrections"] == len(corrections)
    assert isinstance(figures["learning"]["accepted"], bool)
    assert figures["before"]["n"] == figures["n"] == len(ROWS)
    assert figures["learning"]["overlap"] == 0
    assert result.stderr == ""


CORRECTIONS = [
    (f"{topic} tickets for the game tonight, anyone selling?", "other", "0")
    for topic in ("Dodgers", "Lakers", "Rams", "Clippers", "Kings", "Galaxy", "Sparks", "Chargers")
] + [
    ("Thank you for finding my bike!", "compliment", "0"),
    ("Can an officer call me back about my report", "question", "0"),
    ("You never show up, useless department", "criticism", "0"),
    ("Where do I report a stolen license plate?", "question", "0"),
]


def test_corrections_that_overlap_the_file_warn_on_stderr_only(tmp_path: Path) -> None:
    """Texts compared stripped, as corrections are de-duplicated; stdout stays one JSON object.
    (Too few corrections to learn from, which keeps the test fast: the overlap is counted anyway.)"""
    evaluation = write_csv(tmp_path / "eval.csv", ROWS)
    shared = [(f"  {text} ", label, urgent) for text, label, urgent in ROWS[:3]]
    other = write_csv(tmp_path / "corrections.csv", CORRECTIONS[:3] + shared)
    result = run_cli("eval", str(evaluation), "--json", "--corrections", str(other))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["learning"]["overlap"] == 3
    assert result.stderr.strip().splitlines() == [
        f"twoway: warning: 3 posts of {evaluation} are also in {other};"
        " the figures after learning are not a fair test"
    ]


def test_the_after_title_names_the_model_the_figures_are_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evaluation = write_csv(tmp_path / "eval.csv", ROWS)
    few = write_csv(tmp_path / "few.csv", CORRECTIONS[:3])
    assert main(["eval", str(evaluation), "--corrections", str(few)]) == 0
    out = capsys.readouterr().out
    assert (
        f"After: base model kept (learning rejected: needs at least 10 corrections, has 3) on {evaluation}"
        in out
    )
    assert "agency model" not in out
    # Twelve corrections the base model already gets right: a tie, which is accepted.
    enough = write_csv(tmp_path / "enough.csv", CORRECTIONS)
    assert main(["eval", str(evaluation), "--corrections", str(enough)]) == 0
    out = capsys.readouterr().out
    if ": accepted" in out:
        assert f"After: agency model on {evaluation}" in out
    else:
        assert "After: base model kept (learning rejected: held-back macro-F1" in out


def test_undefined_per_class_figures_are_null_and_n_a(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No criticism row: its recall and F1 are undefined (null), not 0; its precision is null
    unless the model predicted criticism for some post (then 0). A class with rows has a recall and an F1."""
    path = write_csv(tmp_path / "no-criticism.csv", [row for row in ROWS if row[1] != "criticism"])
    assert main(["eval", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    for label in CATEGORIES:
        row, support = figures["per_class"][label], figures["support"][label]
        n_predicted = sum(figures["confusion"][t][label] for t in CATEGORIES)
        assert (row["recall"] is None) == (support == 0), label
        assert (row["f1"] is None) == (support == 0), label
        assert (row["precision"] is None) == (n_predicted == 0), label
        if support and not n_predicted:
            assert row["f1"] == 0.0
    criticism = figures["per_class"]["criticism"]
    assert criticism["recall"] is None
    assert criticism["f1"] is None
    assert main(["eval", str(path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("criticism"))
    assert line.split()[2:4] == ["n/a", "n/a"]
    assert line.split()[4] == "0"


def test_a_spreadsheet_export_is_read_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Byte-order mark, CRLF line ends, capitalised headers and labels, 1.0/TRUE flags, a quoted line break."""
    content = (
        "\ufeffID,Text,Label,Urgent,Note\r\n"
        "a1,Thank you officers for the help today!, Compliment ,0.0,\r\n"
        'a2,"Shots fired outside my house right now\r\nplease send someone",QUESTION,TRUE,hard\r\n'
        "a3,How do I get a copy of my police report,question,1.0,\r\n"
    )
    path = tmp_path / "export.csv"
    path.write_bytes(content.encode("utf-8"))
    assert main(["eval", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 3
    assert figures["support"] == {"compliment": 1, "question": 2, "criticism": 0, "other": 0}
    assert figures["urgent_recall"] == 0.5  # the shots-fired post is flagged; the report request is not


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,category\nhello,other\n", "missing column label"),
        ("label\nother\n", "missing column text"),
        ("text,label\nhello,praise\n", "line 2: unknown label 'praise'"),
        ("text,label,urgent\nhello,other,maybe\n", "urgent must be 1 or 0"),
        ("text,label\n", "no rows"),
        ("", "the file is empty"),
        ("text,label\nhello,other\nonly a text cell\n", "line 3: the row has no label"),
        ("text,label\nhello,other\nhi,\n", "line 3: the row has no label"),
        (
            'text,label\nhello,other\n"an unterminated quote,other\nnext,other\n',
            "line 3: the row has no label (check for an unterminated quote)",
        ),
        (
            'text,label\nhello,"other\nnext,other\n',
            "line 2: unknown label 'other\\nnext,other' (check for an",
        ),
        ("text,label\n" + "x" * (17 * 1024 * 1024) + ",other\n", "line 2: a field is larger than 16 MB"),
        (  # a stray quote that closes on a later line: two rows would be read as one
            'text,label\n"thank you officers,compliment\n"you are useless",criticism\n"where?",question\n',
            "line 2: the text runs into the next line and its quotes do not close cleanly",
        ),
    ],
)
def test_malformed_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["eval", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert lines[0].startswith(f"twoway: {path}")
    assert "unknown label ''" not in lines[0]
    assert "UTF-8" not in lines[0]


def test_a_header_only_corrections_file_says_there_are_no_corrections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_csv(tmp_path / "good.csv", ROWS)
    empty = write_csv(tmp_path / "empty.csv", [])
    assert main(["eval", str(good), "--corrections", str(empty)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [f"twoway: no corrections in {empty}"]


def test_the_real_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,praise\n", encoding="utf-8")
    result = run_cli("eval", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"twoway: {path}, line 2: unknown label 'praise' (use compliment, question, criticism, other)"
    ]


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text,label\n\xff\xfe\x00bad,other\n")
    assert main(["eval", str(binary)]) == 2
    assert "not a UTF-8 CSV" in capsys.readouterr().err
    good = write_csv(tmp_path / "good.csv", ROWS)
    assert main(["eval", str(good), "--corrections", str(tmp_path / "nope.csv")]) == 2


def test_classify_prints_category_confidence_urgency_and_drafts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "Someone is breaking into my house right now please send help"]) == 0
    out = capsys.readouterr().out
    assert "category:" in out
    assert "confidence:" in out
    assert "urgent:     YES, reports a break-in" in out
    assert "call 911" in out
    assert main(["classify", "Thank you officers for helping my grandma today!"]) == 0
    out = capsys.readouterr().out
    assert "category:   compliment" in out
    assert "urgent:     no" in out
    assert "1. " in out


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "-_-"],
        ["classify", "--"],
        ["classify", "--", "-x"],
        ["classify", "-x", "--platform", "facebook"],
        ["classify", "--platform", "facebook", "-x"],
        ["classify", "--platform=facebook", "-_-"],
        ["classify", "-_-", "--plat", "facebook"],
    ],
)
def test_classify_takes_a_text_that_starts_with_a_dash(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "category:" in captured.out
    assert captured.err == ""


def test_classify_argv_keeps_options_and_moves_the_text() -> None:
    from bot.app.cli import classify_argv

    assert classify_argv(["classify", "-_-"]) == ["classify", "--", "-_-"]
    assert classify_argv(["classify", "--"]) == ["classify", "--", "--"]
    assert classify_argv(["classify", "--", "-x"]) == ["classify", "--", "-x"]
    assert classify_argv(["classify", "hi", "--platform", "x"]) == ["classify", "--platform", "x", "--", "hi"]
    assert classify_argv(["classify", "-h"]) == ["classify", "-h"]
    assert classify_argv(["classify"]) == ["classify"]
    assert classify_argv(["eval", "-x.csv"]) == ["eval", "-x.csv"]


def test_classify_help_and_missing_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["classify", "-h"])
    assert exit_.value.code == 0
    assert "usage: twoway classify" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["classify"])
    assert exit_.value.code == 2
    assert "required: text" in capsys.readouterr().err


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`twoway classify ... | head -1`: the pipe closes while TwoWay still prints."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "classify", "How do I get a copy of a police report?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert process.stdout is not None
    process.stdout.read(1)
    process.stdout.close()  # what `head` does once it has its line
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err
    assert process.returncode in (0, 1)
