"""`twoway sandbox` and `twoway start` (what `make run` runs): which mode, said first, and refusals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox.conftest import start_sandbox
from tests.support.process import clean_env, free_port, wait_for

SANDBOX_LINE = "TwoWay sandbox mode"
LIVE_LINE = "TwoWay live mode"


def first_line_then_stop(tmp_path: Path, *argv: str, **env: str) -> tuple[str, str]:
    """The first line the command prints, then it is stopped; and what it printed on stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv],
        cwd=tmp_path,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    return line, err.decode()


def run(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_without_a_slack_token_opens_the_sandbox_and_says_so_first(tmp_path: Path) -> None:
    port = free_port()
    line, _err = first_line_then_stop(tmp_path, "start", "--every", "0", PORT=str(port))
    assert line.startswith(SANDBOX_LINE)
    assert f"http://127.0.0.1:{port}" in line
    assert "nothing leaves this machine" in line
    assert "SLACK_BOT_TOKEN" in line  # how to switch to the real Slack


def test_start_with_a_slack_token_runs_twoway_for_real_and_says_so_first(tmp_path: Path) -> None:
    # Half a Slack configuration: the live mode is chosen, then `twoway run` names what is missing.
    result = run(tmp_path, "start", SLACK_BOT_TOKEN="xoxb-a-real-looking-token", PORT=str(free_port()))
    assert result.stdout.splitlines()[0].startswith(LIVE_LINE)
    assert "sandbox" in result.stdout.splitlines()[0]  # how to switch back
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "twoway: SLACK_SIGNING_SECRET is not set: expected the signing secret from your Slack app's Basic Information page"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X_BEARER_TOKEN", "AAAA-real-bearer"),
        ("FACEBOOK_PAGE_TOKEN", "EAAB-real-page-token"),
        ("SLACK_SIGNING_SECRET", "0123456789abcdef"),
        ("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop"),
        # Accounts named from the environment: the simulated platforms do not know them.
        ("FACEBOOK_PAGE_ID", "1000000000001"),
        ("INSTAGRAM_ACCOUNT_ID", "17841400000000001"),
        ("THREADS_USER_ID", "2000000000000001"),
        ("BLUESKY_HANDLE", "agency.example.org"),
    ],
)
def test_the_sandbox_refuses_to_start_with_real_credentials(tmp_path: Path, name: str, value: str) -> None:
    result = run(tmp_path, "sandbox", PORT=str(free_port()), **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"twoway: {name} is set: the sandbox never runs with real credentials")
    assert value not in result.stderr + result.stdout
    assert not (tmp_path / "twoway-sandbox.db").exists()


def test_credentials_in_dot_env_are_refused_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("X_API_KEY=consumer-key-from-the-portal\n")
    result = run(tmp_path, "sandbox", PORT=str(free_port()))
    assert result.returncode == 2
    assert "X_API_KEY is set" in result.stderr


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "sandbox", PORT=str(port))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"twoway: PORT {port} is already in use by another program: stop it or set PORT"
    )


def test_run_without_tokens_keeps_its_documented_answer(tmp_path: Path) -> None:
    result = run(tmp_path, "run", PORT=str(free_port()))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("twoway: SLACK_BOT_TOKEN is not set")


def test_sigterm_during_a_storm_stops_the_sandbox_within_seconds_and_quietly(tmp_path: Path) -> None:
    """A storm's cards take minutes to post: stopping must not wait for them, nor post them to a
    simulated Slack that is already gone ("Connection refused", cards recorded as failed)."""
    sandbox = start_sandbox(tmp_path, "--every", "0.05")
    try:
        wait_for(
            "a storm card",
            lambda: "storm_queue" in sandbox.fragments()["conversations"]["C0SANDBOX1"],
            timeout=120,
        )
        time.sleep(5)  # the Slack worker is busy posting the storm's cards
        before = sandbox.output()
        sandbox.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        sandbox.process.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        if sandbox.process.poll() is None:
            sandbox.process.kill()
            sandbox.process.wait()
    after = sandbox.output()[len(before) :]
    assert took < 10, f"still running {took:.0f} s after SIGTERM"
    assert sandbox.process.returncode == 0
    assert "Connection refused" not in after
    assert "not posted" not in after
