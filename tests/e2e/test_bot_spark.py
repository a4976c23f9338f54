"""Chat -> queue -> swarm -> Spark: ``/spark submit pi 100`` in the (double's)
channel, run by a real worker on a real Spark stack, its thread message edited
through running to succeeded with the estimate. The one Spark test of the bot.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.errors import SparkswarmError
from tests.conftest import SESSION_ID, unavailable
from tests.support.bot_harness import OPERATOR, BotLab
from tests.support.cli import cli_env, sparkswarm
from tests.support.engine import remove_prefixed
from tests.support.queue_harness import queue_lab

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, stacks_dir: Path) -> subprocess.CompletedProcess[str]:
    return sparkswarm(*args, env=cli_env(SPARKSWARM_STACKS_DIR=str(stacks_dir)), timeout=300)


@pytest.fixture
def spark_stack(gw: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A ready-made spark stack (2 workers) under a prefixed name; removed after."""
    from sparkswarm.spark.version import OFFICIAL_IMAGE

    if not gw.api.images(name=OFFICIAL_IMAGE):
        unavailable(f"{OFFICIAL_IMAGE} is not built (sparkswarm images build spark)")
    prefix = f"{SESSION_ID}{secrets.token_hex(2)}"
    stack = f"{prefix}-spark"
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / stack).symlink_to(REPO / "stacks" / "spark")
    secret_existed = bool(gw.api.secrets(filters={"name": "spark_auth"}))
    try:
        done = _cli("stack", "deploy", stack, "--set", "workers=2", stacks_dir=stacks)
        assert done.returncode == 0, done.stderr
        ready = _cli("spark", "status", "--stack", stack, "--wait", "180", stacks_dir=stacks)
        assert ready.returncode == 0, ready.stderr
        yield stack, stacks
    finally:
        remove_prefixed(gw, prefix)
        if not secret_existed:
            with contextlib.suppress(SparkswarmError):
                gw.api.remove_secret("spark_auth")


def test_spark_submit_pi_from_chat_is_edited_through_to_the_estimate(
    spark_stack: tuple[str, Path], tmp_path: Path
) -> None:
    stack, stacks = spark_stack
    (tmp_path / "q").mkdir()
    with queue_lab(tmp_path / "q") as lab:
        lab.start_worker(concurrency=2, SPARKSWARM_STACKS_DIR=str(stacks))
        bots = BotLab(lab, tmp_path / "q")
        try:
            bots.start_http()
            answer = bots.slash("/spark", f"submit pi 100 --stack {stack}", OPERATOR)
            assert answer.status_code == 200
            words = f"spark submit pi 100 --stack {stack}"
            final = bots.wait_final(words, timeout=400, proc=lab.processes[0])
            assert "*succeeded*" in final.text, final.text
            assert "Pi is roughly 3.1" in final.text
            texts = [str(c.args.get("text")) for c in bots.web.calls_of("chat.update")]
            assert any("*running*" in t and words in t for t in texts)
        finally:
            bots.stop()
