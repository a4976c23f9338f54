"""``lab up``, ``lab down``, ``lab kill``, ``lab restore``.

``lab_up`` asserts the world: whatever part of the lab exists (a second
``up``, or one after a crash or a reboot) is kept, what is missing is made:
node pieces, engines, the swarm (the first manager initialises it through
:func:`sparkswarm.swarm.init_swarm`, the others join with the right token
through :func:`sparkswarm.swarm.join_swarm`), then the images. ``lab_down``
removes every node found in the state file, in the namespace list (by
name prefix) and in the address claims, then checks nothing is left.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from pydantic import Field

from sparkswarm.errors import InvalidRequest, OperationFailed
from sparkswarm.gateway import Gateway
from sparkswarm.lab import addresses, host
from sparkswarm.lab.backend import LabNode, NodeBackend
from sparkswarm.lab.engines import quiet_gateway
from sparkswarm.lab.images import check_images, copy_images, default_images
from sparkswarm.lab.state import (
    LabState,
    find_node,
    lab_dir,
    lab_root,
    load_state,
    locked,
    netns_prefix,
    plan_nodes,
    save_state,
    validate_name,
    validate_shape,
)
from sparkswarm.lab.status import LabStatus, require_state, wait_until_ready
from sparkswarm.model_base import LazyModel
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.swarm import init_swarm, join_swarm, read_join_token

DEFAULT_MANAGERS = 3
DEFAULT_WORKERS = 2
T = TypeVar("T")


class LabDown(LazyModel):
    """What ``lab down`` removed, and anything it could not."""

    name: str
    removed: list[str]
    problems: list[str] = Field(default_factory=list)
    leftovers: list[str] = Field(default_factory=list)
    changed: bool
    seconds: float


def _parallel(nodes: list[LabNode], func: Callable[[LabNode], T]) -> list[T]:
    if not nodes:
        return []
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        return list(pool.map(func, nodes))


def lab_up(
    backend: NodeBackend,
    *,
    name: str = "lab",
    managers: int | None = None,
    workers: int | None = None,
    images: list[str] | None = None,
    base: Path | None = None,
    progress: ProgressFn = no_progress,
) -> LabStatus:
    """Make lab ``name`` exist and be ready; report it.

    An existing lab is kept (stopped engines are started again); asking it
    for another number of managers or workers is refused (InvalidRequest:
    ``lab down`` first). ``images``: refs to copy from this machine's engine
    (None: the Spark and web images it has; ``[]``: none). Raises
    InvalidRequest when the host cannot run a lab, OperationFailed when a
    node does not start or the swarm does not form.
    """
    started = time.monotonic()
    host.require_host()
    validate_name(name)
    validate_shape(managers or DEFAULT_MANAGERS, DEFAULT_WORKERS if workers is None else workers)
    source = Gateway([])
    if images:
        check_images(source, images)
    base = base or lab_dir()
    root = lab_root(name, base)
    with locked():
        _sweep_stale_labs(backend)
        state = load_state(root)
        changed = state is None
        if state is None:
            state = _plan(name, root, managers or DEFAULT_MANAGERS, workers, progress)
        else:
            _check_shape(state, managers, workers)
        if len(state.nodes) > 1:
            host.allow_forwarding_on_bridge()
        stopped = [n for n in state.nodes if not backend.is_running(n)]
        if stopped:
            progress(f"starting {len(stopped)} engine(s): {', '.join(n.name for n in stopped)}")
            _start(backend, stopped)
            changed = True
        changed = _form_swarm(state, progress) or changed
        status = wait_until_ready(state, backend, progress=progress)
        refs = default_images(source) if images is None else images
        copied = []
        if refs:
            targets = {n.name: Gateway([n.url], timeout=600) for n in state.nodes}
            try:
                copies = copy_images(source, targets, refs, workdir=root, progress=progress)
            finally:
                for gw in targets.values():
                    gw.close()
            copied = [c.image for c in copies]
            changed = changed or any(c.loaded_into for c in copies)
    return status.model_copy(
        update={
            "changed": changed,
            "images": copied,
            "seconds": round(time.monotonic() - started, 1),
        }
    )


def _plan(
    name: str, root: Path, managers: int, workers: int | None, progress: ProgressFn
) -> LabState:
    count = managers + (DEFAULT_WORKERS if workers is None else workers)
    chosen = addresses.free_addresses(addresses.LAB_RANGE, count)
    nodes = plan_nodes(name, root, managers, count - managers, chosen)
    state = LabState(name=name, nodes=nodes)
    # On disk before anything exists: `lab down` must find all of it after a crash.
    save_state(root, state)
    for node in nodes:
        Path(node.root).mkdir(parents=True, exist_ok=True)
        addresses.claim(node)
    progress(f"lab {name}: {managers} manager(s), {count - managers} worker(s)", log=True)
    return state


def _check_shape(state: LabState, managers: int | None, workers: int | None) -> None:
    have_m = sum(n.role == "manager" for n in state.nodes)
    have_w = len(state.nodes) - have_m
    if (managers is not None and managers != have_m) or (workers is not None and workers != have_w):
        raise InvalidRequest(
            f"lab {state.name} exists with {have_m} manager(s) and {have_w} worker(s); "
            f"to change that: sparkswarm lab down --name {state.name}, then lab up"
        )


def _start(backend: NodeBackend, nodes: list[LabNode]) -> None:
    def start(node: LabNode) -> Exception | None:
        try:
            backend.create(node)
            backend.start(node)
        except Exception as exc:  # reported below, after the others had their chance
            return exc
        return None

    failed = [exc for exc in _parallel(nodes, start) if exc is not None]
    if failed:
        raise OperationFailed(f"a lab node did not start: {failed[0]}") from failed[0]


def _form_swarm(state: LabState, progress: ProgressFn) -> bool:
    """Init on the first manager, join the rest; True if anything changed."""
    first, *others = state.nodes
    changed = False
    gateway = Gateway([first.url], timeout=60)
    managers = Gateway([n.url for n in state.nodes if n.role == "manager"], timeout=60)
    try:
        with quiet_gateway():
            init = init_swarm(
                gateway, advertise_addr=first.address, listen_addr=f"{first.address}:2377"
            )
        if init.changed:
            progress(f"{first.name} initialised the swarm", log=True)
        changed = init.changed
        tokens: dict[str, str] = {}
        # One at a time: managers joining together can disturb the raft log.
        for node in others:
            node_gw = Gateway([node.url], timeout=60)
            try:
                if node.role not in tokens:
                    with quiet_gateway():
                        tokens[node.role] = read_join_token(managers, role=node.role)
                joined = join_swarm(
                    node_gw,
                    token=tokens[node.role],
                    remote=f"{first.address}:2377",
                    advertise_addr=node.address,
                    listen_addr=f"{node.address}:2377",
                )
            finally:
                node_gw.close()
            if joined.changed:
                progress(f"{node.name} joined as a {node.role}", log=True)
                changed = True
    finally:
        gateway.close()
        managers.close()
    return changed


def lab_kill(backend: NodeBackend, *, name: str, node: str, base: Path | None = None) -> LabNode:
    """Stop one node's engine abruptly (its containers die with it), as a crash would."""
    host.require_host()
    state = require_state(name, base)
    target = find_node(state, node)
    with locked():
        backend.stop(target)
    return target


def lab_restore(
    backend: NodeBackend,
    *,
    name: str,
    node: str,
    base: Path | None = None,
    timeout: float = 120.0,
    progress: ProgressFn = no_progress,
) -> LabStatus:
    """Start one node's engine again and wait until the swarm has it back
    (ready, and reachable if a manager)."""
    host.require_host()
    state = require_state(name, base)
    target = find_node(state, node)
    with locked():
        backend.create(target)
        backend.start(target)
    return wait_until_ready(state, backend, nodes=[target], timeout=timeout, progress=progress)


def lab_down(
    backend: NodeBackend,
    *,
    name: str = "lab",
    base: Path | None = None,
    progress: ProgressFn = no_progress,
) -> LabDown:
    """Remove every engine, namespace, link, mount, claim and folder of lab ``name``.

    Finds nodes in the state file, in the namespaces named ``sswl.NAME.*``
    and in the address claims, so a lab whose ``up`` crashed goes too.
    Raises OperationFailed if anything is still there afterwards.
    """
    started = time.monotonic()
    host.require_host()
    validate_name(name)
    base = base or lab_dir()
    root = lab_root(name, base)
    with locked():
        nodes = _everything_of(name, root)
        if not nodes and not root.exists():
            return LabDown(name=name, removed=[], changed=False, seconds=0.0)
        progress(f"removing {len(nodes)} node(s) of lab {name}", log=True)
        problems = [p for found in _parallel(nodes, backend.destroy) for p in found]
        for node in nodes:
            if node.address:
                addresses.release(node.address, root=node.root)
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(OSError):
            base.rmdir()  # the folder of all labs, if this was the last one
        leftovers = [item for node in nodes for item in backend.leftovers(node)]
        if root.exists():
            leftovers.append(f"folder {root}")
    result = LabDown(
        name=name,
        removed=[n.name for n in nodes],
        problems=problems,
        leftovers=leftovers,
        changed=True,
        seconds=round(time.monotonic() - started, 1),
    )
    if leftovers:
        raise OperationFailed(f"lab {name}: still there after down: {', '.join(leftovers)}")
    return result


def _everything_of(name: str, root: Path) -> list[LabNode]:
    """Nodes of the lab from every place that may remember one."""
    found: dict[str, LabNode] = {}
    state = load_state(root)
    for node in state.nodes if state else []:
        found[node.netns] = node
    for addr in (addresses.address(n) for n in addresses.LAB_RANGE):
        held = addresses.holder(addr)
        if held is not None and Path(held.root).parent == root:
            found.setdefault(held.netns, held)
    prefix = netns_prefix(name)
    for netns in host.namespaces():
        if netns.startswith(prefix) and netns not in found:
            short = netns[len(prefix) :]
            found[netns] = LabNode(
                name=short,
                role="manager" if short.startswith("m") else "worker",
                hostname=f"{name}-{short}",
                address="",
                netns=netns,
                root=str(root / short),
            )
    return list(found.values())


def _sweep_stale_labs(backend: NodeBackend) -> None:
    """Tear down lab nodes whose lab folder was removed by hand (found by claim)."""
    for node in addresses.stale_claims(addresses.LAB_RANGE):
        backend.destroy(node)
        addresses.release(node.address, root=node.root)
