"""``service scale``: set replica counts of several services and wait for all of them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sparkswarm.errors import Conflict, InvalidRequest
from sparkswarm.limits import check_wait
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.services.admission import admit_replicas
from sparkswarm.services.changes import set_replicas
from sparkswarm.services.models import ScaleResult, ServiceOutcome
from sparkswarm.services.ops import (
    DEFAULT_TIMEOUT,
    UPDATE_ATTEMPTS,
    replicas_of,
    send_update,
    unchanged_outcome,
)
from sparkswarm.services.queries import resolve_service
from sparkswarm.services.rolling import TaskWatcher, wait_for_convergence

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def scale_services(
    gw: Gateway,
    *,
    replicas: dict[str, int],
    detach: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: ProgressFn = no_progress,
) -> ScaleResult:
    """Set the replica count of each service in ``replicas`` and wait for all to converge.

    Every service is checked before any is changed: an unknown service is
    NotFound, a global or job service, a negative count or one over the
    limits (per service, per stack: :mod:`sparkswarm.limits`) InvalidRequest.
    Raises OperationFailed when a service does not converge within ``timeout`` s.
    """
    if not replicas:
        raise InvalidRequest("nothing to scale: give SERVICE=REPLICAS")
    check_wait(timeout)
    for name, count in replicas.items():
        set_replicas(resolve_service(gw, name)["Spec"], count)
    admit_replicas(gw, replicas)
    watchers: list[tuple[TaskWatcher, ServiceOutcome]] = []
    for name, count in replicas.items():
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            service = resolve_service(gw, name)
            spec = service["Spec"]
            watcher = TaskWatcher(gw, service["ID"], name, progress)
            outcome = unchanged_outcome(name, service)
            if replicas_of(spec) == count:
                break
            watcher.baseline()
            try:
                send_update(
                    gw, service["ID"], service["Version"]["Index"], set_replicas(spec, count)
                )
            except Conflict:
                if attempt == UPDATE_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
                continue
            progress(f"{name} scaled to {count}", service=name, replicas=count, log=True)
            outcome = outcome.model_copy(
                update={"changed": True, "outcome": "detached", "desired": count}
            )
            break
        watchers.append((watcher, outcome))
    results = []
    for watcher, outcome in watchers:
        if not detach:
            running, desired = wait_for_convergence(gw, watcher, timeout=timeout)
            outcome = outcome.model_copy(
                update={
                    "running": running,
                    "desired": desired,
                    "outcome": "completed" if outcome.changed else "unchanged",
                }
            )
        results.append(outcome)
    return ScaleResult(services=results)
