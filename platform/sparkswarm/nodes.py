"""Swarm nodes: list, inspect, promote/demote, availability, labels.

The Engine replaces a node's whole spec on update (docker-py's
``update_node`` sends what it is given), so every change is made by a pure
function, :func:`merge_node_spec`, that takes the current spec and returns the
complete new one (name, role, availability, labels). The update is sent with
the node's version and made again on a fresh read when the Engine answers
"update out of sequence" (:func:`sparkswarm.retry.update_with_retry`).

Demotion is guarded by :func:`demotion_refusal`: demoting the last manager,
or a manager whose loss leaves fewer reachable managers than a majority, is
refused unless forced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, NotFound, OperationFailed
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.retry import update_with_retry
from sparkswarm.waiting import poll

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

NODE_ROLES = ("worker", "manager")
AVAILABILITIES = ("active", "pause", "drain")


def check_node_role(role: str | None, flag: str) -> None:
    """InvalidRequest, naming ``flag``, unless ``role`` is None or a node role."""
    if role is not None and role not in NODE_ROLES:
        raise InvalidRequest(f"{flag} must be one of {', '.join(NODE_ROLES)}, not {role!r}")


@dataclass(frozen=True, kw_only=True)
class NodeInfo:
    """One node as ``node ls`` shows it (results are frozen dataclasses: see
    :mod:`sparkswarm.services.models`)."""

    id: str
    hostname: str
    role: str
    status: str
    availability: str
    manager_status: str = ""
    leader: bool = False
    engine_version: str = ""
    address: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class NodeChange:
    """The result of a node operation: the node afterwards, and whether it changed."""

    node: NodeInfo
    changed: bool


def node_info(raw: Mapping[str, Any]) -> NodeInfo:
    """Translate the Engine's node object into a :class:`NodeInfo`."""
    spec = raw.get("Spec") or {}
    description = raw.get("Description") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    leader = bool(manager.get("Leader"))
    return NodeInfo(
        id=raw["ID"],
        hostname=description.get("Hostname", ""),
        role=spec.get("Role", ""),
        status=status.get("State", ""),
        availability=spec.get("Availability", ""),
        manager_status="leader" if leader else manager.get("Reachability", ""),
        leader=leader,
        engine_version=(description.get("Engine") or {}).get("EngineVersion", ""),
        address=status.get("Addr", ""),
        labels=dict(spec.get("Labels") or {}),
    )


# --- pure translation -------------------------------------------------------


def parse_label_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``["zone=a", "ssd="]`` -> ``{"zone": "a", "ssd": ""}``; InvalidRequest if malformed."""
    labels: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidRequest(f"label {item!r} must look like key=value")
        labels[key] = value
    return labels


def merge_node_spec(
    spec: Mapping[str, Any],
    *,
    role: str | None = None,
    availability: str | None = None,
    add_labels: Mapping[str, str] | None = None,
    remove_labels: Iterable[str] = (),
) -> dict[str, Any]:
    """The complete new node spec: ``spec`` with the requested changes.

    Everything not asked for (name, other labels, unknown fields) is kept,
    since the Engine replaces the whole spec. Raises InvalidRequest for an
    unknown role/availability, an empty label key, or a key both added and
    removed.
    """
    check_node_role(role, "role")
    if availability is not None and availability not in AVAILABILITIES:
        raise InvalidRequest(
            f"availability must be one of {', '.join(AVAILABILITIES)}, not {availability!r}"
        )
    add = dict(add_labels or {})
    remove = set(remove_labels)
    if any(not key.strip() for key in [*add, *remove]):
        raise InvalidRequest("label keys must not be empty")
    both = sorted(remove & set(add))
    if both:
        raise InvalidRequest(f"label {both[0]!r} is both added and removed")
    new = dict(spec)
    if role is not None:
        new["Role"] = role
    if availability is not None:
        new["Availability"] = availability
    if add or remove:
        labels = {k: v for k, v in (spec.get("Labels") or {}).items() if k not in remove}
        labels.update(add)
        new["Labels"] = labels
    return new


@dataclass(frozen=True)
class ManagerState:
    """A manager as far as quorum is concerned."""

    node_id: str
    reachable: bool


def quorum_size(managers: int) -> int:
    """Managers that must be reachable for the Raft store to work: a majority."""
    return managers // 2 + 1


def failures_tolerated(managers: int) -> int:
    """How many managers may be lost while the swarm keeps its quorum."""
    return max(0, (managers - 1) // 2)


def demotion_refusal(managers: Sequence[ManagerState], target_id: str) -> str | None:
    """Why demoting ``target_id`` would hurt the swarm, or None if it is safe.

    After demotion the swarm has one manager fewer; the reachable ones among
    the rest must still be a majority of that new count, else the Raft store
    (and every change to the swarm) stops.
    """
    remaining = [m for m in managers if m.node_id != target_id]
    if len(remaining) == len(managers):
        return None  # not a manager: nothing to refuse
    if not remaining:
        return "it is the last manager: the swarm would have no manager left"
    reachable = sum(1 for m in remaining if m.reachable)
    needed = quorum_size(len(remaining))
    if reachable < needed:
        return (
            f"only {reachable} of the {len(remaining)} remaining managers are reachable, "
            f"{needed} are needed for quorum"
        )
    return None


# --- reading ------------------------------------------------------------------


def list_nodes(gw: Gateway, *, role: str | None = None) -> list[NodeInfo]:
    """All nodes of the swarm (or only ``role``), managers first. Needs a manager.

    Raises InvalidRequest for a role other than worker or manager.
    """
    check_node_role(role, "--role")
    filters = {"role": role} if role else None
    nodes = [node_info(raw) for raw in gw.nodes(filters=filters)]
    return sorted(nodes, key=lambda n: (n.role != "manager", n.hostname, n.id))


def inspect_node(gw: Gateway, *, node: str) -> dict[str, Any]:
    """The Engine's full object for ``node`` (id, id prefix or hostname).

    Raises NotFound if there is no such node, InvalidRequest for an empty name.
    """
    if not node.strip():
        raise InvalidRequest("no node named: give a node id, id prefix or hostname")
    try:
        return gw.inspect_node(node)
    except NotFound:
        # The Engine's own text for a name with "/" in it is "page not found".
        raise NotFound(f"node {node!r} not found") from None


# --- changing -----------------------------------------------------------------


def _update_node(
    gw: Gateway,
    node: str,
    change: Callable[[Mapping[str, Any]], dict[str, Any]],
    progress: ProgressFn,
    *,
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> NodeChange:
    def send(raw: dict[str, Any]) -> NodeChange:
        new_spec = change(raw["Spec"])
        if new_spec == raw["Spec"]:
            return NodeChange(node=node_info(raw), changed=False)
        if check is not None:
            check(raw)
        gw.update_node(raw["ID"], raw["Version"]["Index"], new_spec)
        return NodeChange(node=node_info(inspect_node(gw, node=raw["ID"])), changed=True)

    def retrying(attempt: int) -> None:
        progress("node changed meanwhile, retrying", node=node, attempt=attempt)

    return update_with_retry(lambda: inspect_node(gw, node=node), send, on_retry=retrying)


def promote_node(gw: Gateway, *, node: str, progress: ProgressFn = no_progress) -> NodeChange:
    """Make ``node`` a manager (no-op if it is one). NotFound for an unknown node."""
    progress("promoting", node=node)
    return _update_node(gw, node, lambda spec: merge_node_spec(spec, role="manager"), progress)


def demote_node(
    gw: Gateway, *, node: str, force: bool = False, progress: ProgressFn = no_progress
) -> NodeChange:
    """Make ``node`` a worker (no-op if it is one).

    Raises InvalidRequest when that would remove the last manager or break
    quorum (see :func:`demotion_refusal`), unless ``force``; the Engine itself
    still refuses to demote the very last manager.
    """

    def guard(raw: Mapping[str, Any]) -> None:
        if force:
            return
        managers = [
            ManagerState(m["ID"], (m.get("ManagerStatus") or {}).get("Reachability") == "reachable")
            for m in gw.nodes(filters={"role": "manager"})
        ]
        reason = demotion_refusal(managers, raw["ID"])
        if reason:
            raise InvalidRequest(f"refusing to demote {node}: {reason} (--force to insist)")

    progress("demoting", node=node)
    return _update_node(
        gw, node, lambda spec: merge_node_spec(spec, role="worker"), progress, check=guard
    )


def set_node_availability(
    gw: Gateway,
    *,
    node: str,
    availability: str,
    detach: bool = False,
    timeout: float = 120.0,
    progress: ProgressFn = no_progress,
) -> NodeChange:
    """Set ``node`` to active, pause or drain.

    Draining waits (unless ``detach``) until no task of the node is still
    meant to run there and the replicated services that had tasks on it run
    all their replicas again elsewhere; OperationFailed if that takes longer
    than ``timeout`` (say, no other node can take them).
    """
    before = _services_on(gw, node) if availability == "drain" and not detach else set()
    result = _update_node(
        gw, node, lambda spec: merge_node_spec(spec, availability=availability), progress
    )
    progress(f"{result.node.hostname or node} is {availability}", node=node)
    if availability == "drain" and not detach:
        deadline = time.monotonic() + timeout
        _wait_until_drained(gw, result.node.id, timeout=timeout, progress=progress)
        left = max(0.0, deadline - time.monotonic())
        _wait_until_replaced(gw, before, timeout=left, progress=progress)
    return result


def _services_on(gw: Gateway, node: str) -> set[str]:
    """Ids of the services with a task meant to run on ``node``."""
    node_id = inspect_node(gw, node=node)["ID"]
    tasks = gw.tasks(filters={"node": node_id, "desired-state": "running"})
    return {task["ServiceID"] for task in tasks}


def _wait_until_drained(gw: Gateway, node_id: str, *, timeout: float, progress: ProgressFn) -> None:
    left = 0

    def drained() -> bool | None:
        nonlocal left
        left = len(gw.tasks(filters={"node": node_id, "desired-state": "running"}))
        if not left:
            return True
        progress(f"waiting for {left} task(s) to move away", node=node_id)
        return None

    if poll(drained, timeout=timeout, interval=1.0) is None:
        raise OperationFailed(
            f"node {node_id} still has {left} task(s) after draining until the timeout"
        )


def _wait_until_replaced(
    gw: Gateway, services: set[str], *, timeout: float, progress: ProgressFn
) -> None:
    """Wait until each service of ``services`` has converged again (replicated:
    all replicas run elsewhere; global: the drained node's task is gone)."""
    from sparkswarm.services.rolling import TaskWatcher, wait_for_services  # a drain only

    watchers = []
    for service_id in sorted(services):
        try:
            name = gw.inspect_service(service_id)["Spec"]["Name"]
        except NotFound:
            continue  # removed meanwhile: nothing to wait for
        watchers.append(TaskWatcher(gw, service_id, name, no_progress))
    if watchers:
        wait_for_services(gw, watchers, timeout=timeout, summary=progress)


def label_node(
    gw: Gateway,
    *,
    node: str,
    add: dict[str, str] | None = None,
    remove: list[str] | None = None,
    progress: ProgressFn = no_progress,
) -> NodeChange:
    """Add ``key=value`` labels to ``node`` and remove ``remove`` keys (absent keys: fine)."""
    if not add and not remove:
        raise InvalidRequest("give at least one key=value label or --rm key")
    # Validate before touching the engine.
    merge_node_spec({}, add_labels=add, remove_labels=remove or [])
    return _update_node(
        gw,
        node,
        lambda spec: merge_node_spec(spec, add_labels=add, remove_labels=remove or []),
        progress,
    )
