"""Extra swarm nodes for tests, made by the product's lab backend.

Each :class:`ExtraNode` is a node of :class:`sparkswarm.lab.backend.NetnsBackend`
(a dockerd in its own network and UTS namespace on ``ssw-br0``) with what
tests need on top: a hostname under the test's prefix, a temporary folder,
an address from the tests' range (10.77.0.100-199; labs use 10-99) claimed
with this process's pid, so a later run sweeps what a killed run left, and
a teardown that also takes the node out of the MAIN swarm if it joined it.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkswarm.errors import Conflict
from sparkswarm.lab import addresses, host
from sparkswarm.lab.backend import LabNode, NetnsBackend

BRIDGE = host.BRIDGE
BRIDGE_HOST_ADDRESS = host.BRIDGE_HOST_ADDRESS
MAIN_MANAGER = f"{BRIDGE_HOST_ADDRESS}:2377"
NAME_PREFIX = "sswt"
# Hostnames given to extra nodes: "<test prefix>-n<index>" (see tests/conftest.py).
STALE_HOSTNAME = re.compile(r"^ssw[0-9a-f]+-n[0-9]+$")
BACKEND = NetnsBackend()


class MultinodeUnavailable(RuntimeError):
    """This machine cannot host extra nodes (not root, no bridge, no tools)."""


def why_unavailable() -> str | None:
    """None when extra nodes can be created here, else the reason."""
    missing = host.missing_requirements()
    return "extra swarm nodes need " + "; ".join(missing) if missing else None


def sweep_stale() -> None:
    """Tear down test nodes whose test process died without its teardown."""
    for node in addresses.stale_claims(addresses.TEST_RANGE):
        BACKEND.destroy(node)
        addresses.release(node.address, root=node.root)


def remove_stale_main_nodes(main_gw: Any) -> None:
    """Remove extra nodes of dead test runs that the main swarm still lists as down."""
    for raw in main_gw.api.nodes():
        hostname = raw.get("Description", {}).get("Hostname", "")
        if STALE_HOSTNAME.match(hostname) and raw["Status"]["State"] == "down":
            with contextlib.suppress(Exception):
                main_gw.api.remove_node(raw["ID"], force=True)


@dataclass
class ExtraNode:
    """One extra engine; ``record`` is what the product backend knows of it."""

    record: LabNode
    main_node_id: str | None = None
    _gateways: list[Any] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return self.record.netns

    @property
    def hostname(self) -> str:
        return self.record.hostname

    @property
    def address(self) -> str:
        return self.record.address

    @property
    def root(self) -> Path:
        return Path(self.record.root)

    @property
    def url(self) -> str:
        """The endpoint to give a Gateway or SPARKSWARM_MANAGERS."""
        return self.record.url

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a ``sparkswarm`` subprocess aimed at this node."""
        env = dict(os.environ if base is None else base)
        env["SPARKSWARM_MANAGERS"] = self.url
        env.pop("DOCKER_HOST", None)
        return env

    def gateway(self) -> Any:
        """A sparkswarm Gateway to this node's engine (closed at destroy)."""
        from sparkswarm.gateway import Gateway

        gateway = Gateway([self.url], timeout=30)
        self._gateways.append(gateway)
        return gateway

    def start(self) -> None:
        BACKEND.create(self.record)
        BACKEND.start(self.record)

    def stop_engine(self) -> None:
        """Kill the node's engine (and its containers), as a crash would."""
        BACKEND.stop(self.record)

    def load_images(self, main_gw: Any, tags: list[str]) -> None:
        """Copy images from the main engine (nodes have no registry to pull from)."""
        from sparkswarm.lab.images import copy_images

        copy_images(main_gw, {self.hostname: self.gateway()}, tags, workdir=self.root)

    def destroy(self, main_gw: Any | None = None) -> list[str]:
        """Tear everything down; returns what went wrong (never raises)."""
        problems: list[str] = []
        if BACKEND.is_running(self.record):
            try:
                self._leave_main_swarm()
            except Exception as exc:  # teardown must go on whatever fails
                problems.append(f"leave swarm: {exc}")
        if self.main_node_id and main_gw is not None:
            try:
                self._remove_from_main(main_gw)
            except Exception as exc:
                problems.append(f"remove from main swarm: {exc}")
        for gateway in self._gateways:
            with contextlib.suppress(Exception):
                gateway.close()
        problems += BACKEND.destroy(self.record)
        addresses.release(self.address, root=self.record.root)
        return problems

    def _leave_main_swarm(self) -> None:
        """Leave the main swarm politely (noting our node id there, to remove it).

        A swarm made only of extra nodes dies with their engines, so leaving
        it is skipped: a force-leave from a swarm that lost quorum can take
        twenty seconds.
        """
        from sparkswarm.lab.engines import engine_info

        # Short: a manager of a lab swarm in trouble can stall /info for long.
        swarm = (engine_info(self.url, timeout=5) or {}).get("Swarm") or {}
        managers = {m["Addr"] for m in swarm.get("RemoteManagers") or []}
        if swarm.get("LocalNodeState", "inactive") != "inactive" and MAIN_MANAGER in managers:
            self.main_node_id = self.main_node_id or swarm.get("NodeID") or None
            from sparkswarm.gateway import Gateway

            gateway = Gateway([self.url], timeout=30)
            try:
                gateway.api.leave_swarm(force=True)
            finally:
                gateway.close()

    def _remove_from_main(self, main_gw: Any) -> None:
        from sparkswarm.errors import NotFound

        deadline = time.monotonic() + 30
        while True:
            try:
                main_gw.api.remove_node(self.main_node_id, force=True)
                return
            except NotFound:
                return
            except Exception:
                # A node that just left may still be "ready" for a moment.
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


def new_node(prefix: str, index: int) -> ExtraNode:
    """An unstarted node with a fresh namespace name, hostname, address and folder."""
    token = secrets.token_hex(4)
    root = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-{token}-"))
    candidates = list(addresses.TEST_RANGE)
    random.shuffle(candidates)  # parallel runs rarely race for the same one
    for address in map(addresses.address, candidates):
        record = LabNode(
            name=f"n{index}",
            role="worker",
            hostname=f"{prefix}-n{index}",
            address=address,
            netns=f"{NAME_PREFIX}-{token}",
            root=str(root),
        )
        try:
            # With our pid: sweep_stale() cleans up if this process dies mid-test.
            addresses.claim(record, pid=os.getpid())
        except Conflict:
            continue  # another node's
        return ExtraNode(record=record)
    raise MultinodeUnavailable("no free test address in 10.77.0.100-199")


def destroy_nodes(nodes: list[ExtraNode], main_gw: Any | None = None) -> list[str]:
    """Destroy nodes in parallel; what went wrong (never raises)."""
    if not nodes:
        return []
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        results = list(pool.map(lambda node: node.destroy(main_gw), nodes))
    return [problem for problems in results for problem in problems]


def start_nodes(prefix: str, count: int) -> list[ExtraNode]:
    """Start ``count`` nodes in parallel; on any failure, destroy them all and raise."""
    if count > 1:
        host.allow_forwarding_on_bridge()
    nodes = [new_node(prefix, index) for index in range(1, count + 1)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(node.start) for node in nodes]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        destroy_nodes(nodes)
        raise MultinodeUnavailable(f"extra node failed to start: {failed[0]}")
    return nodes
