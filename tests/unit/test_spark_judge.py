"""Judging Spark jobs from facts (pure): the fit before submitting, the state
and the failure reason after. One fact varies per case."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.spark.job_record import JobAsk
from sparkswarm.spark.judge import (
    JobFacts,
    TaskFacts,
    assess_fit,
    failure_reason,
    judge_job,
)
from sparkswarm.spark.status import SparkApp, SparkStatus, SparkWorker


def status(
    *, alive: int = 2, cores_used: int = 0, memory_used: int = 0, apps: tuple[str, ...] = ()
) -> SparkStatus:
    workers = [
        SparkWorker(
            id=f"w{i}",
            host=f"10.0.0.{i}",
            state="ALIVE",
            cores=1,
            cores_used=1 if i < cores_used else 0,
            memory_mb=1024,
            memory_used_mb=memory_used,
        )
        for i in range(alive)
    ]
    return SparkStatus(
        stack="lab",
        url="spark://x:7077",
        status="ALIVE",
        alive_workers=alive,
        workers=workers,
        cores=alive,
        cores_used=cores_used,
        memory_mb=1024 * alive,
        memory_used_mb=memory_used * alive,
        active_apps=[
            SparkApp(id=f"app-1-{i}", name=n, state="RUNNING", cores=1, duration_ms=1)
            for i, n in enumerate(apps)
        ],
        completed_apps=0,
    )


ASK = JobAsk(cores=1, executor_memory_mb=512)


@pytest.mark.parametrize(
    ("cluster", "ask", "replicas", "verdict", "words"),
    [
        (status(), ASK, 2, "now", ""),
        (
            status(),
            JobAsk(cores=3, executor_memory_mb=512),
            2,
            "never",
            "asks 3 cores but the cluster has 2 (2 workers x 1 cores)",
        ),
        (
            status(alive=1),
            JobAsk(cores=2, executor_memory_mb=512),
            2,
            "later",
            "waiting for cores: the job asks 2, 1 of 1",
        ),
        (
            status(),
            JobAsk(cores=1, executor_memory_mb=2048),
            2,
            "never",
            "executors of 2048 MiB do not fit in any worker (each offers 1024 MiB)",
        ),
        (
            status(cores_used=2, apps=("pi", "wordcount")),
            ASK,
            2,
            "later",
            "0 of 2 are free (running: pi, wordcount)",
        ),
        (status(alive=0), ASK, 2, "later", "no alive workers yet (0 of 2 registered)"),
        (status(alive=0), ASK, 0, "never", "the cluster has no workers"),
        (status(memory_used=768), ASK, 2, "later", "no worker has 512 MiB free"),
    ],
)
def test_fit(cluster: SparkStatus, ask: JobAsk, replicas: int, verdict: str, words: str) -> None:
    fit = assess_fit(cluster, ask, replicas)
    assert fit.verdict == verdict
    assert words in fit.reason


def facts(**changes: Any) -> JobFacts:
    base: dict[str, Any] = {
        "record_state": "SUBMITTED",
        "age": 5.0,
        "ask": ASK,
        "image": "sparkswarm/spark:4.3.0",
        "task": TaskFacts(state="running"),
        "service_exists": True,
        "app_state": None,
        "status": status(),
    }
    base.update(changes)
    return JobFacts(**base)


@pytest.mark.parametrize(
    ("changes", "state", "reason", "kill"),
    [
        ({}, "SUBMITTED", "starting the driver", False),
        ({"app_state": "RUNNING"}, "RUNNING", None, False),
        (
            {"app_state": "WAITING", "status": status(cores_used=2)},
            "SUBMITTED",
            "0 of 2 are free",
            False,
        ),
        ({"status": status(alive=0)}, "SUBMITTED", "no alive workers", False),
        (
            {"status": status(alive=0), "age": 700.0},
            "FAILED",
            "no alive workers within 600 s",
            True,
        ),
        (
            {"app_state": "WAITING", "status": status(cores_used=2), "age": 700.0},
            "FAILED",
            "not enough resources within 600 s",
            True,
        ),
        (
            {"task": TaskFacts(state="pending", err="no suitable node"), "age": 700.0},
            "FAILED",
            "did not start within 600 s (driver pending: no suitable node)",
            True,
        ),
        ({"task": TaskFacts(state="complete", exit_code=0)}, "SUCCEEDED", None, False),
        (
            {"task": TaskFacts(state="failed", exit_code=2)},
            "FAILED",
            "the driver exited with code 2",
            False,
        ),
        ({"task": None, "service_exists": False}, "FAILED", "removed outside sparkswarm", False),
        ({"record_state": "RUNNING", "app_state": None}, "RUNNING", None, False),
    ],
)
def test_judge(changes: dict[str, Any], state: str, reason: str | None, kill: bool) -> None:
    verdict = judge_job(facts(**changes), resource_timeout=600)
    assert verdict.state == state
    if reason is None:
        assert verdict.reason is None
    else:
        assert reason in (verdict.reason or "")
    assert verdict.kill is kill


TRACEBACK = ["started 10", "Traceback (most recent call last):", '  File "a.py"', "ValueError: no"]


@pytest.mark.parametrize(
    ("task", "stdout", "words"),
    [
        (
            TaskFacts(state="rejected", err="No such image: x:1", node="n1"),
            [],
            "image img:1 is missing on node n1 (No such image: x:1)",
        ),
        (
            TaskFacts(state="failed", exit_code=137),
            TRACEBACK,
            "killed for lack of memory (exit 137)",
        ),
        (TaskFacts(state="failed", exit_code=1, oom_killed=True), [], "killed for lack of memory"),
        (TaskFacts(state="failed", exit_code=1), TRACEBACK, "ValueError: no"),
        (TaskFacts(state="failed", exit_code=3), ["bye"], "the driver exited with code 3"),
        (
            TaskFacts(state="shutdown", err="task: non-zero exit"),
            [],
            "the driver's task shutdown: task: non-zero exit",
        ),
        (TaskFacts(state="orphaned"), [], "the driver's task ended orphaned"),
    ],
)
def test_failure_reasons(task: TaskFacts, stdout: list[str], words: str) -> None:
    assert words in failure_reason(task, "img:1", stdout, [])
