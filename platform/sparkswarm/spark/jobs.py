"""Operations on Spark jobs: ``spark.submit``, ``spark.cancel``, ``spark.rm``.

``spark.submit`` checks that the job can fit, turns the script and its files
into swarm configs and the job into a ``replicated-job`` service (restart
condition none) on the stack's network, whose one task runs ``spark-submit``
in client mode (standalone Spark cannot run Python drivers in cluster mode).
It returns as soon as the driver runs, with the job's first record: the job
is not a swarm change, so nothing holds a queue slot or a lock while it
runs. The queue's Spark watcher follows it from there. With ``job_id`` a
retried call finds the job it started before instead of starting another.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sparkswarm.errors import InvalidRequest, NotFound, SparkswarmError
from sparkswarm.limits import check_wait
from sparkswarm.model_base import LazyModel
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.job_record import JobAsk, JobRecord
from sparkswarm.spark.job_request import decode_file, memory_mb
from sparkswarm.spark.job_spec import (
    JOB_LABEL,
    STACK_LABEL,
    job_service_name,
    job_service_spec,
    new_job_id,
    validate_conf,
    validate_job_id,
    validate_script,
)
from sparkswarm.spark.judge import TASK_ENDED, assess_fit, failure_reason
from sparkswarm.spark.observe import driver_logs, events_volume, task_facts, ui_links
from sparkswarm.spark.queries import find_service, require_stack_service
from sparkswarm.waiting import poll, remove_when_free

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

JOB_CORES_LABEL = "org.sparkswarm.spark.job-cores"
"""Label on a spark stack's master: the cores a job takes unless it asks."""
DEFAULT_EXECUTOR_MB = 512
_POLL_SECONDS = 0.1


class SparkJobSubmitted(LazyModel):
    """What ``spark.submit`` did: the job's first record, and how long it took."""

    stack: str
    job_id: str
    service: str
    state: str = Field(
        description="SUBMITTED (driver running), QUEUED (waits for its turn), or FAILED."
    )
    reason: str | None = Field(None, description="Why it waits, or why it failed.")
    seconds: float = Field(description="From the call to the driver running.")
    record: JobRecord


def job_ask(
    master: dict[str, Any],
    conf: dict[str, str],
    total_executor_cores: int | None,
    executor_memory: str | None,
) -> JobAsk:
    """The job's resources: what it asks, else its conf, else the stack's default."""
    labels = master["Spec"].get("Labels") or {}
    cores = total_executor_cores or int(conf.get("spark.cores.max") or 0)
    if not cores:
        cores = int(labels.get(JOB_CORES_LABEL) or 1)
    memory = executor_memory or conf.get("spark.executor.memory")
    return JobAsk(
        cores=cores, executor_memory_mb=memory_mb(memory) if memory else DEFAULT_EXECUTOR_MB
    )


def ask_of(
    gw: Gateway,
    *,
    stack: str,
    conf: dict[str, str] | None = None,
    total_executor_cores: int | None = None,
    executor_memory: str | None = None,
) -> JobAsk:
    """What a job would ask of stack ``stack`` (its master's default cores
    unless it says). InvalidRequest for a bad conf; NotFound without a master."""
    master = require_stack_service(gw, stack, "master")
    conf = validate_conf(dict(conf or {}))
    return job_ask(master, conf, total_executor_cores, executor_memory)


def plan_job(
    gw: Gateway,
    *,
    stack: str = "spark",
    script: str,
    script_name: str = "app.py",
    args: list[str] | None = None,
    name: str | None = None,
    conf: dict[str, str] | None = None,
    files: list[dict[str, str]] | None = None,
    py_files: list[dict[str, str]] | None = None,
    executor_memory: str | None = None,
    total_executor_cores: int | None = None,
    image: str | None = None,
    job_id: str,
) -> JobRecord:
    """The QUEUED record of a job that waits for its turn, checked (script,
    conf, job id, the cluster's size) and nothing started; ``reason`` says
    why it would wait now (None if it fits). :func:`submit_job` starts the
    job of such a record. Raises InvalidRequest for a bad script, conf or
    job id, and when the job can never fit the cluster (the message gives
    the numbers); NotFound when the stack has no master."""
    conf = validate_conf(dict(conf or {}))
    validate_script(script, script_name)
    job_id = validate_job_id(job_id)
    master = require_stack_service(gw, stack, "master")
    ask = job_ask(master, conf, total_executor_cores, executor_memory)
    conf = {**conf, "spark.cores.max": str(ask.cores)}
    conf["spark.executor.memory"] = f"{ask.executor_memory_mb}m"
    reason = check_fit(gw, stack, ask)
    master_ui, history_ui = ui_links(gw, stack)
    return JobRecord(
        id=job_id,
        stack=stack,
        service=job_service_name(stack, job_id),
        name=name or script_name.removesuffix(".py"),
        script=script_name,
        args=[str(a) for a in args or []],
        ask=ask,
        conf=conf,
        files=[f["name"] for f in [*(files or []), *(py_files or [])]],
        image=image or master["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"],
        state="QUEUED",
        reason=reason,
        master_ui=master_ui,
        history_ui=history_ui,
    )


def submit_job(
    gw: Gateway,
    *,
    stack: str = "spark",
    script: str,
    script_name: str = "app.py",
    args: list[str] | None = None,
    name: str | None = None,
    conf: dict[str, str] | None = None,
    files: list[dict[str, str]] | None = None,
    py_files: list[dict[str, str]] | None = None,
    executor_memory: str | None = None,
    total_executor_cores: int | None = None,
    image: str | None = None,
    job_id: str | None = None,
    start_timeout: float = 60.0,
    progress: ProgressFn = no_progress,
) -> SparkJobSubmitted:
    """Start ``script`` on spark stack ``stack``; return once its driver runs.

    Raises InvalidRequest for a bad script, conf, file or job id, and when
    the job can never fit the cluster (the message gives the numbers);
    NotFound when the stack has no master. A driver that cannot start
    (image missing, ...) is a result in state FAILED with the reason.
    """
    check_wait(start_timeout)
    started = time.monotonic()
    record = plan_job(
        gw,
        stack=stack,
        script=script,
        script_name=script_name,
        args=args,
        name=name,
        conf=conf,
        files=files,
        py_files=py_files,
        executor_memory=executor_memory,
        total_executor_cores=total_executor_cores,
        image=image,
        job_id=job_id or new_job_id(),
    ).model_copy(update={"state": "SUBMITTED"})
    reason, job_id = record.reason, record.id
    service = find_service(gw, record.service)
    if service is None:
        progress(f"starting job {job_id} on {stack}", log=True)
        service = _start(gw, record, script, files or [], py_files or [])
    else:
        progress(f"job {job_id} exists already")
    task = _wait_for_driver(gw, service["ID"], start_timeout)
    state, exit_code = "SUBMITTED", None
    if task is None:
        state, reason = "FAILED", f"the driver did not start within {start_timeout:g} s"
        remove_job(gw, stack=stack, job_id=job_id)
    elif task.state in TASK_ENDED:
        stdout, stderr = driver_logs(gw, service["ID"])
        failed = task.state != "complete" or bool(task.exit_code)
        state = "FAILED" if failed else "SUCCEEDED"
        reason = failure_reason(task, record.image, stdout, stderr) if failed else None
        exit_code = task.exit_code
        record = record.model_copy(update={"output": stdout, "log_tail": stderr[-40:]})
    if state != "SUBMITTED":
        record = record.model_copy(update={"finished_at": time.time(), "exit_code": exit_code})
    record = record.model_copy(update={"state": state, "reason": reason})
    progress(f"job {job_id}: driver {task.state if task else 'not started'}", log=True)
    return SparkJobSubmitted(
        stack=stack,
        job_id=job_id,
        service=record.service,
        state=state,
        reason=reason,
        seconds=round(time.monotonic() - started, 2),
        record=record,
    )


def check_fit(gw: Gateway, stack: str, ask: JobAsk) -> str | None:
    """None if the job fits now, why it waits otherwise; InvalidRequest if it never fits."""
    from sparkswarm.errors import Unavailable
    from sparkswarm.spark.status import spark_status

    worker = find_service(gw, f"{stack}_worker")
    replicas = 0
    if worker is not None:
        replicas = int((worker["Spec"].get("Mode", {}).get("Replicated") or {}).get("Replicas", 0))
    try:
        status = spark_status(gw, stack=stack)
    except Unavailable as exc:
        return f"the master is not answering yet ({exc})"
    fit = assess_fit(status, ask, replicas)
    if fit.verdict == "never":
        raise InvalidRequest(f"refused: {fit.reason}")
    return fit.reason or None


def _start(
    gw: Gateway,
    record: JobRecord,
    script: str,
    files: list[dict[str, str]],
    py_files: list[dict[str, str]],
) -> dict[str, Any]:
    """Create the job's configs and its driver service (on the master's
    network); the service as created."""
    master = require_stack_service(gw, record.stack, "master")
    labels = {JOB_LABEL: record.id, STACK_LABEL: record.stack}

    def config(file_name: str, data: bytes) -> dict[str, str]:
        config_name = f"{record.service}-{file_name.replace('.', '-')}"
        config_id = gw.create_config(config_name, data, labels=labels)
        return {"id": config_id, "name": config_name, "file": file_name}

    app = config(record.script, script.encode())
    spec = job_service_spec(
        stack=record.stack,
        job_id=record.id,
        master_service=master,
        app_config=app,
        events_volume=events_volume(gw, record.stack),
        args=record.args,
        conf=record.conf,
        file_configs=[config(f["name"], decode_file(f)) for f in files],
        py_file_configs=[config(f["name"], decode_file(f)) for f in py_files],
        name=record.name,
        image=record.image,
    )
    return {"ID": gw.create_service(spec), "Spec": spec}


def _wait_for_driver(gw: Gateway, service_id: str, timeout: float) -> Any:
    """The driver task's facts once it runs or ended; None after ``timeout``."""

    def started() -> Any:
        task = task_facts(gw, service_id)
        if task is not None and (task.state == "running" or task.state in TASK_ENDED):
            return task
        return None

    return poll(started, timeout=timeout, interval=_POLL_SECONDS)


def cancel_job(
    gw: Gateway,
    *,
    stack: str = "spark",
    job_id: str,
    app_id: str | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Stop a job: the master kills its application (listed KILLED), then the
    driver's service, containers and configs are removed. Idempotent.

    Raises InvalidRequest for a bad id; NotFound when there is no such job.
    """
    from sparkswarm.spark.observe import find_app_id
    from sparkswarm.spark.status import kill_app

    validate_job_id(job_id)
    service = find_service(gw, job_service_name(stack, job_id))
    if service is None and app_id is None:
        raise NotFound(f"no job {job_id} on stack {stack}")
    if app_id is None and service is not None:
        app_id = find_app_id(gw, service["ID"])
    killed = False
    if app_id:
        with contextlib.suppress(SparkswarmError):
            killed = kill_app(gw, stack=stack, app_id=app_id)
    progress(f"job {job_id}: application {app_id or '(none yet)'} killed={killed}", log=True)
    removed = remove_job(gw, stack=stack, job_id=job_id)
    return {"job_id": job_id, "app_id": app_id, "killed": killed, **removed}


def remove_job(
    gw: Gateway, *, stack: str, job_id: str, progress: ProgressFn = no_progress
) -> dict[str, Any]:
    """Remove a job's service, containers and configs; nothing to do is fine (idempotent)."""
    validate_job_id(job_id)
    name = job_service_name(stack, job_id)
    removed: list[str] = []
    service = find_service(gw, name)
    if service is not None:
        try:
            gw.remove_service(service["ID"])
            removed.append(name)
        except NotFound:
            pass
        _remove_task_containers(gw, service["ID"])
    else:
        # Engine 20.10 keeps a removed job service's containers: find them by label.
        for container in gw.containers(all=True, filters={"label": f"{JOB_LABEL}={job_id}"}):
            with contextlib.suppress(NotFound):
                gw.remove_container(container["Id"], force=True)
    # The configs stay "in use" until the service's tasks are gone.
    for config in gw.configs(filters={"label": f"{JOB_LABEL}={job_id}"}):
        if _remove_config(gw, config["ID"]):
            removed.append(config["Spec"]["Name"])
    if removed:
        progress(f"job {job_id}: removed {', '.join(removed)}")
    return {"job_id": job_id, "removed": removed}


def _remove_config(gw: Gateway, config_id: str, timeout: float = 30.0) -> bool:
    """Remove a config, waiting while it is in use; False if it was gone already."""
    return remove_when_free(
        lambda: gw.remove_config(config_id),
        busy=SparkswarmError,
        timeout=timeout,
        interval=0.5,
    )


def _remove_task_containers(gw: Gateway, service_id: str) -> None:
    """Remove the job's containers on this engine.

    Engine 20.10 leaves a job service's containers behind when the service
    is removed, still running if the driver was: a running driver keeps
    asking the master for executors, and an exited one pins the event-log
    volume. Containers on other nodes are out of this engine's reach.
    """
    label = f"com.docker.swarm.service.id={service_id}"
    for container in gw.containers(all=True, filters={"label": label}):
        with contextlib.suppress(NotFound):
            gw.remove_container(container["Id"], force=True)


def job_logs(gw: Gateway, *, stack: str, job_id: str) -> tuple[list[str], list[str]]:
    """What the driver printed so far (stdout) and its log (stderr). NotFound."""
    validate_job_id(job_id)
    service = find_service(gw, job_service_name(stack, job_id))
    if service is None:
        raise NotFound(f"job {job_id} has no containers any more (see `spark job {job_id}`)")
    return driver_logs(gw, service["ID"])
