"""Gathering the facts about a Spark job (read-only I/O; judged in ``judge.py``).

Two sources: the driver's swarm task (state, error, exit code, container
OOM flag) and the master's ``/json/`` (read from inside the master
container). They are joined through the Spark application id, which the
driver logs as it registers ("Connected to Spark cluster with app ID ...").
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from sparkswarm.errors import NotFound, SparkswarmError
from sparkswarm.spark.job_record import JobRecord
from sparkswarm.spark.job_spec import EVENT_DIR, split_log
from sparkswarm.spark.judge import JobFacts, TaskFacts
from sparkswarm.spark.queries import find_service

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.status import SparkStatus

_APP_ID = re.compile(r"app ID (app-[0-9]+-[0-9]+)")


def task_facts(gw: Gateway, service_id: str) -> TaskFacts | None:
    """The newest task of the job's service, or None before the swarm made one."""
    tasks = gw.tasks(filters={"service": service_id})
    if not tasks:
        return None
    task = max(tasks, key=lambda t: t.get("CreatedAt", ""))
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    exit_code = container.get("ExitCode")
    state = str(status.get("State", "new"))
    oom = False
    if state in ("failed", "complete") and container.get("ContainerID"):
        # The task does not say why its container died; the container does.
        try:
            inspected = gw.inspect_container(container["ContainerID"])
            oom = bool((inspected.get("State") or {}).get("OOMKilled"))
        except SparkswarmError:
            pass
    return TaskFacts(
        state=state,
        err=str(status.get("Err") or ""),
        exit_code=int(exit_code) if exit_code is not None and state != "running" else None,
        node=str(task.get("NodeID") or ""),
        oom_killed=oom,
    )


def driver_logs(
    gw: Gateway, service_id: str, tail: int | None = None
) -> tuple[list[str], list[str]]:
    """The driver's stdout and stderr lines (spark-submit merges the Python
    driver's own stderr, tracebacks included, into its stdout; the JVM's
    log goes to stderr)."""

    def read(stdout: bool) -> list[str]:
        chunks = gw.service_logs(service_id, stdout=stdout, stderr=not stdout, tail=tail or None)
        return split_log(b"".join(chunks))

    try:
        return read(True), read(False)
    except NotFound:
        return [], []


def find_app_id(gw: Gateway, service_id: str) -> str | None:
    """The Spark application id the driver registered, from its log; None yet."""
    _, stderr = driver_logs(gw, service_id)
    for line in stderr:
        match = _APP_ID.search(line)
        if match:
            return match.group(1)
    return None


def events_volume(gw: Gateway, stack: str) -> str | None:
    """The history server's event-log volume (jobs write their event logs there)."""
    history = find_service(gw, f"{stack}_history")
    if history is None:
        return None
    for mount in history["Spec"]["TaskTemplate"]["ContainerSpec"].get("Mounts") or []:
        if mount.get("Target") == EVENT_DIR and mount.get("Type", "volume") == "volume":
            return str(mount["Source"])
    return None


def ui_links(gw: Gateway, stack: str) -> tuple[str | None, str | None]:
    """URLs of the master UI and the history server, when the stack publishes them."""

    def link(role: str, port: int) -> str | None:
        service = find_service(gw, f"{stack}_{role}")
        if service is None:
            return None
        for entry in (service.get("Endpoint") or {}).get("Ports") or []:
            if entry.get("TargetPort") == port and entry.get("PublishedPort"):
                host = _node_address(gw, service["ID"])
                return f"http://{host}:{entry['PublishedPort']}/"
        return None

    return link("master", 8080), link("history", 18080)


def _node_address(gw: Gateway, service_id: str) -> str:
    """The address of the node running the service's task (host-mode ports live there)."""
    for task in gw.tasks(filters={"service": service_id, "desired-state": "running"}):
        try:
            node = gw.inspect_node(task["NodeID"])
        except SparkswarmError:
            continue
        address = (node.get("Status") or {}).get("Addr")
        if address and address != "0.0.0.0":
            return str(address)
    return "127.0.0.1"


def observe_job(
    gw: Gateway, record: JobRecord, status: SparkStatus | None, app_id: str | None
) -> tuple[JobFacts, str | None]:
    """The facts about ``record``'s job now, and its application id (found in
    the driver's log when not known yet). Logs are read in full only once
    the driver ended."""
    service = find_service(gw, record.service)
    task = task_facts(gw, service["ID"]) if service is not None else None
    stdout: list[str] = []
    stderr: list[str] = []
    if service is not None and task is not None:
        if task.state not in ("running", "new", "pending", "assigned", "accepted", "preparing"):
            stdout, stderr = driver_logs(gw, service["ID"])
            if app_id is None:
                app_id = next((m.group(1) for m in map(_APP_ID.search, stderr) if m), None)
        elif app_id is None and task.state == "running":
            app_id = find_app_id(gw, service["ID"])
    app = status.app(app_id) if status is not None and app_id else None
    facts = JobFacts(
        record_state=record.state,
        age=time.time() - record.submitted_since,
        ask=record.ask,
        image=record.image,
        task=task,
        service_exists=service is not None,
        app_state=app.state if app is not None else None,
        status=status,
        stdout=tuple(stdout),
        stderr=tuple(stderr),
    )
    return facts, app_id
