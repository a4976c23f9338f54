"""``service scale``: set replica counts of several services and wait for all of them."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from sparkswarm.errors import InvalidRequest
from sparkswarm.limits import check_wait
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.retry import update_with_retry
from sparkswarm.services.admission import admit_replicas
from sparkswarm.services.models import ScaleResult, ServiceOutcome
from sparkswarm.services.ops import DEFAULT_TIMEOUT, replicas_of, spec_outcome, unchanged_outcome
from sparkswarm.services.queries import resolve_service
from sparkswarm.services.replicas import set_replicas
from sparkswarm.services.rolling import TaskWatcher, wait_for_services

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway


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
    scaled: list[tuple[TaskWatcher, ServiceOutcome]] = []
    for name, count in replicas.items():

        def change(
            service: JSON, name: str = name, count: int = count
        ) -> tuple[TaskWatcher, ServiceOutcome]:
            watcher = TaskWatcher(gw, service["ID"], name, progress)
            outcome = unchanged_outcome(name, service)
            if replicas_of(service["Spec"]) == count:
                return watcher, outcome
            watcher.baseline()
            spec = set_replicas(service["Spec"], count)
            gw.update_service(service["ID"], service["Version"]["Index"], spec)
            progress(f"{name} scaled to {count}", service=name, replicas=count, log=True)
            return watcher, spec_outcome(name, service["ID"], spec, "detached")

        scaled.append(update_with_retry(partial(resolve_service, gw, name), change))
    ended = {} if detach else wait_for_services(gw, [w for w, _ in scaled], timeout=timeout)
    results = []
    for watcher, outcome in scaled:
        if watcher.service_id in ended:
            end = ended[watcher.service_id]
            outcome = replace(
                outcome,
                running=end.running,
                desired=end.wanted,
                outcome="completed" if outcome.changed else "unchanged",
            )
        results.append(outcome)
    return ScaleResult(services=results)
