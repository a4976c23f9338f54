"""Waiting for services: convergence, rolling updates and jobs, with per-task progress.

The engine answers a create/update/scale at once; the work happens after.
These functions poll the service and its tasks, report every task that
appears or changes state through ``progress`` (slot, state, image, error),
and return how it ended. Outcomes that are failures raise OperationFailed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound, OperationFailed
from sparkswarm.services.specs import mode_name

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn

POLL_SECONDS = 0.5
# After an update that should replace tasks, swarmkit marks the service
# "updating" within milliseconds; if nothing has started after this long the
# change did not make any task dirty (e.g. a constraint the node still meets).
NO_ROLLOUT_GRACE_SECONDS = 5.0
TERMINAL_UPDATE_STATES = ("completed", "paused", "rollback_completed", "rollback_paused")
FAILED_TASK_STATES = ("failed", "rejected", "orphaned")
_TASK_IN_MESSAGE = re.compile(r"task ([a-z0-9]{10,})")


def task_image(task: dict[str, Any]) -> str:
    """The image a task runs, without a pinned digest."""
    image = str(task.get("Spec", {}).get("ContainerSpec", {}).get("Image", ""))
    return image.split("@", 1)[0]


def task_error(task: dict[str, Any]) -> str:
    status = task.get("Status") or {}
    return str(status.get("Err") or "")


@dataclass
class TaskWatcher:
    """Remembers each task's state and reports the ones that changed."""

    gw: Gateway
    service_id: str
    name: str
    progress: ProgressFn
    states: dict[str, str] = field(default_factory=dict)
    last_error: str = ""

    def baseline(self) -> None:
        """Take the tasks that exist now as known, without reporting them."""
        for task in self._tasks():
            self.states[task["ID"]] = task["Status"]["State"]

    def poll(self) -> list[dict[str, Any]]:
        """The service's tasks now; reports new tasks and state changes."""
        tasks = self._tasks()
        for task in sorted(tasks, key=lambda t: str(t["Status"].get("Timestamp", ""))):
            state = task["Status"]["State"]
            if self.states.get(task["ID"]) == state:
                continue
            self.states[task["ID"]] = state
            error = task_error(task)
            if error and state in FAILED_TASK_STATES:
                self.last_error = error
            slot = task.get("Slot")
            where = f"slot {slot}" if slot else f"node {str(task.get('NodeID', ''))[:12]}"
            text = f"{self.name} {where}: {state} ({task_image(task)})"
            if error:
                text += f": {error}"
            self.progress(
                text,
                service=self.name,
                task=task["ID"],
                slot=slot,
                state=state,
                desired_state=task.get("DesiredState"),
                image=task_image(task),
                error=error,
                log=True,
            )
        return tasks

    def _tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.gw.api.tasks(filters={"service": self.service_id})
        return tasks


def running_count(tasks: list[dict[str, Any]]) -> tuple[int, int]:
    """(tasks running, tasks that should be running) among ``tasks``."""
    wanted = [t for t in tasks if t.get("DesiredState") == "running"]
    running = [t for t in wanted if t["Status"]["State"] == "running"]
    return len(running), len(wanted)


def is_converged(service: dict[str, Any], tasks: list[dict[str, Any]]) -> bool:
    """Whether every task the service wants is running (replicated or global)."""
    running, wanted = running_count(tasks)
    mode = service["Spec"].get("Mode") or {}
    if "Replicated" in mode:
        replicas = int(mode["Replicated"].get("Replicas", 1))
        return running == replicas and wanted == replicas
    return running == wanted


def wait_for_convergence(gw: Gateway, watcher: TaskWatcher, *, timeout: float) -> tuple[int, int]:
    """Wait until every wanted task runs; returns (running, desired).

    Raises OperationFailed after ``timeout`` seconds, quoting the last task error.
    """
    deadline = time.monotonic() + timeout
    while True:
        service = gw.api.inspect_service(watcher.service_id)
        tasks = watcher.poll()
        if is_converged(service, tasks):
            return running_count(tasks)
        if time.monotonic() > deadline:
            running, wanted = running_count(tasks)
            raise OperationFailed(
                f"service {watcher.name} did not converge within {timeout:g}s: "
                f"{running}/{wanted} tasks running"
                + (f"; last task error: {watcher.last_error}" if watcher.last_error else "")
            )
        time.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class UpdateEnd:
    """How an update (or rollback) ended: the engine's UpdateStatus state."""

    state: str
    message: str
    task_error: str
    running: int
    desired: int


def wait_for_update(
    gw: Gateway, watcher: TaskWatcher, *, timeout: float, expect_rollout: bool
) -> UpdateEnd:
    """Follow an update until the engine's UpdateStatus reaches a final state.

    ``expect_rollout`` False means the change replaces no task: we only wait
    for convergence and report ``completed``. Raises OperationFailed on timeout.
    """
    started = time.monotonic()
    # The engine's final message after an automatic rollback is only "rollback
    # completed"; the reason (which task failed) is in the message it showed
    # while the rollback ran, so keep that.
    reason = ""
    while True:
        service = gw.api.inspect_service(watcher.service_id)
        tasks = watcher.poll()
        status = service.get("UpdateStatus") or {}
        state = status.get("State")
        message = str(status.get("Message", ""))
        if state == "rollback_started":
            reason = message
        elapsed = time.monotonic() - started
        if state in TERMINAL_UPDATE_STATES:
            if state == "rollback_completed" and reason:
                message = reason
            error = ""
            if state != "completed":
                error = _failed_task_error(gw, message) or watcher.last_error
            if state in ("completed", "rollback_completed") and not is_converged(service, tasks):
                # The last tasks may still be starting; a rollback is reported
                # only once the restored tasks run, or with how many do when
                # the time is up (the engine says "completed" before that).
                if state == "rollback_completed" and elapsed > timeout:
                    running, wanted = running_count(tasks)
                    replicated = (service["Spec"].get("Mode") or {}).get("Replicated")
                    if replicated:  # a slot between tasks has none wanted: count slots
                        wanted = max(wanted, int(replicated.get("Replicas", 1)))
                    return UpdateEnd(str(state), message, error, running, wanted)
            else:
                running, wanted = running_count(tasks)
                return UpdateEnd(str(state), message, error, running, wanted)
        elif (not expect_rollout or (state is None and elapsed > NO_ROLLOUT_GRACE_SECONDS)) and (
            is_converged(service, tasks)
        ):
            running, wanted = running_count(tasks)
            return UpdateEnd("completed", "", "", running, wanted)
        if elapsed > timeout:
            raise OperationFailed(
                f"update of service {watcher.name} did not finish within {timeout:g}s "
                f"(update state: {state or 'none'})"
            )
        time.sleep(POLL_SECONDS)


def _failed_task_error(gw: Gateway, message: str) -> str:
    """The error of the task an UpdateStatus message names ("... of task 3xk...")."""
    match = _TASK_IN_MESSAGE.search(message)
    if match is None:
        return ""
    try:
        task = gw.api.inspect_task(match.group(1))
    except NotFound:
        return ""
    status = task.get("Status") or {}
    return str(status.get("Err") or status.get("Message") or "")


def wait_for_job(gw: Gateway, watcher: TaskWatcher, *, timeout: float) -> tuple[int, int]:
    """Wait until a job service has completed; returns (completed, wanted completions).

    Raises OperationFailed when a task fails and the job may not restart it
    (restart condition none), or after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        service = gw.api.inspect_service(watcher.service_id)
        spec = service["Spec"]
        tasks = watcher.poll()
        complete = [t for t in tasks if t["Status"]["State"] == "complete"]
        if mode_name(spec["Mode"]) == "replicated-job":
            wanted = int(spec["Mode"]["ReplicatedJob"].get("TotalCompletions", 1))
            done = len(complete) >= wanted
        else:
            current = [t for t in tasks if t.get("DesiredState") == "complete"]
            wanted = len(current)
            done = bool(current) and all(t["Status"]["State"] == "complete" for t in current)
        if done:
            return len(complete), wanted
        restart = (spec["TaskTemplate"].get("RestartPolicy") or {}).get("Condition")
        failed = [t for t in tasks if t["Status"]["State"] in FAILED_TASK_STATES]
        if failed and restart == "none":
            raise OperationFailed(f"job {watcher.name} failed: {task_error(failed[0])}")
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"job {watcher.name} did not complete within {timeout:g}s: "
                f"{len(complete)}/{wanted} completed"
                + (f"; last task error: {watcher.last_error}" if watcher.last_error else "")
            )
        time.sleep(POLL_SECONDS)
