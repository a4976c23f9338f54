"""What a lab looks like now: each node's engine, and the swarm as its managers see it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import Field

from sparkswarm.errors import NotFound, OperationFailed, SparkswarmError
from sparkswarm.gateway import Gateway
from sparkswarm.lab.backend import LabNode, NodeBackend
from sparkswarm.lab.engines import engine_info, quiet_gateway
from sparkswarm.lab.state import LabState, lab_root, load_state
from sparkswarm.model_base import LazyModel
from sparkswarm.nodes import NodeInfo, list_nodes
from sparkswarm.progress import ProgressFn, no_progress


class LabNodeStatus(LazyModel):
    """One lab node: its engine, and how the swarm sees it."""

    name: str
    hostname: str
    role: str
    address: str
    url: str
    engine: str  # running | not answering (busy: say, a manager during an election) | stopped
    engine_version: str = ""
    status: str = "unknown"  # ready | down | unknown (no manager answered)
    availability: str = ""
    manager_status: str = ""  # leader | reachable | unreachable
    leader: bool = False


class LabStatus(LazyModel):
    """A lab: its nodes, its leader, and the line that points sparkswarm at it."""

    name: str
    root: str
    nodes: list[LabNodeStatus]
    leader: str | None = None
    swarm_error: str | None = None
    env: str
    changed: bool = False
    images: list[str] = Field(default_factory=list)
    seconds: float | None = None


def managers_env(state: LabState) -> str:
    """``export SPARKSWARM_MANAGERS=...``: every manager's endpoint, in order."""
    urls = ",".join(node.url for node in state.nodes if node.role == "manager")
    return f"export SPARKSWARM_MANAGERS={urls}"


def manager_gateway(state: LabState, *, timeout: float = 15.0) -> Gateway:
    """A gateway to the lab's managers (the first reachable one is used)."""
    return Gateway([n.url for n in state.nodes if n.role == "manager"], timeout=timeout)


def require_state(name: str, base: Path | None = None) -> LabState:
    """The lab's state; NotFound (exit 2) when there is no such lab."""
    state = load_state(lab_root(name, base))
    if state is None:
        raise NotFound(f"there is no lab {name!r} (make it with: sparkswarm lab up --name {name})")
    return state


def swarm_nodes(state: LabState) -> list[NodeInfo]:
    """The lab swarm's nodes, from the first manager that answers; Unavailable if none."""
    gateway = manager_gateway(state)
    try:
        with quiet_gateway():
            return list_nodes(gateway)
    finally:
        gateway.close()


def lab_status(state: LabState, backend: NodeBackend) -> LabStatus:
    """Each node's engine (running, version) and its place in the swarm."""
    with ThreadPoolExecutor(max_workers=len(state.nodes)) as pool:
        alive = list(pool.map(backend.is_running, state.nodes))
        infos = list(pool.map(lambda n: engine_info(n.url, timeout=5), state.nodes))
    swarm: dict[str, NodeInfo] = {}
    swarm_error = None
    try:
        for info in swarm_nodes(state):
            # After a node comes back, the swarm may list an old entry for its
            # hostname for a while: prefer the one that is ready.
            if info.hostname not in swarm or info.status == "ready":
                swarm[info.hostname] = info
    except SparkswarmError as exc:
        swarm_error = str(exc)
    nodes = []
    for node, running, engine in zip(state.nodes, alive, infos, strict=True):
        seen = swarm.get(node.hostname)
        nodes.append(
            LabNodeStatus(
                name=node.name,
                hostname=node.hostname,
                role=seen.role if seen else node.role,
                address=node.address,
                url=node.url,
                engine=(
                    "running" if engine is not None else "not answering" if running else "stopped"
                ),
                engine_version=str((engine or {}).get("ServerVersion", "")),
                status=seen.status if seen else "unknown",
                availability=seen.availability if seen else "",
                manager_status=seen.manager_status if seen else "",
                leader=seen.leader if seen else False,
            )
        )
    leader = next((n.name for n in nodes if n.leader), None)
    return LabStatus(
        name=state.name,
        root=str(Path(state.nodes[0].root).parent) if state.nodes else "",
        nodes=nodes,
        leader=leader,
        swarm_error=swarm_error,
        env=managers_env(state),
    )


def wait_until_ready(
    state: LabState,
    backend: NodeBackend,
    *,
    nodes: list[LabNode] | None = None,
    timeout: float = 120.0,
    progress: ProgressFn = no_progress,
) -> LabStatus:
    """Wait until ``nodes`` (default: all) are ready, managers reachable, and
    there is a leader; OperationFailed naming the laggards after ``timeout``."""
    wanted = {n.name for n in (nodes or state.nodes)}
    deadline = time.monotonic() + timeout
    while True:
        status = lab_status(state, backend)
        lagging = [
            n.name
            for n in status.nodes
            if n.name in wanted
            and (
                n.status != "ready"
                or (n.role == "manager" and n.manager_status not in ("leader", "reachable"))
            )
        ]
        if not lagging and status.leader:
            return status
        if time.monotonic() > deadline:
            why = f"; {status.swarm_error}" if status.swarm_error else ""
            raise OperationFailed(
                f"lab {state.name}: not ready after {timeout:.0f}s: "
                f"{', '.join(lagging) or 'no leader'}{why}"
            )
        progress(f"waiting for {', '.join(lagging) or 'a leader'} to be ready")
        time.sleep(1.0)
