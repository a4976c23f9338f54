"""Following one job from this process: its logs as they come, and, without
a broker (no watcher, no records), the job itself to its end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound, SparkswarmError
from sparkswarm.spark.job_record import JobRecord
from sparkswarm.spark.job_spec import job_service_name, validate_job_id
from sparkswarm.spark.queries import find_service
from sparkswarm.states import FINAL_JOB_STATES

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.status import SparkStatus


def follow_locally(
    gw: Gateway,
    record: JobRecord,
    *,
    resource_timeout: float = 600.0,
    poll: float = 1.0,
    on_change: Callable[[JobRecord], None] | None = None,
) -> JobRecord:
    """Watch ``record``'s job as the watcher would, until it ends; its final record.

    The job's service, containers and configs are removed at the end (no
    watcher will). Raises what the gateway raises.
    """
    from sparkswarm.spark.jobs import cancel_job, remove_job
    from sparkswarm.spark.judge import judge_job
    from sparkswarm.spark.observe import observe_job
    from sparkswarm.spark.status import spark_status

    app_id = record.app_id
    next_status = 0.0
    status: SparkStatus | None = None
    try:
        while record.state not in FINAL_JOB_STATES:
            # Only a job not running yet needs the master (an exec in its container).
            if record.state == "SUBMITTED" and time.monotonic() >= next_status:
                next_status = time.monotonic() + 1.0
                try:
                    status = spark_status(gw, stack=record.stack)
                except SparkswarmError:
                    status = None
            facts, app_id = observe_job(gw, record, status, app_id)
            verdict = judge_job(facts, resource_timeout=resource_timeout)
            changed = verdict.state != record.state or verdict.reason != record.reason
            update: dict[str, Any] = {"state": verdict.state, "reason": verdict.reason}
            update["app_id"] = app_id
            if verdict.state in FINAL_JOB_STATES:
                update.update(
                    finished_at=time.time(),
                    exit_code=verdict.exit_code,
                    output=list(facts.stdout),
                    log_tail=list(facts.stderr[-40:]),
                )
            record = JobRecord.model_validate({**record.model_dump(), **update})
            if changed and on_change is not None:
                on_change(record)
            if verdict.kill:
                cancel_job(gw, stack=record.stack, job_id=record.id, app_id=app_id)
            if record.state not in FINAL_JOB_STATES:
                time.sleep(poll)
    finally:
        if record.state in FINAL_JOB_STATES:
            remove_job(gw, stack=record.stack, job_id=record.id)
    return record


def follow_logs(gw: Gateway, *, stack: str, job_id: str, poll: float = 1.0) -> Iterator[str]:
    """The driver's log lines (stdout and stderr, interleaved) until it ends. NotFound.

    Polls rather than streams: the Engine keeps a service's log stream open
    after its job task ended, so a stream would not say when to stop.
    """
    from sparkswarm.spark.judge import TASK_ENDED
    from sparkswarm.spark.observe import task_facts

    validate_job_id(job_id)
    service = find_service(gw, job_service_name(stack, job_id))
    if service is None:
        raise NotFound(f"job {job_id} has no containers any more (see `spark job {job_id}`)")
    shown = 0
    while True:
        task = task_facts(gw, service["ID"])
        data = b"".join(gw.service_logs(service["ID"], stdout=True, stderr=True))
        lines = data.decode("utf-8", "replace").splitlines()
        yield from lines[shown:]
        shown = max(shown, len(lines))
        if task is not None and task.state in TASK_ENDED:
            return
        time.sleep(poll)
