"""A second Spark job that does not fit: how soon autoscaling lets it start.

Deploys a spark stack (under a random name, removed at the end) with one
worker of 1 core and autoscaling on (``autoscale_min=1``, ``autoscale_max=3``,
a short cool-down, ``autoscale_queue`` naming this bench's own queue, so
only its Spark watcher scales the stack), starts that queue (its own
redis-server, a worker and a Spark watcher looking every second), then
``--runs`` times:

- job A (1 core, sleeps) is submitted and runs on the one worker;
- job B (1 core) is submitted: it does not fit, the watcher scales the
  workers up, and B gets executors. Figure: B queued -> B started (its job
  record's ``created_at`` -> ``started_at``), and the worker count then;
- both are cancelled and the workers go back to 1 after the cool-down.

Prints each run's figure, the median and the worst (goal: under 30 s when
the maximum allows). Run it under ``flock /tmp/ssw-spark.lock``:

    .venv/bin/python bench/spark_autoscale.py [--runs 3] [--cooldown 5]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the gateway, the queue harness
SLEEPER = (
    "import time\n"
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.appName('sleeper').getOrCreate()\n"
    "print('counted', spark.sparkContext.parallelize(range(4), 1).count(), flush=True)\n"
    "time.sleep(600)\n"
)
T = TypeVar("T")


def until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """``check()``'s first true value within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise SystemExit(f"bench: gave up waiting for {what} after {timeout:.0f} s")


def submit(lab: Any, script: Path, stack: str, user: str) -> str:
    """Submit ``script`` through the lab's queue as local user ``user``
    (each job another user: no quota holds one back); its job id."""
    done = lab.cli(
        "spark", "submit", str(script), "--stack", stack, "--total-executor-cores", "1",
        "--detach", env=lab.env(LOGNAME=user, USER=user), timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench: spark submit failed:\n{done.stderr[-2000:]}")
    for line in done.stderr.splitlines():
        words = line.split()
        if len(words) > 2 and words[0] == "job":  # "job ID STATE ..." or "job ID: ..."
            return words[1].rstrip(":")
    raise SystemExit(f"bench: no job id in:\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cooldown", type=int, default=5, help="autoscale_cooldown (s)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 5:
        parser.error("--runs is between 1 and 5")
    if not 1 <= args.cooldown <= 120:
        parser.error("--cooldown is between 1 and 120")

    from sparkswarm.operations import run_operation
    from sparkswarm.spark.cluster import up_params
    from sparkswarm.workers.spark_jobs import JobStore
    from tests.support.engine import EngineGateway, remove_prefixed
    from tests.support.queue_harness import Process, queue_lab

    gw = EngineGateway()
    from sparkswarm.images import build_image

    build_image(gw, name="spark")  # idempotent; minutes only the first time on an engine
    prefix = f"bench{secrets.token_hex(2)}"
    stack = f"{prefix}-spark"
    worker = f"{stack}_worker"

    def replicas() -> int:
        return int(gw.api.inspect_service(worker)["Spec"]["Mode"]["Replicated"]["Replicas"])

    figures: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ssw-bench-") as folder, queue_lab(Path(folder)) as lab:
        quota = {"SPARKSWARM_SPARK_QUOTA_JOBS": "10", "SPARKSWARM_SPARK_QUOTA_CORES": "10"}
        lab.start_worker(concurrency=2, SPARKSWARM_SPARK_WATCHER_IN_WORKER="false", **quota)
        watcher = Process(
            ["spark-watcher"],
            lab.env(
                SPARKSWARM_SPARK_AUTOSCALE_INTERVAL="1",
                SPARKSWARM_SPARK_WATCH_INTERVAL="0.5",
                **quota,
            ),
            Path(folder) / "watcher.log",
        )
        lab.processes.append(watcher)
        watcher.wait_ready("spark watcher started", 30)
        script = Path(folder) / "sleeper.py"
        script.write_text(SLEEPER)
        jobs = JobStore.for_client(lab.client())

        def started_at(job_id: str) -> float | None:
            return jobs.get(job_id).started_at

        try:
            print(f"deploying {stack} (1 worker of 1 core, autoscaling 1..3) ...", flush=True)
            sets = [
                f"auth_secret={prefix}-auth",
                "autoscale_min=1",
                "autoscale_max=3",
                f"autoscale_cooldown={args.cooldown}",
                f"autoscale_queue={lab.queue}",
            ]
            params = up_params(stack, workers=1, worker_cores=1, sets=sets)
            run_operation(gw, "spark.up", params, lambda *_, **__: None)
            for run in range(1, args.runs + 1):
                first = submit(lab, script, stack, f"a{run}")
                until(partial(started_at, first), 300, f"job {first} started")
                second = submit(lab, script, stack, f"b{run}")
                started = until(partial(started_at, second), 300, f"job {second} started")
                queued_at = jobs.get(second).created_at
                waited = started - queued_at
                figures.append(waited)
                # Where the time went: the autoscaler's first scale-up after B
                # was queued (a recorded run with its reason).
                ups = sorted(
                    (r for r in lab.client().list(limit=200) if r.requester == "autoscaler"),
                    key=lambda r: r.created_at,
                )
                up = next((r for r in ups if r.created_at >= queued_at), None)
                decided = f"{up.created_at - queued_at:6.2f} s" if up else "   none"
                print(
                    f"run {run}: second job queued -> started {waited:6.2f} s "
                    f"(queued -> scale-up run {decided}; workers now {replicas()})",
                    flush=True,
                )
                if up is not None:
                    print(f"  scale-up: {' '.join(up.notes)[:200]}", flush=True)
                for job_id, user in ((first, f"a{run}"), (second, f"b{run}")):
                    lab.cli(
                        "spark", "cancel", job_id, "--stack", stack,
                        env=lab.env(LOGNAME=user, USER=user), timeout=120,
                    )  # fmt: skip
                until(lambda: replicas() == 1, 120 + 4 * args.cooldown, "the scale-down to 1")
        finally:
            remove_prefixed(gw, prefix)
    print(
        f"second job queued -> started over {len(figures)} runs: median "
        f"{statistics.median(figures):.2f} s, worst {max(figures):.2f} s (goal < 30 s)"
    )


if __name__ == "__main__":
    main()
