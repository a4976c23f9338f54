"""A Spark job's record: what was asked, what became of it (pure, no I/O).

A job outlives the operation that submitted it: ``spark.submit`` starts the
driver and returns; the record then follows the job through

    QUEUED -> SUBMITTED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED
    SUBMITTED -> FAILED | CANCELLED            (never ran)
    QUEUED -> FAILED | CANCELLED               (never started)

A job starts QUEUED when its owner's quota is full (``spark/quota.py``):
nothing of it is on the swarm yet; the watcher starts it when its turn comes.

The queue's job store keeps records in Redis next to the run records; the
watcher moves them along. This module holds the model, the allowed
transitions and the text shown for a record.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from sparkswarm.model_base import LazyModel
from sparkswarm.states import FINAL_JOB_STATES, JobState

_NEXT: dict[str, frozenset[str]] = {
    "QUEUED": frozenset({"SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}),
    "SUBMITTED": frozenset({"RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}),
    "RUNNING": frozenset({"SUCCEEDED", "FAILED", "CANCELLED"}),
}


class JobAsk(LazyModel):
    """The resources a job asks of the cluster."""

    cores: int = Field(description="spark.cores.max: executor cores in total.")
    executor_memory_mb: int = Field(description="Memory of each executor (MiB).")


class JobRecord(LazyModel):
    """One Spark job as recorded (``ssw:sparkjob:<id>``)."""

    id: str
    stack: str
    service: str = Field(description="The driver's swarm service.")
    name: str = Field(description="The script's name (or --name).")
    script: str = Field(description="File name of the script that was submitted.")
    args: list[str] = Field(default_factory=list)
    requester: str = ""
    groups: list[str] = Field(
        default_factory=list, description="The requester's user groups that have a quota."
    )
    source: str = ""
    run_id: str = Field("", description="The spark.submit run that started it.")
    schedule: str | None = None
    ask: JobAsk
    conf: dict[str, str] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list, description="--files and --py-files names.")
    image: str = ""
    app_id: str | None = Field(None, description="The Spark application id.")
    state: JobState = "SUBMITTED"
    reason: str | None = Field(None, description="Why it waits, or why it failed, in words.")
    created_at: float = Field(default_factory=time.time)
    submitted_at: float | None = Field(
        None, description="When a job that waited QUEUED had its driver started."
    )
    started_at: float | None = Field(None, description="When the application got executors.")
    finished_at: float | None = None
    exit_code: int | None = None
    output: list[str] = Field(default_factory=list, description="What the script printed.")
    log_tail: list[str] = Field(default_factory=list, description="The end of the driver log.")
    cancelled_by: str | None = None
    master_ui: str | None = None
    history_ui: str | None = None
    cleaned_at: float | None = Field(None, description="When its containers were removed.")

    @property
    def done(self) -> bool:
        return self.state in FINAL_JOB_STATES

    @property
    def submitted_since(self) -> float:
        """When its driver was started: the time it waited QUEUED does not count
        against the time it may wait for cores."""
        return self.submitted_at if self.submitted_at is not None else self.created_at

    @property
    def duration(self) -> float | None:
        """Seconds from submission to the end (or to now while it runs)."""
        end = self.finished_at if self.finished_at is not None else None
        if end is None:
            return None if self.done else round(time.time() - self.created_at, 1)
        return round(end - self.created_at, 1)


def can_move(current: str, new: str) -> bool:
    """True if a record in state ``current`` may move to ``new`` (same state: no)."""
    return new in _NEXT.get(current, frozenset())


def record_row(record: JobRecord) -> dict[str, Any]:
    """The columns ``spark jobs`` shows for one record."""
    return {
        "id": record.id,
        "stack": record.stack,
        "name": record.name,
        "state": record.state,
        "requester": record.requester,
        "source": record.source,
        "cores": record.ask.cores,
        "duration": "" if record.duration is None else f"{record.duration:g}s",
        "app": record.app_id or "",
        "reason": record.reason or "",
    }


def describe(record: JobRecord) -> list[str]:
    """``spark job ID``: the record as lines of plain text."""
    lines = [
        f"job {record.id}: {record.state}",
        f"  stack      {record.stack} (service {record.service})",
        f"  script     {record.script} {' '.join(record.args)}".rstrip(),
        f"  asked      {record.ask.cores} cores, executors of {record.ask.executor_memory_mb} MiB",
        f"  by         {record.requester or '?'} ({record.source or '?'})",
        f"  submitted  {_when(record.created_at)}",
    ]
    known_only = {
        "schedule": record.schedule,
        "app": record.app_id,
        "running": record.started_at and _when(record.started_at),
        "ended": record.finished_at and f"{_when(record.finished_at)} after {record.duration:g} s",
        "exit code": None if record.exit_code is None else str(record.exit_code),
        "reason": record.reason,
        "master UI": record.master_ui,
        "history": record.history_ui,
    }
    lines += [f"  {label:<10} {value}" for label, value in known_only.items() if value]
    if record.output:
        lines += ["  output:", *(f"    {line}" for line in record.output[-20:])]
    return lines


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
