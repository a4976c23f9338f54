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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.support.lab import TestLab, sweep_dead_labs, wait_for

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
    started = spark_lab.json("spark", "submit", str(script), "--detach")
    job = started["job_id"]
    driver = spark_lab.json("service", "ps", started["service"])
    driver_nodes = {t["node"] for t in driver}
    # A worker node that runs neither the driver nor the master (on m1).
    victim = "w2" if hostnames["w1"] in driver_nodes else "w1"

    def slow_app_running() -> bool:
        status = spark_lab.json("spark", "status", "--stack", "spark")
        return any(a["name"] == "slow" and a["state"] == "RUNNING" for a in status["active_apps"])

    wait_for("the job's application to run", slow_app_running, timeout=180, every=2)
    time.sleep(5)  # its executors are at work
    killed = spark_lab.lab("kill", victim)
    assert killed.returncode == 0, killed.stderr

    waited = spark_lab.run("spark", "wait", job, "--timeout", "300", "--json", timeout=400)
    result = json.loads(waited.stdout)
    print(f"job after losing {victim}: {result['state']} in {result.get('seconds')} s")
    assert result["state"] in ("succeeded", "failed"), result
    if result["state"] == "succeeded":
        assert "sum 15" in result["output"]
    else:
        assert result["error"], "a failed job says why"

    restored = spark_lab.lab("restore", victim)
    assert restored.returncode == 0, restored.stderr
    back = spark_lab.json("spark", "status", "--stack", "spark", "--wait", "240")
    assert back["alive_workers"] == WORKERS
