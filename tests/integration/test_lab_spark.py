"""The Spark stack on a real lab (1 manager, 2 workers), what one node cannot show.

The lab copies the Spark image (~1 GB: saved once, loaded into 3 engines)
and the stack is deployed with the user's commands, with the multinode
overlay (master and history on the manager, workers on worker nodes).
Checked: workers on two different nodes, ``pi`` through ``spark submit``,
and a worker node killed in the middle of a job: the job ends (succeeded,
or failed with a reason, never stuck) and the cluster is back at its
worker count once the node is restored.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.support.cli import SPARKSWARM
from tests.support.lab import TestLab, sweep_dead_labs
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.multinode]

REPO = Path(__file__).resolve().parents[2]
SPARK = REPO / "stacks" / "spark"
WORKERS = 2
SLOW_JOB = (
    "import time\n"
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.appName('slow').getOrCreate()\n"
    "rdd = spark.sparkContext.parallelize(range(6), 6)\n"
    "print('sum', rdd.map(lambda x: (time.sleep(10), x)[1]).sum())\n"
)


@pytest.fixture(scope="module")
def spark_lab(gw: Any) -> Iterator[TestLab]:
    from sparkswarm.images import build_image
    from sparkswarm.lab.host import missing_requirements
    from sparkswarm.spark.version import OFFICIAL_IMAGE

    missing = missing_requirements()
    if missing:
        unavailable("a lab needs " + "; ".join(missing))
    assert OFFICIAL_IMAGE in build_image(gw, name="spark").tags  # at once when it exists
    sweep_dead_labs()
    lab = TestLab()
    try:
        started = time.monotonic()
        lab.up("--managers", "1", "--workers", "2", "--image", OFFICIAL_IMAGE)
        print(f"lab up 1+2 with the Spark image: {time.monotonic() - started:.0f} s")
        deployed = lab.run(
            "stack", "deploy", "spark",
            "-c", str(SPARK / "stack.yml"), "-c", str(SPARK / "multinode.yml"),
            "--set", f"workers={WORKERS}",
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        ready = lab.json("spark", "status", "--stack", "spark", "--wait", "240")
        assert ready["alive_workers"] == WORKERS
        yield lab
    finally:
        lab.down()
        lab.remove_base()


def _worker_nodes(lab: TestLab) -> dict[str, str]:
    """Running Spark worker tasks: task id -> lab node hostname."""
    tasks = lab.json("service", "ps", "spark_worker", "--running")
    return {t["id"]: t["node"] for t in tasks if t["current_state"] == "running"}


def test_workers_run_on_two_nodes_and_pi_runs(spark_lab: TestLab) -> None:
    hostnames = {n["name"]: n["hostname"] for n in spark_lab.status()["nodes"]}
    on = _worker_nodes(spark_lab)
    assert sorted(on.values()) == sorted([hostnames["w1"], hostnames["w2"]])
    status = spark_lab.json("spark", "status", "--stack", "spark")
    hosts = [w["host"] for w in status["workers"] if w["state"] == "ALIVE"]
    assert len(hosts) == WORKERS and len(set(hosts)) == WORKERS

    done = spark_lab.run("spark", "submit", str(SPARK / "jobs" / "pi.py"), "--arg", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Pi is roughly 3.1"), done.stdout


def test_a_worker_node_dies_mid_job_the_job_ends_and_the_cluster_recovers(
    spark_lab: TestLab, tmp_path: Path
) -> None:
    hostnames = {n["name"]: n["hostname"] for n in spark_lab.status()["nodes"]}
    script = tmp_path / "slow.py"
    script.write_text(SLOW_JOB)
    # No broker here: the submitting process follows the job itself, to its
    # end, and prints the final job record.
    submitting = subprocess.Popen(
        [SPARKSWARM, "spark", "submit", str(script), "--json"],
        env=spark_lab.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def driver_service() -> str | None:
        names = [s["name"] for s in spark_lab.json("service", "ls")]
        return next((n for n in names if n.startswith("spark-job-")), None)

    service = wait_for(driver_service, 120, "the job's driver service", interval=1.0)
    driver_nodes = {t["node"] for t in spark_lab.json("service", "ps", service)}
    # A worker node that runs neither the driver nor the master (on m1).
    victim = "w2" if hostnames["w1"] in driver_nodes else "w1"

    def slow_app_running() -> bool:
        status = spark_lab.json("spark", "status", "--stack", "spark")
        return any(a["name"] == "slow" and a["state"] == "RUNNING" for a in status["active_apps"])

    wait_for(slow_app_running, 180, "the job's application to run", interval=2.0)
    time.sleep(5)  # its executors are at work
    killed = spark_lab.lab("kill", victim)
    assert killed.returncode == 0, killed.stderr

    try:
        out, err = submitting.communicate(timeout=400)
    finally:
        if submitting.poll() is None:
            submitting.kill()
    result = json.loads(out)
    print(f"job after losing {victim}: {result['state']} ({result.get('reason')})")
    assert result["state"] in ("SUCCEEDED", "FAILED"), (result, err)
    if result["state"] == "SUCCEEDED":
        assert "sum 15" in result["output"]
    else:
        assert result["reason"], "a failed job says why"

    restored = spark_lab.lab("restore", victim)
    assert restored.returncode == 0, restored.stderr
    back = spark_lab.json("spark", "status", "--stack", "spark", "--wait", "240")
    assert back["alive_workers"] == WORKERS
