"""`pip install .` alone gives a working `twoway`: code, migrations and default data ship inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from storage import migrate
from storage.db import make_engine
from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("source") / "twoway"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "*.db*"),
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return zipfile.ZipFile(next(out.glob("twoway-*.whl")))


def test_wheel_ships_migrations_and_default_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "storage/migrations/env.py" in names
    assert "storage/migrations/script.py.mako" in names
    assert any(n.startswith("storage/migrations/versions/0001_") for n in names)
    assert "handlers/data/templates.json" in names
    for part in ("model.safetensors", "tokenizer.json", "config.json", "NOTICE.md"):
        assert f"handlers/data/static-minilm/{part}" in names  # the sentence vectors load offline
    assert "domain.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_declares_the_twoway_console_script(wheel: zipfile.ZipFile) -> None:
    entry_points = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "twoway = bot.app.cli:main" in wheel.read(entry_points).decode()


def test_wheel_ships_no_evaluation_data(wheel: zipfile.ZipFile) -> None:
    """The dev set's licence forbids shipping it, or anything that quotes it."""
    dev_id_prefix = b"lapd" + b"24-"  # built, so that this file itself holds no dev id
    for name in wheel.namelist():
        if name.endswith((".py", ".json", ".csv", ".txt", ".yaml")):
            assert dev_id_prefix not in wheel.read(name), name


def test_db_upgrade_runs_from_any_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "FACEBOOK_", "TWOWAY_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    head = migrate.head_revision(make_engine(env["DATABASE_URL"]))
    assert f"database at revision {head} (head {head})" in result.stdout
    assert (tmp_path / "elsewhere.db").exists()
