"""``service logs``: the log lines of a service's tasks, labelled like the docker CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sparkswarm.services.queries import node_hostnames, resolve_service

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def service_logs(
    gw: Gateway,
    *,
    name: str,
    tail: int | None = None,
    follow: bool = False,
    timestamps: bool = False,
) -> Iterator[str]:
    """Log lines of service ``name``'s tasks, as ``web.1@node | text``.

    With ``follow`` the iterator keeps yielding until the caller stops it.
    Raises NotFound when the service does not exist, InvalidRequest for a
    ``tail`` out of bounds (before the engine is asked).
    """
    from sparkswarm.limits import check_number

    check_number("--tail", tail)
    service = resolve_service(gw, name)
    is_tty = bool(service["Spec"]["TaskTemplate"]["ContainerSpec"].get("TTY", False))
    labels = _task_labels(gw, service)
    stream = gw.service_logs(
        service["ID"],
        details=True,
        follow=follow,
        timestamps=timestamps,
        tail=tail,
        is_tty=is_tty,
    )
    buffer = b""
    for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield _log_line(gw, service, labels, line.decode("utf-8", "replace"))
    if buffer:
        yield _log_line(gw, service, labels, buffer.decode("utf-8", "replace"))


def _task_labels(gw: Gateway, service: dict[str, Any]) -> dict[str, str]:
    hostnames = node_hostnames(gw)
    labels = {}
    for task in gw.tasks(filters={"service": service["ID"]}):
        slot = task.get("Slot") or task.get("NodeID", "")[:12]
        host = hostnames.get(task.get("NodeID", ""), "")
        labels[task["ID"]] = f"{service['Spec']['Name']}.{slot}@{host}"
    return labels


def _log_line(gw: Gateway, service: dict[str, Any], labels: dict[str, str], raw: str) -> str:
    # With details=true the engine prefixes each line with the task's
    # attributes: "com.docker.swarm.node.id=..,...,com.docker.swarm.task.id=.. text".
    attributes, _, text = raw.partition(" ")
    task_id = ""
    for pair in attributes.split(","):
        key, _, value = pair.partition("=")
        if key == "com.docker.swarm.task.id":
            task_id = value
    if not task_id:
        return raw
    if task_id not in labels:  # a task started while following
        labels.update(_task_labels(gw, service))
    return f"{labels.get(task_id, task_id[:12])} | {text}"
