"""Read-only service queries: find, list (``ls``), tasks (``ps``), inspect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.services.models import ServiceSummary, TaskInfo
from sparkswarm.services.modes import mode_name

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway


def task_image(task: dict[str, Any]) -> str:
    """The image a task runs, without a pinned digest."""
    image = str(task.get("Spec", {}).get("ContainerSpec", {}).get("Image", ""))
    return image.split("@", 1)[0]


def task_error(task: dict[str, Any]) -> str:
    """The error the engine reports for a task ("" if none)."""
    status = task.get("Status") or {}
    return str(status.get("Err") or "")


def find_service(gw: Gateway, name: str) -> JSON | None:
    """The service called exactly ``name`` (the engine's name filter matches prefixes)."""
    for service in gw.services(filters={"name": name}):
        if service["Spec"]["Name"] == name:
            return service
    return None


def resolve_service(gw: Gateway, name_or_id: str) -> dict[str, Any]:
    """The service named ``name_or_id`` or, failing that, with that ID (prefix).

    Raises NotFound with a message naming the service.
    """
    if not name_or_id:
        raise InvalidRequest("service name is empty")
    service = find_service(gw, name_or_id)
    if service is not None:
        return service
    try:
        return gw.inspect_service(name_or_id)
    except NotFound:
        raise NotFound(f"service {name_or_id!r} not found") from None


def node_hostnames(gw: Gateway) -> dict[str, str]:
    """Every node's hostname, by node ID."""
    return {node["ID"]: node["Description"]["Hostname"] for node in gw.nodes()}


def task_info(task: JSON, service_name: str, hostnames: dict[str, str]) -> TaskInfo:
    """A task as ``service ps`` shows it (``hostnames`` from :func:`node_hostnames`)."""
    slot = task.get("Slot")
    node_id = str(task.get("NodeID", ""))
    status = task.get("Status") or {}
    return TaskInfo(
        id=task["ID"][:12],
        name=f"{service_name}.{slot}" if slot else f"{service_name}.{node_id[:12]}",
        slot=slot,
        node=hostnames.get(node_id, node_id[:12]),
        desired_state=str(task.get("DesiredState", "")),
        current_state=str(status.get("State", "")),
        since=str(status.get("Timestamp", "")),
        error=task_error(task),
        image=task_image(task),
    )


def _published(service: dict[str, Any]) -> list[str]:
    ports = (
        (service.get("Endpoint") or {}).get("Ports")
        or (service["Spec"].get("EndpointSpec") or {}).get("Ports")
        or []
    )
    return [
        f"{port.get('PublishedPort', '')}:{port['TargetPort']}/{port.get('Protocol', 'tcp')}"
        f" ({port.get('PublishMode', 'ingress')})"
        for port in ports
    ]


def list_services(gw: Gateway, *, names: list[str] | None = None) -> list[ServiceSummary]:
    """Every service (or those in ``names``) with running/desired task counts."""
    rows = []
    for service in gw.services(status=True):
        spec = service["Spec"]
        if names and spec["Name"] not in names:
            continue
        status = service.get("ServiceStatus") or {}
        mode = mode_name(spec.get("Mode") or {})
        running = status.get("RunningTasks")
        desired = status.get("DesiredTasks")
        shown = f"{running}/{desired}"
        if mode == "replicated-job":
            total = spec["Mode"]["ReplicatedJob"].get("TotalCompletions", 1)
            shown = f"{running}/{desired} ({status.get('CompletedTasks', 0)}/{total} completed)"
        rows.append(
            ServiceSummary(
                id=service["ID"][:12],
                name=spec["Name"],
                mode=mode,
                running=running,
                desired=desired,
                replicas=shown,
                image=str(spec["TaskTemplate"]["ContainerSpec"]["Image"]).split("@", 1)[0],
                ports=_published(service),
            )
        )
    return sorted(rows, key=lambda row: row.name)


def inspect_service(gw: Gateway, *, name: str) -> dict[str, Any]:
    """The engine's full view of service ``name``; NotFound if there is none."""
    return resolve_service(gw, name)


def service_tasks(gw: Gateway, *, name: str, running_only: bool = False) -> list[TaskInfo]:
    """The tasks of service ``name`` (``service ps``), newest first within each slot.

    Raises NotFound when the service does not exist.
    """
    service = resolve_service(gw, name)
    service_name = service["Spec"]["Name"]
    filters: dict[str, Any] = {"service": service["ID"]}
    if running_only:
        filters["desired-state"] = "running"
    hostnames = node_hostnames(gw)
    rows = [task_info(task, service_name, hostnames) for task in gw.tasks(filters=filters)]
    rows.sort(key=lambda row: row.since, reverse=True)
    return sorted(rows, key=lambda row: (row.slot or 0, row.name))
