"""Admission checks that need the engine's view: stack totals and node resources.

The pure rules are in :mod:`sparkswarm.limits`; this module gathers the facts
they judge (the other services of a stack, the nodes' resources) through the
gateway, before any change is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sparkswarm import limits

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

NAMESPACE_LABEL = "com.docker.stack.namespace"


def admit_replicas(gw: Gateway, wanted: Mapping[str, int]) -> None:
    """Refuse new replica counts (service -> count) that break a stack's total.

    Services that belong to a stack (``com.docker.stack.namespace``) are
    counted with the stack's other services as they are now. Raises
    InvalidRequest (over a limit) or NotFound (unknown service).
    """
    # The service reads (and their result types) load here: a deploy's node check needs none.
    from sparkswarm.services.queries import resolve_service

    by_stack: dict[str, dict[str, int]] = {}
    for name, count in wanted.items():
        spec = resolve_service(gw, name)["Spec"]
        limits.check_replicas(count, service=str(spec["Name"]))
        stack = (spec.get("Labels") or {}).get(NAMESPACE_LABEL)
        if stack:
            by_stack.setdefault(str(stack), {})[str(spec["Name"])] = count
    for stack, changed in by_stack.items():
        services = gw.services(filters={"label": f"{NAMESPACE_LABEL}={stack}"})
        tasks = {str(s["Spec"]["Name"]): limits.mode_tasks(s["Spec"].get("Mode")) for s in services}
        limits.check_stack_total(stack, {**tasks, **changed})


def node_capacities(gw: Gateway) -> list[limits.NodeCapacity]:
    """What each ready, active node offers (CPUs, memory)."""
    return limits.node_capacities(gw.nodes())


def admit_reservations(gw: Gateway, specs: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse services (name -> ServiceSpec) whose reservation no node can satisfy."""
    reserving = {
        name: ((spec.get("TaskTemplate") or {}).get("Resources") or {}).get("Reservations")
        for name, spec in specs.items()
    }
    reserving = {name: r for name, r in reserving.items() if r}
    if not reserving:
        return
    nodes = node_capacities(gw)
    for name, reservation in reserving.items():
        limits.check_reservation(name, reservation, nodes)
