"""A running `twoway sandbox` (its own process, as `make run` starts it) and a headless Chromium.

The browser is Debian's `chromium`, driven by Playwright for Python with its executable path
(nothing is downloaded). Without it the browser tests skip, saying why; under CI=true they fail,
because CI installs it (`.ci/run`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.process import clean_env, free_port, healthy, wait_for

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


@dataclass
class RunningSandbox:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    cwd: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def fragments(self, role: str = "supervisor") -> dict[str, Any]:
        answer = requests.get(f"{self.url}/sandbox/fragments", params={"as": role}, timeout=10)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data


def start_sandbox(tmp: Path, *args: str, **env: str) -> RunningSandbox:
    port = free_port()
    log = tmp / "sandbox.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", *args],
        cwd=tmp,
        env=clean_env(PORT=str(port), **env),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    sandbox = RunningSandbox(f"http://127.0.0.1:{port}", process, log, tmp)
    try:
        wait_for("the sandbox to serve", lambda: healthy(sandbox.url, process), timeout=90)
    except AssertionError:
        stop(sandbox)
        raise AssertionError(sandbox.output()) from None
    return sandbox


def stop(sandbox: RunningSandbox) -> None:
    if sandbox.process.poll() is None:
        sandbox.process.send_signal(signal.SIGTERM)
        try:
            sandbox.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sandbox.process.kill()
            sandbox.process.wait()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox for a module's tests, a new simulated post about every 2 seconds."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"), "--every", "2")
    yield running
    stop(running)


def chromium() -> str | None:
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium()
    problem = None
    if path is None:
        problem = "Chromium is not installed (apt-get install chromium; .ci/run installs it)"
    else:
        try:
            from playwright.sync_api import sync_playwright  # the dev extra; absent in a bare install
        except ImportError:
            problem = "Playwright for Python is not installed (pip install -e '.[dev]')"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run on CI: {problem}")
        pytest.skip(problem)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
