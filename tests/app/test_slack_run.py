"""`twoway run` in HTTP mode: the production server answers signed requests on $PORT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.fakes.slack_api import FakeSlack
from tests.support.process import interruptible
from tests.support.signed import BOT_TOKEN, SIGNING_SECRET, SlackSender


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_twoway_run_serves_slack_over_http(tmp_path: Path) -> None:
    port = free_port()
    fake = FakeSlack()
    with fake:
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "TWOWAY_", "X_", "FACEBOOK_"))
            },
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "PORT": str(port),
            "TWOWAY_SCHEDULER": "false",
            "TWOWAY_ADMINS": "U0ADMIN01",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=interruptible,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(base + "/healthz", timeout=1).text == "ok":
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            else:
                raise AssertionError("twoway run did not come up")
            sender = SlackSender(base, SIGNING_SECRET, fake.response_url_base)
            answer = sender.command("frobnicate", "U0ADMIN01")
            assert answer.status == 200
            assert "Unknown subcommand" in answer.text
            assert sender.command("help", "U0ADMIN01", stale=True).status == 401
        finally:
            process.send_signal(signal.SIGINT)
            try:
                output = process.communicate(timeout=20)[0].decode()
            except subprocess.TimeoutExpired:
                process.kill()
                output = process.communicate()[0].decode()
        assert BOT_TOKEN not in output
        assert SIGNING_SECRET not in output
