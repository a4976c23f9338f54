"""Read-only views of stacks (``stack ls``, ``stack services``, ``stack ps``),
the registry's stack reads: typed rows, as every other listing."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sparkswarm.errors import NotFound
from sparkswarm.services.models import ServiceSummary, TaskInfo
from sparkswarm.services.modes import mode_name
from sparkswarm.services.queries import node_hostnames, task_info
from sparkswarm.stacks.convert import NAMESPACE_LABEL, validate_stack_name
from sparkswarm.stacks.models import StackSummary

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway


def list_stacks(gw: Gateway) -> list[StackSummary]:
    """Every stack with at least one service (as ``docker stack ls``)."""
    counts: Counter[str] = Counter()
    for service in gw.services(filters={"label": NAMESPACE_LABEL}):
        stack = (service["Spec"].get("Labels") or {}).get(NAMESPACE_LABEL)
        if stack:
            counts[stack] += 1
    return [StackSummary(name=name, services=count) for name, count in sorted(counts.items())]


def _stack_services(gw: Gateway, stack: str, *, status: bool = False) -> list[JSON]:
    """The services of ``stack``; NotFound when it has none, InvalidRequest for a bad name."""
    validate_stack_name(stack)
    services = gw.services(filters={"label": f"{NAMESPACE_LABEL}={stack}"}, status=status)
    if not services:
        raise NotFound(f"nothing found in stack {stack!r}")
    return services


def stack_services(gw: Gateway, *, name: str) -> list[ServiceSummary]:
    """One row per service of stack ``name``: mode, replicas running/desired, image, ports.

    Raises NotFound when the stack has no services, InvalidRequest for a bad name.
    """
    rows = []
    for service in sorted(_stack_services(gw, name, status=True), key=lambda s: s["Spec"]["Name"]):
        spec = service["Spec"]
        status = service.get("ServiceStatus") or {}
        ports = [
            f"{p.get('PublishedPort', 0)}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
            f" ({p.get('PublishMode', 'ingress')})"
            for p in (spec.get("EndpointSpec") or {}).get("Ports") or []
        ]
        running, desired = status.get("RunningTasks", 0), status.get("DesiredTasks", 0)
        rows.append(
            ServiceSummary(
                id=service["ID"][:12],
                name=spec["Name"],
                mode=mode_name(spec.get("Mode") or {}),
                running=running,
                desired=desired,
                replicas=f"{running}/{desired}",
                image=spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
                ports=ports,
            )
        )
    return rows


def stack_tasks(gw: Gateway, *, name: str) -> list[TaskInfo]:
    """One row per task of stack ``name`` (as ``docker stack ps``); NotFound when none.

    Raises InvalidRequest for a name no stack can have.
    """
    names = {s["ID"]: s["Spec"]["Name"] for s in _stack_services(gw, name)}
    hostnames = node_hostnames(gw)
    rows = [
        task_info(task, str(names.get(task["ServiceID"], task["ServiceID"])), hostnames)
        for task in gw.tasks(filters={"label": f"{NAMESPACE_LABEL}={name}"})
    ]
    return sorted(rows, key=lambda r: (r.name, r.id))
