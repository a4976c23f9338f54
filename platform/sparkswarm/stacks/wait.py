"""Waiting until deployed services have converged, with progress."""

from __future__ import annotations

import time
from typing import Any

from sparkswarm.errors import OperationFailed
from sparkswarm.progress import ProgressFn

_FAILED_UPDATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


def _desired_tasks(service: dict[str, Any], nodes: int) -> int | None:
    mode = service["Spec"].get("Mode") or {}
    if "Replicated" in mode:
        return int((mode["Replicated"] or {}).get("Replicas", 1))
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"] or {}
        return int(job.get("TotalCompletions") or job.get("MaxConcurrent") or 1)
    return None


def service_converged(
    service: dict[str, Any], tasks: list[dict[str, Any]], nodes: int
) -> tuple[bool, str]:
    """Whether ``service`` has converged given its tasks, and a progress line.

    Raises OperationFailed when its update paused or rolled back.
    """
    name = service["Spec"]["Name"]
    update = (service.get("UpdateStatus") or {}).get("State", "")
    if update in _FAILED_UPDATES:
        message = (service.get("UpdateStatus") or {}).get("Message", "")
        raise OperationFailed(f"service {name}: update {update}: {message}")
    mode = service["Spec"].get("Mode") or {}
    is_job = "ReplicatedJob" in mode or "GlobalJob" in mode
    wanted = _desired_tasks(service, nodes)
    if wanted is None:  # global modes: one task per eligible node, as scheduled
        wanted = sum(1 for t in tasks if t.get("DesiredState") in ("running", "complete"))
    if is_job:
        iteration = (service.get("JobStatus") or {}).get("JobIteration", {}).get("Index")
        current = [t for t in tasks if (t.get("JobIteration") or {}).get("Index") == iteration]
        done = sum(1 for t in current if t["Status"]["State"] == "complete")
        return done >= wanted, f"{name}: {done}/{wanted} completed"
    running = sum(
        1 for t in tasks if t.get("DesiredState") == "running" and t["Status"]["State"] == "running"
    )
    updating = update in ("updating", "rollback_started")
    return running == wanted and not updating, f"{name}: {running}/{wanted} running"


def wait_for_services(
    gw: Any,
    service_ids: list[str],
    *,
    progress: ProgressFn,
    timeout: float = 300.0,
    interval: float = 1.0,
) -> None:
    """Poll until every service converged; OperationFailed on timeout or a failed update."""
    deadline = time.monotonic() + timeout
    pending = list(service_ids)
    while pending:
        nodes = sum(
            1
            for n in gw.api.nodes()
            if n["Status"]["State"] == "ready" and n["Spec"].get("Availability") == "active"
        )
        still = []
        lines = []
        for service_id in pending:
            service = gw.api.inspect_service(service_id)
            tasks = gw.api.tasks(filters={"service": service_id})
            done, line = service_converged(service, tasks, nodes)
            lines.append(line)
            if not done:
                still.append(service_id)
        progress("; ".join(lines), converged=len(service_ids) - len(still), total=len(service_ids))
        pending = still
        if not pending:
            return
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"services did not converge within {timeout:.0f}s: " + "; ".join(lines)
            )
        time.sleep(interval)
