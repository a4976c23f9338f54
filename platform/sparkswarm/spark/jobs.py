"""Operation ``spark.submit``: run a PySpark script on a deployed spark stack.

The script becomes a swarm config, the job a ``replicated-job`` service
(restart condition none) on the stack's network whose one task runs
``spark-submit`` in client mode (standalone Spark cannot run Python drivers
in cluster mode). We wait for the task to end, keep what the script printed
(the driver's stdout) and the tail of Spark's log (its stderr), and remove
the service and the config. With ``job_id`` a retried call attaches to the
job it started before instead of starting another.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sparkswarm.errors import NotFound, OperationFailed, SparkswarmError
from sparkswarm.limits import check_wait
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.job_spec import (
    EVENT_DIR,
    JOB_LABEL,
    STACK_LABEL,
    error_summary,
    job_service_name,
    job_service_spec,
    new_job_id,
    split_log,
    validate_conf,
    validate_job_id,
    validate_script,
)
from sparkswarm.spark.queries import find_service, require_stack_service

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

LOG_TAIL_LINES = 40
_ENDED = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
_POLL_SECONDS = 1.0


class SparkJobResult(BaseModel):
    """The outcome of one Spark job."""

    stack: str
    job_id: str
    service: str = Field(description="The job's swarm service (removed once it ended).")
    state: str = Field(description="succeeded, failed, or running (detached).")
    task_state: str | None = Field(None, description="The swarm task's last state.")
    exit_code: int | None = None
    seconds: float = Field(description="From submission to the end of the job.")
    output: list[str] = Field(default_factory=list, description="What the script printed.")
    log_tail: list[str] = Field(default_factory=list, description="Last lines of Spark's log.")
    error: str | None = Field(None, description="Why it failed, in one line.")


def submit_job(
    gw: Gateway,
    *,
    stack: str = "spark",
    script: str,
    script_name: str = "app.py",
    args: list[str] | None = None,
    conf: dict[str, str] | None = None,
    job_id: str | None = None,
    timeout: float = 900.0,
    detach: bool = False,
    progress: ProgressFn = no_progress,
) -> SparkJobResult:
    """Run ``script`` on the spark stack ``stack`` and return its outcome.

    A failing script is a result with ``state="failed"``, not an exception.
    Raises InvalidRequest for a bad script, conf or job id, NotFound when
    the stack has no master service, OperationFailed when the job cannot be
    started or outlives ``timeout`` (it is then removed).
    """
    args = [str(a) for a in args or []]
    conf = validate_conf(dict(conf or {}))
    validate_script(script, script_name)
    job_id = validate_job_id(job_id) if job_id else new_job_id()
    check_wait(timeout)
    name = job_service_name(stack, job_id)
    started = time.monotonic()

    service = find_service(gw, name)
    if service is None:
        master = require_stack_service(gw, stack, "master")
        service = _start_job(gw, stack, job_id, master, script, script_name, args, conf, progress)
    else:
        progress(f"job {job_id} exists already; waiting for it")
    if detach:
        return SparkJobResult(
            stack=stack,
            job_id=job_id,
            service=name,
            state="running",
            seconds=round(time.monotonic() - started, 2),
        )
    return _collect(gw, stack, job_id, service, timeout, started, progress)


def wait_job(
    gw: Gateway,
    *,
    stack: str = "spark",
    job_id: str,
    timeout: float = 900.0,
    progress: ProgressFn = no_progress,
) -> SparkJobResult:
    """Wait for a job started with ``detach`` and return its outcome (then remove it).

    ``seconds`` counts from this call. Raises NotFound when there is no such
    job (never started, or already collected), OperationFailed after
    ``timeout`` seconds (the job is then removed).
    """
    validate_job_id(job_id)
    check_wait(timeout)
    started = time.monotonic()
    service = find_service(gw, job_service_name(stack, job_id))
    if service is None:
        raise NotFound(f"no job {job_id} on stack {stack} (finished jobs are removed once read)")
    return _collect(gw, stack, job_id, service, timeout, started, progress)


def _collect(
    gw: Gateway,
    stack: str,
    job_id: str,
    service: dict[str, Any],
    timeout: float,
    started: float,
    progress: ProgressFn,
) -> SparkJobResult:
    """Wait for the job's task to end, read its logs, remove it; its result."""
    name = service["Spec"]["Name"]
    try:
        task = _wait_for_end(gw, service["ID"], timeout, progress)
        stdout, stderr = _logs(gw, service["ID"])
    finally:
        remove_job(gw, stack=stack, job_id=job_id)
    if task is None:
        raise OperationFailed(f"job {job_id} on {stack} still ran after {timeout:.0f} s; removed")
    status = task.get("Status") or {}
    exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
    succeeded = status.get("State") == "complete" and not exit_code
    tail = stderr[-LOG_TAIL_LINES:]
    error = None
    if not succeeded:
        # spark-submit merges the Python driver's stderr (tracebacks) into its
        # stdout; the JVM's own log goes to stderr.
        error = (
            error_summary(stdout)
            or error_summary(stderr)
            or status.get("Err")
            or f"task {status.get('State')}"
        )
    return SparkJobResult(
        stack=stack,
        job_id=job_id,
        service=name,
        state="succeeded" if succeeded else "failed",
        task_state=status.get("State"),
        exit_code=exit_code,
        seconds=round(time.monotonic() - started, 2),
        output=stdout,
        log_tail=tail,
        error=error,
    )


def remove_job(
    gw: Gateway, *, stack: str, job_id: str, progress: ProgressFn = no_progress
) -> dict[str, Any]:
    """Remove a job's service and script config; nothing to do is fine (idempotent)."""
    name = job_service_name(stack, job_id)
    removed: list[str] = []
    service = find_service(gw, name)
    if service is not None:
        try:
            gw.api.remove_service(service["ID"])
            removed.append(name)
        except NotFound:
            pass
        _remove_task_containers(gw, service["ID"])
    # The config stays "in use" until the service's tasks are gone.
    deadline = time.monotonic() + 30
    for config in gw.api.configs(filters={"label": f"{JOB_LABEL}={job_id}"}):
        while True:
            try:
                gw.api.remove_config(config["ID"])
                removed.append(config["Spec"]["Name"])
                break
            except NotFound:
                break
            except SparkswarmError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    return {"job_id": job_id, "removed": removed}


def _remove_task_containers(gw: Gateway, service_id: str) -> None:
    """Remove the job's containers on this engine.

    Engine 20.10 leaves a job service's containers behind when the service
    is removed, still running if the driver was: a running driver keeps
    asking the master for executors, and an exited one pins the event-log
    volume. Containers on other nodes are out of this engine's reach.
    """
    label = f"com.docker.swarm.service.id={service_id}"
    for container in gw.api.containers(all=True, filters={"label": label}):
        with contextlib.suppress(NotFound):
            gw.api.remove_container(container["Id"], force=True)


def _start_job(
    gw: Gateway,
    stack: str,
    job_id: str,
    master: dict[str, Any],
    script: str,
    script_name: str,
    args: list[str],
    conf: dict[str, str],
    progress: ProgressFn,
) -> dict[str, Any]:
    name = job_service_name(stack, job_id)
    labels = {JOB_LABEL: job_id, STACK_LABEL: stack}
    config_name = f"{name}-{script_name.replace('.', '-')}"
    created = gw.api.create_config(config_name, script.encode(), labels=labels)
    events = _events_volume(gw, stack)
    spec = job_service_spec(
        stack=stack,
        job_id=job_id,
        master_service=master,
        app_config={"id": created["ID"], "name": config_name, "file": script_name},
        events_volume=events,
        args=args,
        conf=conf,
    )
    progress(f"starting job {job_id} on {stack}", log=True)
    gw.api.create_service(
        spec["TaskTemplate"],
        name=spec["Name"],
        labels=spec["Labels"],
        mode=spec["Mode"],
        endpoint_spec=spec["EndpointSpec"],
    )
    service = find_service(gw, name)
    if service is None:
        raise OperationFailed(f"job service {name} vanished right after it was created")
    return service


def _wait_for_end(
    gw: Gateway, service_id: str, timeout: float, progress: ProgressFn
) -> dict[str, Any] | None:
    """The job's task once it ended, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_state = None
    while time.monotonic() < deadline:
        tasks = gw.api.tasks(filters={"service": service_id})
        if tasks:
            task = max(tasks, key=lambda t: t.get("CreatedAt", ""))
            state = (task.get("Status") or {}).get("State")
            if state != last_state:
                progress(f"driver {state}", state=state)
                last_state = state
            if state in _ENDED:
                return dict(task)
        time.sleep(_POLL_SECONDS)
    return None


def _logs(gw: Gateway, service_id: str) -> tuple[list[str], list[str]]:
    """The driver's stdout and stderr lines."""
    from sparkswarm.gateway import translated_errors

    def read(stdout: bool) -> list[str]:
        raw = gw.api.service_logs(service_id, stdout=stdout, stderr=not stdout, follow=False)
        with translated_errors("service logs"):
            data = raw if isinstance(raw, bytes | str) else b"".join(raw)
        return split_log(data)

    return read(True), read(False)


def _events_volume(gw: Gateway, stack: str) -> str | None:
    """The history server's event-log volume (jobs write their event logs there)."""
    history = find_service(gw, f"{stack}_history")
    if history is None:
        return None
    for mount in history["Spec"]["TaskTemplate"]["ContainerSpec"].get("Mounts") or []:
        if mount.get("Target") == EVENT_DIR and mount.get("Type", "volume") == "volume":
            return str(mount["Source"])
    return None
