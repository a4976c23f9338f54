"""Read-only views of stacks: ls, services, ps, and the plan for a file."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound
from sparkswarm.stacks.translate import NAMESPACE_LABEL, validate_stack_name

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def list_stacks(gw: Gateway) -> list[dict[str, Any]]:
    """Every stack with at least one service (as ``docker stack ls``)."""
    counts: Counter[str] = Counter()
    for service in gw.services(filters={"label": NAMESPACE_LABEL}):
        stack = (service["Spec"].get("Labels") or {}).get(NAMESPACE_LABEL)
        if stack:
            counts[stack] += 1
    return [{"name": name, "services": count} for name, count in sorted(counts.items())]


def _mode_text(spec: dict[str, Any]) -> str:
    mode = spec.get("Mode") or {}
    return next(iter(mode), "replicated").lower().replace("job", "-job").replace("--", "-")


def stack_service_rows(gw: Gateway, stack: str) -> list[dict[str, Any]]:
    """One row per service of ``stack``: mode, replicas running/desired, image, ports.

    Raises NotFound when the stack has no services, InvalidRequest for a bad name.
    """
    validate_stack_name(stack)
    services = gw.services(filters={"label": f"{NAMESPACE_LABEL}={stack}"}, status=True)
    if not services:
        raise NotFound(f"nothing found in stack {stack!r}")
    rows = []
    for service in sorted(services, key=lambda s: s["Spec"]["Name"]):
        spec = service["Spec"]
        status = service.get("ServiceStatus") or {}
        ports = [
            f"{p.get('PublishedPort', 0)}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
            f" ({p.get('PublishMode', 'ingress')})"
            for p in (spec.get("EndpointSpec") or {}).get("Ports") or []
        ]
        rows.append(
            {
                "id": service["ID"][:12],
                "name": spec["Name"],
                "mode": _mode_text(spec),
                "replicas": f"{status.get('RunningTasks', 0)}/{status.get('DesiredTasks', 0)}",
                "image": spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
                "ports": ports,
            }
        )
    return rows


def stack_task_rows(gw: Gateway, stack: str) -> list[dict[str, Any]]:
    """One row per task of ``stack`` (as ``docker stack ps``); NotFound when none.

    Raises InvalidRequest for a name no stack can have.
    """
    validate_stack_name(stack)
    services = {
        s["ID"]: s["Spec"]["Name"]
        for s in gw.services(filters={"label": f"{NAMESPACE_LABEL}={stack}"})
    }
    if not services:
        raise NotFound(f"nothing found in stack {stack!r}")
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in gw.nodes()}
    rows = []
    for task in gw.tasks(filters={"label": f"{NAMESPACE_LABEL}={stack}"}):
        service = services.get(task["ServiceID"], task["ServiceID"])
        slot = task.get("Slot")
        status = task.get("Status") or {}
        rows.append(
            {
                "id": task["ID"][:12],
                "name": f"{service}.{slot}" if slot else f"{service}.{task.get('NodeID', '')[:12]}",
                "image": task["Spec"]["ContainerSpec"]["Image"].split("@")[0],
                "node": nodes.get(task.get("NodeID", ""), ""),
                "desired_state": task.get("DesiredState", ""),
                "current_state": status.get("State", ""),
                "error": status.get("Err", ""),
            }
        )
    return sorted(rows, key=lambda r: (r["name"], r["id"]))
