"""The bot's health endpoint (``bot --health-port``), asked the way the
platform stack's health check asks it: a real bot process in Socket Mode
against the Slack double, on a real redis-server. Healthy while all is up;
503 with the reason when the Slack connection or Redis goes away."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.bot_harness import BotLab
from tests.support.queue_harness import QueueLab, free_port, queue_lab, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QueueLab]:
    with queue_lab(tmp_path) as running:  # its own Redis: the test stops it
        yield running


def health(port: int) -> tuple[int, str]:
    answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    return answer.status_code, answer.text.strip()


def stack_check(port: int) -> int:
    """The exit code of the platform stack's health check of the bot (bot.yml)."""
    url = f"http://127.0.0.1:{port}/healthz"
    done = subprocess.run(
        [sys.executable, "-m", "sparkswarm.workers.health", "http", url],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode


def test_the_bots_health_follows_its_slack_connection_and_its_redis(lab: QueueLab) -> None:
    bots = BotLab(lab, lab.folder)
    port = free_port()
    try:
        bot = bots.start_socket("--health-port", str(port))
        status = wait_for(
            lambda: health(port),
            20,
            "the health endpoint",
            ignore=(requests.RequestException,),
            explain=bot.tail,
        )
        assert status == (200, "ok")
        assert stack_check(port) == 0
        assert requests.get(f"http://127.0.0.1:{port}/other", timeout=10).status_code == 404

        bots.sock.stop()  # Slack's websocket goes away
        status = wait_for(lambda: (s := health(port))[0] == 503 and s, 30, "a 503")
        assert status[1] == "the Socket Mode connection to Slack is down"
        assert stack_check(port) == 1

        lab.redis_server.stop()
        status = wait_for(lambda: "Redis" in (s := health(port))[1] and s, 30, "Redis down")
        assert status[0] == 503 and status[1].startswith("the queue's Redis does not answer")
    finally:
        bots.stop()


def test_a_bad_health_port_is_refused_before_anything_starts(lab: QueueLab) -> None:
    done = lab.cli("bot", "--socket", "--health-port", "70000")
    assert done.returncode == 2
    assert "--health-port 70000: not a port" in done.stderr
