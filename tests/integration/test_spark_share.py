"""Sharing one Spark cluster between users: quotas on the real engine with
real Spark (the session's stack, as in ``test_spark.py``: 2 workers of 1
core; the autoscaling test scales its workers, so it deploys a stack of its
own), jobs submitted through a queue of this module's own whose worker and
watcher give everyone a quota of 1 running job and 1 core.

Two users are two local accounts as the CLI sees them (``LOGNAME``: the
requester is ``user@host``).
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_spark import job_events, record, start_watcher, wait_state
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.spark]

QUOTA = {"SPARKSWARM_SPARK_QUOTA_JOBS": "1", "SPARKSWARM_SPARK_QUOTA_CORES": "1"}
SHORT = (
    "import time\n"
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.appName('short').getOrCreate()\n"
    "print('counted', spark.sparkContext.parallelize(range(4), 1).count(), flush=True)\n"
    "time.sleep({seconds})\n"
    "print('done', flush=True)\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A queue whose worker and watcher hold everyone to 1 job and 1 core."""
    from tests.support.queue_harness import queue_lab

    with queue_lab(tmp_path_factory.mktemp("spark-share")) as running:
        running.start_worker(concurrency=1, SPARKSWARM_SPARK_WATCHER_IN_WORKER="false", **QUOTA)
        start_watcher(running, SPARKSWARM_SPARK_AUTOSCALE_INTERVAL="1", **QUOTA)
        yield running


def as_user(lab: Any, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` through the lab's queue, run by local user ``user``."""
    return lab.cli(*args, env=lab.env(LOGNAME=user, USER=user), timeout=300)


def reported(done: subprocess.CompletedProcess[str]) -> tuple[str, str, str]:
    """(job id, state, the rest) of the ``job ID STATE in N s: ...`` line."""
    lines = done.stderr.splitlines()
    for at, line in enumerate(lines):
        words = line.split(maxsplit=3)
        if len(words) > 2 and words[0] == "job" and words[2] in ("SUBMITTED", "QUEUED"):
            # A long line may be wrapped (the output's width): its words go on.
            return words[1], words[2], " ".join(" ".join(lines[at:]).split())
    raise AssertionError(f"no job line in: {done.stderr}")


def test_a_users_second_job_waits_while_another_users_runs_then_starts_by_itself(
    spark_stack: str, lab: Any, tmp_path: Path
) -> None:
    host = socket.gethostname()
    alice, bob = "alice", "bob"
    first = tmp_path / "first.py"
    first.write_text(SHORT.format(seconds=25))
    second = tmp_path / "second.py"
    second.write_text(SHORT.format(seconds=0))
    bobs = tmp_path / "bobs.py"
    bobs.write_text(SHORT.format(seconds=600))
    submit = ("spark", "submit", "--stack", spark_stack, "--detach")

    a1 = as_user(lab, alice, *submit, str(first))
    assert a1.returncode == 0, a1.stderr
    a1_id, a1_state, _ = reported(a1)
    assert a1_state == "SUBMITTED"
    b1 = as_user(lab, bob, *submit, str(bobs))
    assert b1.returncode == 0, b1.stderr
    b1_id, b1_state, _ = reported(b1)
    assert b1_state == "SUBMITTED"  # bob's quota is his own
    a2 = as_user(lab, alice, *submit, str(second))
    assert a2.returncode == 0, a2.stderr
    a2_id, a2_state, line = reported(a2)
    assert a2_state == "QUEUED"
    assert "0 ahead of you (your quota: 1 job and 1 core at once)" in line

    # Over the quota for ever (within the cluster's 2 cores): refused with the numbers.
    never = as_user(lab, alice, *submit, "pi", "--total-executor-cores", "2")
    assert never.returncode == 2, never.stderr
    assert f"the job asks 2 cores but your quota ({alice}@{host}) is 1 job and 1 core" in (
        never.stderr
    )
    assert "SPARKSWARM_SPARK_QUOTA_CORES" in never.stderr and "Traceback" not in never.stderr

    # Bob's job runs while alice's second waits; nothing of it is on the swarm.
    wait_state(lab, b1_id, {"RUNNING"})
    waiting = record(lab, a2_id)
    assert waiting.state == "QUEUED" and waiting.requester == f"{alice}@{host}"
    assert record(lab, a1_id).state in ("SUBMITTED", "RUNNING")

    mine = as_user(lab, alice, "spark", "jobs", "--mine", "--json")
    assert mine.returncode == 0, mine.stderr
    assert {j["id"] for j in json.loads(mine.stdout)} == {a1_id, a2_id}
    everyone = as_user(lab, alice, "spark", "jobs", "all", "--json")
    assert {a1_id, a2_id, b1_id} <= {j["id"] for j in json.loads(everyone.stdout)}
    listed = as_user(lab, bob, "spark", "jobs", "--state", "queued")
    assert a2_id in listed.stdout and "0 ahead of you" in listed.stdout

    # Alice's first ends by itself; her second then starts by itself.
    ended = wait_state(lab, a1_id, {"SUCCEEDED", "FAILED"})
    assert ended.state == "SUCCEEDED", ended
    assert record(lab, b1_id).state == "RUNNING"
    done = wait_state(lab, a2_id, {"SUCCEEDED", "FAILED", "CANCELLED"}, timeout=300)
    assert done.state == "SUCCEEDED", done
    assert "done" in done.output and done.started_at and done.started_at > ended.finished_at
    states = [e.state for e in job_events(lab, a2_id)]
    assert states[0] == "QUEUED" and states[-3:] == ["SUBMITTED", "RUNNING", "SUCCEEDED"]

    # Clean up: bob's long job is cancelled.
    cancelled = as_user(lab, bob, "spark", "cancel", b1_id, "--stack", spark_stack)
    assert cancelled.returncode == 0, cancelled.stderr
    assert wait_state(lab, b1_id, {"CANCELLED"}, timeout=30).state == "CANCELLED"


def test_a_waiting_job_cancelled_never_starts(spark_stack: str, lab: Any, tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text(SHORT.format(seconds=600))
    submit = ("spark", "submit", "--stack", spark_stack, "--detach")
    running = as_user(lab, "carol", *submit, str(long))
    assert running.returncode == 0, running.stderr
    run_id, _, _ = reported(running)
    later = as_user(lab, "carol", *submit, "pi")
    later_id, state, _ = reported(later)
    assert state == "QUEUED"
    cancelled = as_user(lab, "carol", "spark", "cancel", later_id, "--stack", spark_stack)
    assert cancelled.returncode == 0, cancelled.stderr
    gone = record(lab, later_id)
    assert gone.state == "CANCELLED" and "while it waited" in (gone.reason or "")
    stopped = as_user(lab, "carol", "spark", "cancel", run_id, "--stack", spark_stack)
    assert stopped.returncode == 0, stopped.stderr
    wait_state(lab, run_id, {"CANCELLED"}, timeout=30)
    # The cancelled one was never started, even once carol's quota freed up.
    assert [e.state for e in job_events(lab, later_id)] == ["QUEUED", "CANCELLED"]


@pytest.fixture
def own_spark_stack(gw: Any, tmp_path: Path) -> Iterator[str]:
    """A spark stack of this test's own (2 workers), removed after: scaling
    it leaves DEAD workers in its master's list, which no other test may see."""
    from tests.support.spark_cluster import deployed_spark_cluster

    with deployed_spark_cluster(gw, tmp_path) as cluster:
        yield cluster.stack


def test_autoscaled_workers_follow_waiting_jobs_up_and_go_back_down_when_idle(
    gw: Any, own_spark_stack: str, lab: Any, tmp_path: Path
) -> None:
    """Autoscaling switched on (min 1, max 3, cool-down 5 s) on the stack's
    worker service by its labels, as `--set autoscale_max=3` deploys them."""
    from sparkswarm.workers.spark_autoscaler import (
        COOLDOWN_LABEL,
        MAX_LABEL,
        MIN_LABEL,
        QUEUE_LABEL,
    )

    spark_stack = own_spark_stack
    worker = f"{spark_stack}_worker"

    def set_labels(labels: dict[str, str]) -> None:
        current = gw.api.inspect_service(worker)
        merged = {**(current["Spec"].get("Labels") or {}), **labels}
        gw.api.update_service(
            current["ID"], current["Version"]["Index"], labels=merged, fetch_current_spec=True
        )

    def replicas() -> int:
        return int(gw.api.inspect_service(worker)["Spec"]["Mode"]["Replicated"]["Replicas"])

    def scalings() -> list[Any]:
        return [r for r in lab.client().list(limit=200) if r.requester == "autoscaler"]

    def explain() -> str:
        from sparkswarm.spark.status import spark_status
        from sparkswarm.workers.spark_jobs import JobStore

        status = spark_status(gw, stack=spark_stack)
        jobs = JobStore.for_client(lab.client()).list(stack=spark_stack)
        labels = gw.api.inspect_service(worker)["Spec"].get("Labels")
        runs = [(r.op, r.state, r.error, r.notes) for r in scalings()]
        return (
            f"labels {labels}\nworkers {status.workers}\n"
            f"jobs {[(j.id, j.state, j.started_at) for j in jobs]}\nruns {runs}\n"
            f"{lab.processes[-1].tail()}"
        )

    long = tmp_path / "long.py"
    long.write_text(SHORT.format(seconds=600))
    submit = ("spark", "submit", "--stack", spark_stack, "--detach")
    # The lab's queue owns the stack: no other platform on the engine scales it.
    set_labels({MIN_LABEL: "1", MAX_LABEL: "3", COOLDOWN_LABEL: "5", QUEUE_LABEL: lab.queue})
    try:
        ids = []
        for user in ("dave", "erin", "frank"):  # three users: no quota holds one back
            done = as_user(lab, user, *submit, str(long))
            assert done.returncode == 0, done.stderr
            ids.append(reported(done)[0])
        # Two fill the two workers; the third waits for cores, and a third worker comes.
        wait_for(lambda: replicas() == 3, 300, "a scale-up to 3", interval=1, explain=explain)
        up = wait_for(lambda: scalings(), 30, "the scale-up run")
        said = " ".join(up[0].notes)
        assert "-> 3: " in said and "waiting for" in said and "free" in said, said
        assert up[0].op == "service.scale"
        for job_id in ids:
            wait_state(lab, job_id, {"RUNNING"}, timeout=600)
        # While executors run, nothing is scaled down.
        assert replicas() == 3
        for user, job_id in zip(("dave", "erin", "frank"), ids, strict=True):
            cancelled = as_user(lab, user, "spark", "cancel", job_id, "--stack", spark_stack)
            assert cancelled.returncode == 0, cancelled.stderr
        wait_for(lambda: replicas() == 1, 180, "a scale-down to the minimum", interval=1)
        down = wait_for(lambda: len(scalings()) >= 2 and scalings(), 120, "the scale-down run")
        assert any("idle for" in " ".join(r.notes) for r in down), [r.notes for r in down]
    finally:
        set_labels({MAX_LABEL: "0"})
