"""Running `twoway` as its own process in tests, the way a deployment runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import REPO

PLATFORM_PREFIXES = ("SLACK_", "X_", "FACEBOOK_", "TWOWAY_")


def interruptible() -> None:
    """`preexec_fn` for a child that a test stops with Ctrl-C (SIGINT): a shell starts a background
    job (`make test &`) with SIGINT ignored, every child inherits that, and Python then never
    raises KeyboardInterrupt; a terminal's Ctrl-C reaches a process with the default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy, or fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(base: str, process: subprocess.Popen[bytes]) -> bool:
    """True once `/healthz` answers 200; fails at once if the process has exited."""
    if process.poll() is not None:
        raise AssertionError(f"twoway exited with {process.returncode}")
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def clean_env(**values: str) -> dict[str, str]:
    """The test's environment without anyone's TwoWay settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    return {**env, "PYTHONPATH": str(REPO), **values}


def run_twoway(cwd: Any, *args: str, timeout: float = 60, **values: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` to the end in `cwd`, with only `values` set of TwoWay's settings (no
    DATABASE_URL unless given: the default SQLite file in `cwd`), killed after `timeout` seconds."""
    env = clean_env(**values)
    if "DATABASE_URL" not in values:
        env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
