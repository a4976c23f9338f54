"""The swarm's health as plain facts, read from the Engine's JSON (pure: no I/O).

The swarm watcher (``workers/swarm_watch.py``) lists nodes, services and
tasks through the gateway and follows ``/events``; these functions turn
what the engine answered into small frozen records that
:mod:`sparkswarm.health_judge` judges. Unit tests build the records
directly, one fact varied at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class NodeFact:
    """A swarm node as the managers see it."""

    id: str
    hostname: str
    role: str  # manager | worker
    state: str  # ready | down | unknown | disconnected
    availability: str  # active | pause | drain
    reachability: str = ""  # managers: reachable | unreachable | unknown
    leader: bool = False


@dataclass(frozen=True)
class ServiceFact:
    """A service: how many tasks it wants and how its last update went."""

    id: str
    name: str
    mode: str  # replicated | global | job
    replicas: int | None  # replicated: the spec's replicas; None otherwise
    update_state: str = ""  # UpdateStatus.State ("" without an update)
    update_message: str = ""


@dataclass(frozen=True)
class TaskFact:
    """A task (current or kept in the swarm's task history)."""

    id: str
    service_id: str
    node_id: str
    state: str
    desired_state: str
    at: float  # Status.Timestamp: when it reached ``state``
    error: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class NodeStateChange:
    """A node's state change, from a ``node update`` event of ``/events``."""

    node_id: str
    hostname: str
    state: str
    at: float


@dataclass(frozen=True)
class JobFact:
    """A Spark job that ended (from the Spark watcher's job records)."""

    id: str
    name: str
    stack: str
    state: str
    finished_at: float
    reason: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class SwarmFacts:
    """One look at the swarm, at ``now``."""

    now: float
    nodes: tuple[NodeFact, ...] = ()
    services: tuple[ServiceFact, ...] = ()
    tasks: tuple[TaskFact, ...] = ()
    jobs: tuple[JobFact, ...] = ()


def engine_time(text: str | None) -> float:
    """An Engine timestamp (RFC 3339 with nanoseconds) as Unix seconds; 0.0 if absent."""
    if not text or text.startswith("0001-"):
        return 0.0
    stamp = text.rstrip("Z")
    zone = "+00:00"
    if "+" in stamp[10:] or "-" in stamp[10:]:
        cut = max(stamp.rfind("+"), stamp.rfind("-"))
        stamp, zone = stamp[:cut], stamp[cut:]
    whole, _, fraction = stamp.partition(".")
    # datetime keeps microseconds: the engine's nanoseconds are cut to six digits.
    micro = (fraction + "000000")[:6]
    return datetime.fromisoformat(f"{whole}.{micro}{zone}").timestamp()


def node_fact(node: JSON) -> NodeFact:
    """A node of ``GET /nodes``."""
    spec = node.get("Spec") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return NodeFact(
        id=str(node.get("ID", "")),
        hostname=str((node.get("Description") or {}).get("Hostname", "")),
        role=str(spec.get("Role", "worker")),
        state=str(status.get("State", "unknown")),
        availability=str(spec.get("Availability", "active")),
        reachability=str(manager.get("Reachability", "")),
        leader=bool(manager.get("Leader", False)),
    )


def service_fact(service: JSON) -> ServiceFact:
    """A service of ``GET /services``."""
    spec = service.get("Spec") or {}
    mode = spec.get("Mode") or {}
    update = service.get("UpdateStatus") or {}
    replicas: int | None = None
    if "Replicated" in mode:
        kind = "replicated"
        replicas = int((mode["Replicated"] or {}).get("Replicas", 1))
    elif "Global" in mode:
        kind = "global"
    else:
        kind = "job"
    return ServiceFact(
        id=str(service.get("ID", "")),
        name=str(spec.get("Name", "")),
        mode=kind,
        replicas=replicas,
        update_state=str(update.get("State", "")),
        update_message=str(update.get("Message", "")),
    )


def task_fact(task: JSON) -> TaskFact:
    """A task of ``GET /tasks``."""
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    exit_code = container.get("ExitCode")
    state = str(status.get("State", "new"))
    return TaskFact(
        id=str(task.get("ID", "")),
        service_id=str(task.get("ServiceID", "")),
        node_id=str(task.get("NodeID", "")),
        state=state,
        desired_state=str(task.get("DesiredState", "")),
        at=engine_time(status.get("Timestamp")),
        error=str(status.get("Err") or ""),
        # ExitCode is 0 by default: meaningless while running, or with no
        # container at all (an image that is missing, a mount that failed).
        exit_code=(
            int(exit_code)
            if exit_code is not None and state != "running" and container.get("ContainerID")
            else None
        ),
    )


def node_change(event: JSON) -> NodeStateChange | None:
    """A node state change of an ``/events`` message; None for anything else."""
    if event.get("Type") != "node" or event.get("Action") != "update":
        return None
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    state = attributes.get("state.new")
    if not state:
        return None
    return NodeStateChange(
        node_id=str(actor.get("ID", "")),
        hostname=str(attributes.get("name", "")),
        state=str(state),
        at=int(event.get("timeNano") or 0) / 1e9 or float(event.get("time") or 0),
    )
