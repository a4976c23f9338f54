"""The main job end to end, as the quickstart runs it: the CLI submits to the
queue, a real worker process executes on the real swarm, real Spark runs a
PySpark job, and the result comes back to the CLI and into the run records.

Everything runs under a random stack name with its own redis-server and
queue, so it cannot meet another test's (or a user's) stack.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SESSION_ID
from tests.support.engine import remove_prefixed
from tests.support.queue_harness import QueueLab, queue_lab

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("e2e-queue")) as running:
        running.start_worker(concurrency=2)
        yield running


@pytest.fixture(scope="module")
def stacks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stacks")


def cli(lab: QueueLab, stacks: Path, *args: str, timeout: float = 600) -> Any:
    """``sparkswarm ARGS`` with the lab's broker: mutating commands go through the queue."""
    return lab.cli(*args, env=lab.env(SPARKSWARM_STACKS_DIR=str(stacks)), timeout=timeout)


def test_a_pyspark_job_through_the_queue(gw: Any, lab: QueueLab, stacks_dir: Path) -> None:
    from sparkswarm.images import build_image
    from sparkswarm.spark.version import OFFICIAL_IMAGE

    assert OFFICIAL_IMAGE in build_image(gw, name="spark").tags
    prefix = f"{SESSION_ID}{secrets.token_hex(2)}"
    stack = f"{prefix}-spark"
    (stacks_dir / stack).symlink_to(REPO / "stacks" / "spark")
    secret_existed = bool(gw.secrets(filters={"name": "spark_auth"}))
    try:
        # `spark up`: the ready-made stack deployed, and its workers waited for, by the worker.
        ready = cli(lab, stacks_dir, "spark", "up", "--stack", stack, "--workers", str(WORKERS))
        assert ready.returncode == 0, ready.stderr
        assert f"{WORKERS} workers ALIVE" in ready.stdout

        # The worker starts the driver and returns; its watcher thread follows the
        # job; the CLI follows the job's record to the end and prints the output.
        done = cli(lab, stacks_dir, "spark", "submit", "pi", "2", "--stack", stack)
        assert done.returncode == 0, done.stderr + done.stdout + lab.processes[0].tail()
        assert "Pi is roughly 3.1" in done.stdout

        runs = {run.op: run for run in lab.client().list(limit=20)}
        for op in ("spark.up", "spark.submit"):
            assert runs[op].state == "succeeded" and runs[op].source == "cli", runs[op]
        submitted = runs["spark.submit"]
        assert submitted.target == f"spark:{stack}"
        assert submitted.result is not None
        job = cli(lab, stacks_dir, "spark", "job", submitted.result["job_id"], "--json")
        assert job.returncode == 0, job.stderr
        record = json.loads(job.stdout)
        assert record["state"] == "SUCCEEDED" and record["run_id"] == submitted.id
        assert any(line.startswith("Pi is roughly 3.1") for line in record["output"])

        # `spark down`: the cluster goes (through the queue); the job's record stays.
        down = cli(lab, stacks_dir, "spark", "down", "--stack", stack)
        assert down.returncode == 0, down.stderr
        assert not [s for s in gw.services() if s["Spec"]["Name"].startswith(stack)]
        kept = cli(lab, stacks_dir, "spark", "jobs", "--json")
        assert submitted.result["job_id"] in [j["id"] for j in json.loads(kept.stdout)]
    finally:
        remove_prefixed(gw, prefix)
        if not secret_existed:
            from sparkswarm.errors import SparkswarmError

            with contextlib.suppress(SparkswarmError):
                gw.remove_secret("spark_auth")
