"""Waiting for services: convergence, rolling updates and jobs, with per-task progress.

The engine answers a create/update/scale at once; the work happens after.
These functions (all built on :func:`sparkswarm.waiting.poll`) poll the
service and its tasks, report every task that
appears or changes state through ``progress`` (slot, state, image, error),
and return how it ended. Outcomes that are failures raise OperationFailed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound, OperationFailed
from sparkswarm.services.modes import mode_name
from sparkswarm.services.queries import task_error, task_image
from sparkswarm.waiting import poll

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway
    from sparkswarm.progress import ProgressFn

POLL_SECONDS = 0.5
# After an update that should replace tasks, swarmkit marks the service
# "updating" within milliseconds; if nothing has started after this long the
# change did not make any task dirty (e.g. a constraint the node still meets).
NO_ROLLOUT_GRACE_SECONDS = 5.0
TERMINAL_UPDATE_STATES = ("completed", "paused", "rollback_completed", "rollback_paused")
FAILED_TASK_STATES = ("failed", "rejected", "orphaned")
_TASK_IN_MESSAGE = re.compile(r"task ([a-z0-9]{10,})")
_UPDATING = ("updating", "rollback_started")
_FAILED_UPDATES = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


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
        return self.gw.tasks(filters={"service": self.service_id})


def running_count(tasks: list[JSON]) -> tuple[int, int]:
    """(tasks running, tasks that should be running) among ``tasks``."""
    wanted = [t for t in tasks if t.get("DesiredState") == "running"]
    running = [t for t in wanted if t["Status"]["State"] == "running"]
    return len(running), len(wanted)


@dataclass(frozen=True)
class Convergence:
    """How far a service is: ``running`` of ``wanted`` tasks (jobs: completed)."""

    done: bool
    running: int
    wanted: int
    line: str


def convergence(service: JSON, tasks: list[JSON], *, strict: bool = False) -> Convergence:
    """Whether every task ``service`` wants runs (jobs: has completed), given its tasks.

    Replicated: the replica count runs and no update is in progress; global:
    every task meant to run runs. ``strict``: an update that paused or rolled
    back raises OperationFailed (a deployment that made it must not pass).
    """
    spec = service["Spec"]
    name = spec["Name"]
    status = service.get("UpdateStatus") or {}
    update = status.get("State", "")
    if strict and update in _FAILED_UPDATES:
        raise OperationFailed(f"service {name}: update {update}: {status.get('Message', '')}")
    mode = spec.get("Mode") or {}
    if "ReplicatedJob" in mode or "GlobalJob" in mode:
        job = mode.get("ReplicatedJob") or {}
        iteration = (service.get("JobStatus") or {}).get("JobIteration", {}).get("Index")
        current = [t for t in tasks if (t.get("JobIteration") or {}).get("Index") == iteration]
        done = sum(1 for t in current if t["Status"]["State"] == "complete")
        if "ReplicatedJob" in mode:
            wanted = int(job.get("TotalCompletions") or job.get("MaxConcurrent") or 1)
        else:
            wanted = sum(1 for t in current if t.get("DesiredState") == "complete")
        return Convergence(done >= wanted, done, wanted, f"{name}: {done}/{wanted} completed")
    running, meant = running_count(tasks)
    wanted = int((mode["Replicated"] or {}).get("Replicas", 1)) if "Replicated" in mode else meant
    # Strict (stacks): a rollout still going is not converged even when the counts are.
    done = running == wanted and meant == wanted and not (strict and update in _UPDATING)
    return Convergence(done, running, wanted, f"{name}: {running}/{wanted} running")


def wait_for_services(
    gw: Gateway,
    watchers: list[TaskWatcher],
    *,
    timeout: float,
    strict: bool = False,
    summary: ProgressFn | None = None,
) -> dict[str, Convergence]:
    """Wait until every watched service has converged; how each ended, by service ID.

    Each round reports task changes through the watchers and, with
    ``summary``, one line for all services. Raises OperationFailed after
    ``timeout`` seconds naming what still was not there (and the last task
    error), or at once for a failed update when ``strict``.
    """
    ended: dict[str, Convergence] = {}
    last: dict[str, Convergence] = {}

    def check() -> dict[str, Convergence] | None:
        for watcher in watchers:
            if watcher.service_id in ended:
                continue
            service = gw.inspect_service(watcher.service_id)
            state = convergence(service, watcher.poll(), strict=strict)
            last[watcher.service_id] = state
            if state.done:
                ended[watcher.service_id] = state
        if summary is not None:
            lines = [last[w.service_id].line for w in watchers]
            summary("; ".join(lines), converged=len(ended), total=len(watchers))
        return ended if len(ended) == len(watchers) else None

    if poll(check, timeout=timeout, interval=POLL_SECONDS) is not None:
        return ended
    late = [w for w in watchers if w.service_id not in ended]
    errors = [f"last task error: {w.last_error}" for w in late if w.last_error]
    if len(watchers) == 1:
        state = last[late[0].service_id]
        raise OperationFailed(
            f"service {late[0].name} did not converge within {timeout:g}s: "
            f"{state.running}/{state.wanted} tasks running" + (f"; {errors[0]}" if errors else "")
        )
    raise OperationFailed(
        f"services did not converge within {timeout:.0f}s: "
        + "; ".join([*(last[w.service_id].line for w in late), *errors])
    )


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
    state: str | None = None
    unfinished_rollback: UpdateEnd | None = None

    def check() -> UpdateEnd | None:
        nonlocal reason, state, unfinished_rollback
        service = gw.inspect_service(watcher.service_id)
        tasks = watcher.poll()
        status = service.get("UpdateStatus") or {}
        state = status.get("State")
        message = str(status.get("Message", ""))
        if state == "rollback_started":
            reason = message
        converged = convergence(service, tasks).done
        running, wanted = running_count(tasks)
        if state in TERMINAL_UPDATE_STATES:
            if state == "completed":
                # the last tasks may still be starting: keep polling
                return UpdateEnd(state, message, "", running, wanted) if converged else None
            if state == "rollback_completed" and reason:
                message = reason
            error = _failed_task_error(gw, message) or watcher.last_error
            if state == "rollback_completed" and not converged:
                # A rollback is reported only once the restored tasks run, or
                # with how many do when the time is up (the engine says
                # "completed" before that).
                replicated = (service["Spec"].get("Mode") or {}).get("Replicated")
                if replicated:  # a slot between tasks has none wanted: count slots
                    wanted = max(wanted, int(replicated.get("Replicas", 1)))
                unfinished_rollback = UpdateEnd(state, message, error, running, wanted)
                return None
            return UpdateEnd(str(state), message, error, running, wanted)
        no_rollout = not expect_rollout or (
            state is None and time.monotonic() - started > NO_ROLLOUT_GRACE_SECONDS
        )
        return UpdateEnd("completed", "", "", running, wanted) if no_rollout and converged else None

    end = poll(check, timeout=timeout, interval=POLL_SECONDS) or unfinished_rollback
    if end is None:
        raise OperationFailed(
            f"update of service {watcher.name} did not finish within {timeout:g}s "
            f"(update state: {state or 'none'})"
        )
    return end


def _failed_task_error(gw: Gateway, message: str) -> str:
    """The error of the task an UpdateStatus message names ("... of task 3xk...")."""
    match = _TASK_IN_MESSAGE.search(message)
    if match is None:
        return ""
    try:
        task = gw.inspect_task(match.group(1))
    except NotFound:
        return ""
    status = task.get("Status") or {}
    return str(status.get("Err") or status.get("Message") or "")


def wait_for_job(gw: Gateway, watcher: TaskWatcher, *, timeout: float) -> tuple[int, int]:
    """Wait until a job service has completed; returns (completed, wanted completions).

    Raises OperationFailed when a task fails and the job may not restart it
    (restart condition none), or after ``timeout`` seconds.
    """
    counts = (0, 0)

    def check() -> tuple[int, int] | None:
        nonlocal counts
        spec = gw.inspect_service(watcher.service_id)["Spec"]
        tasks = watcher.poll()
        complete = [t for t in tasks if t["Status"]["State"] == "complete"]
        if mode_name(spec["Mode"]) == "replicated-job":
            wanted = int(spec["Mode"]["ReplicatedJob"].get("TotalCompletions", 1))
            done = len(complete) >= wanted
        else:
            current = [t for t in tasks if t.get("DesiredState") == "complete"]
            wanted = len(current)
            done = bool(current) and all(t["Status"]["State"] == "complete" for t in current)
        counts = (len(complete), wanted)
        if done:
            return counts
        restart = (spec["TaskTemplate"].get("RestartPolicy") or {}).get("Condition")
        failed = [t for t in tasks if t["Status"]["State"] in FAILED_TASK_STATES]
        if failed and restart == "none":
            raise OperationFailed(f"job {watcher.name} failed: {task_error(failed[0])}")
        return None

    ended = poll(check, timeout=timeout, interval=POLL_SECONDS)
    if ended is None:
        raise OperationFailed(
            f"job {watcher.name} did not complete within {timeout:g}s: "
            f"{counts[0]}/{counts[1]} completed"
            + (f"; last task error: {watcher.last_error}" if watcher.last_error else "")
        )
    return ended


def update_in_progress(service: dict[str, Any]) -> bool:
    """Whether the engine says it is rolling out (or rolling back) an update."""
    state = (service.get("UpdateStatus") or {}).get("State")
    return state in ("updating", "rollback_started")


# The parts of a task's spec that a rolling update replaces (as the service's TaskTemplate).
_ROLLED_OUT = ("ContainerSpec", "Resources", "Placement", "ForceUpdate")


def rollout_pending(gw: Gateway, service: dict[str, Any]) -> bool:
    """Whether tasks meant to run still run an older spec than the service's.

    Right after a spec change the engine shows no new ``UpdateStatus`` for a
    moment, until its updater starts: then only the tasks tell that a
    rollout is still to come. (The service's ``UpdatedAt`` cannot tell: the
    engine stamps it again when it records the update's end.)
    """
    wanted = service["Spec"]["TaskTemplate"]
    filters = {"service": service["ID"], "desired-state": "running"}
    return any(
        (task.get("Spec") or {}).get(part) != wanted.get(part)
        for task in gw.tasks(filters=filters)
        for part in _ROLLED_OUT
    )
