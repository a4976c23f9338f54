"""The queue's own operations, added to the core's registry.

- Reads answered from Redis (``executor="queue"``): ``runs.ls``,
  ``runs.show``, ``schedule.ls`` (below) and ``spark.jobs``, ``spark.job``
  (:mod:`.spark_jobs`). Whoever holds a queue client answers them (the CLI,
  the bot); no worker and no engine are involved.
- ``spark.submit`` and ``spark.cancel`` replace the core's entries with the
  wrappers of :mod:`.spark_jobs`, which file the job under the run that
  executes them (they take ``run_id``).
- ``queue.noop`` touches nothing: it checks the whole path (CLI -> queue ->
  worker -> record) without the swarm, and ``bench/queue_latency.py``
  measures the queue's own latency with it.

:func:`register_queue_operations` runs when this package is imported (see
``__init__.py``) and is the package's ``sparkswarm.operations`` entry point,
so the registry finds these names in a process that never imported the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sparkswarm.operation_table import always
from sparkswarm.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.run_record import RunRecord
    from sparkswarm.workers.schedules import ScheduleView

_JOB_RECORD = "sparkswarm.spark.job_record:JobRecord"
_RUN_RECORD = "sparkswarm.workers.records:RunRecord"
_registered = False


def register_queue_operations(register: Callable[..., None]) -> None:
    """Add the queue's operations with ``register`` (once per process)."""
    global _registered
    if _registered:
        return
    _registered = True
    register(
        "spark.submit",
        "sparkswarm.workers.spark_jobs:submit",
        target_param="stack",
        result="sparkswarm.spark.jobs:SparkJobSubmitted",
        takes_run=True,
        replace=True,
    )
    register(
        "spark.cancel",
        "sparkswarm.workers.spark_jobs:cancel",
        target_param="job_id",
        destructive=always,
        takes_run=True,
        replace=True,
    )
    register("queue.noop", "sparkswarm.workers.operations:noop")
    register(
        "runs.ls",
        "sparkswarm.workers.operations:list_runs",
        read_only=True,
        executor="queue",
        result=_RUN_RECORD,
        many=True,
    )
    register(
        "runs.show",
        "sparkswarm.workers.operations:show_run",
        read_only=True,
        executor="queue",
        result=_RUN_RECORD,
    )
    register(
        "schedule.ls",
        "sparkswarm.workers.operations:list_schedules",
        read_only=True,
        executor="queue",
        result="sparkswarm.workers.schedules:ScheduleView",
        many=True,
    )
    register(
        "spark.jobs",
        "sparkswarm.workers.spark_jobs:list_jobs",
        read_only=True,
        executor="queue",
        result=_JOB_RECORD,
        many=True,
    )
    register(
        "spark.job",
        "sparkswarm.workers.spark_jobs:show_job",
        read_only=True,
        executor="queue",
        result=_JOB_RECORD,
    )


def noop(gw: object, *, progress: ProgressFn = no_progress, **params: Any) -> dict[str, Any]:
    """Do nothing; return when it ran (``ran_at``, epoch seconds) and the params."""
    return {"ran_at": time.time(), "params": params}


def list_runs(
    client: QueueClient,
    *,
    state: str | None = None,
    target: str | None = None,
    source: str | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """Run records, newest first; InvalidRequest for an unknown state or limit < 1."""
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.states import check_run_state

    check_run_state(state)
    if limit < 1:
        raise InvalidRequest("--limit must be at least 1")
    return client.list(state=state, target=target, source=source, limit=limit)


def show_run(client: QueueClient, *, run_id: str) -> RunRecord:
    """One run's record by id or unique id prefix; NotFound when there is none."""
    return client.get(run_id)


def list_schedules(client: QueueClient) -> list[ScheduleView]:
    """Every schedule with its next run and the last run's outcome."""
    from sparkswarm.workers.schedules import ScheduleBook

    return ScheduleBook(client).views()
