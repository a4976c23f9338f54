"""Judging a Spark job from gathered facts (pure: no engine, no Redis).

Two questions, each answered from plain data so the unit tests can vary one
fact at a time (as ``doctor.py`` does):

- before submitting: can the job's ask fit the cluster (:func:`assess_fit`)?
- while it lives: what state is it in, and why (:func:`judge_job`)?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sparkswarm.spark.job_record import JobAsk
from sparkswarm.spark.job_spec import error_summary
from sparkswarm.spark.status import SparkStatus

TASK_ENDED = frozenset({"complete", "failed", "rejected", "shutdown", "orphaned", "remove"})
_IMAGE_ERRORS = ("no such image", "pull access denied", "manifest unknown", "not found: manifest")


@dataclass(frozen=True)
class Fit:
    """``now``: it fits; ``later``: it waits (``reason`` says why); ``never``: refuse."""

    verdict: Literal["now", "later", "never"]
    reason: str = ""


def assess_fit(status: SparkStatus, ask: JobAsk, worker_replicas: int) -> Fit:
    """Whether ``ask`` fits the cluster ``status`` describes.

    ``worker_replicas`` is how many workers the stack runs (some may not
    have registered yet): a job bigger than all of them together never fits.
    """
    alive = [w for w in status.workers if w.state == "ALIVE"]
    per_worker_cores = max((w.cores for w in alive), default=0)
    per_worker_memory = max((w.memory_mb for w in alive), default=0)
    if worker_replicas == 0 and not alive:
        return Fit("never", "the cluster has no workers (scale it up: spark up --workers N)")
    if not alive:
        return Fit("later", f"no alive workers yet (0 of {worker_replicas} registered)")
    capacity = max(status.cores, worker_replicas * per_worker_cores)
    if ask.cores > capacity:
        return Fit(
            "never",
            f"the job asks {ask.cores} cores but the cluster has {capacity} "
            f"({max(worker_replicas, len(alive))} workers x {per_worker_cores} cores); "
            f"ask for at most {capacity} with --total-executor-cores",
        )
    if ask.executor_memory_mb > per_worker_memory:
        return Fit(
            "never",
            f"executors of {ask.executor_memory_mb} MiB do not fit in any worker "
            f"(each offers {per_worker_memory} MiB); lower --executor-memory",
        )
    free = status.cores - status.cores_used
    if free < ask.cores:
        running = ", ".join(a.name for a in status.active_apps) or "none"
        return Fit(
            "later",
            f"waiting for cores: the job asks {ask.cores}, {free} of {status.cores} are free "
            f"(running: {running})",
        )
    roomy = [w for w in alive if w.memory_mb - w.memory_used_mb >= ask.executor_memory_mb]
    if not roomy:
        return Fit(
            "later",
            f"waiting for memory: no worker has {ask.executor_memory_mb} MiB free right now",
        )
    return Fit("now")


@dataclass(frozen=True)
class TaskFacts:
    """The driver's swarm task as last seen (None fields: not known)."""

    state: str
    err: str = ""
    exit_code: int | None = None
    node: str = ""
    oom_killed: bool = False


@dataclass(frozen=True)
class JobFacts:
    """What the watcher saw of one job at one moment."""

    record_state: str
    age: float
    ask: JobAsk
    image: str
    task: TaskFacts | None
    service_exists: bool
    app_state: str | None = None
    status: SparkStatus | None = None
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The state a job should be in now, why, and whether to stop it (timeout)."""

    state: str
    reason: str | None = None
    exit_code: int | None = None
    kill: bool = False


def failure_reason(task: TaskFacts, image: str, stdout: list[str], stderr: list[str]) -> str:
    """Why a driver failed, in words (the most specific fact first)."""
    err = task.err.strip()
    if any(marker in err.lower() for marker in _IMAGE_ERRORS):
        where = f" on node {task.node}" if task.node else ""
        return f"image {image} is missing{where} ({err}); build it there or push it to a registry"
    if task.oom_killed or task.exit_code == 137:
        return (
            "the driver was killed for lack of memory (exit 137): give it more with "
            "--conf spark.driver.memory=... or collect less data to the driver"
        )
    exception = error_summary(stdout) or error_summary(stderr)
    if exception:
        return exception
    if task.exit_code not in (None, 0):
        return f"the driver exited with code {task.exit_code}"
    if err:
        return f"the driver's task {task.state}: {err}"
    return f"the driver's task ended {task.state}"


def _waiting_reason(facts: JobFacts) -> tuple[str, bool]:
    """(why the job is not running yet, whether that is for lack of workers)."""
    status = facts.status
    if status is None:
        return "waiting for the master to answer", False
    if status.alive_workers == 0:
        return "no alive workers", True
    if facts.app_state == "WAITING" or facts.app_state is None:
        free = status.cores - status.cores_used
        if free < 1:
            return (
                f"not enough resources: the job asks {facts.ask.cores} cores, "
                f"0 of {status.cores} are free",
                False,
            )
    return "starting the driver", False


def judge_job(facts: JobFacts, *, resource_timeout: float) -> Verdict:
    """The state ``facts`` put the job in (the same state: nothing to record).

    A job still not running ``resource_timeout`` seconds after submission is
    failed with the reason it waited for, and ``kill`` is set.
    """
    current = facts.record_state
    task = facts.task
    if task is None:
        if not facts.service_exists:
            return Verdict("FAILED", "the job's service was removed outside sparkswarm")
        return Verdict(current, "waiting for the swarm to schedule the driver")
    if task.state in TASK_ENDED:
        if task.state == "complete" and not task.exit_code:
            return Verdict("SUCCEEDED", None, 0)
        reason = failure_reason(task, facts.image, list(facts.stdout), list(facts.stderr))
        return Verdict("FAILED", reason, task.exit_code)
    if current == "RUNNING":
        return Verdict("RUNNING")
    if facts.app_state == "RUNNING":
        return Verdict("RUNNING")
    if task.state != "running":
        reason = f"driver {task.state}" + (f": {task.err}" if task.err else "")
    else:
        reason, no_workers = _waiting_reason(facts)
        if facts.age > resource_timeout:
            if no_workers:
                why = f"no alive workers within {resource_timeout:g} s"
            else:
                why = f"not enough resources within {resource_timeout:g} s ({reason})"
            return Verdict("FAILED", why, kill=True)
    if facts.age > resource_timeout:
        why = f"the driver did not start within {resource_timeout:g} s ({reason})"
        return Verdict("FAILED", why, kill=True)
    return Verdict(current, reason)
