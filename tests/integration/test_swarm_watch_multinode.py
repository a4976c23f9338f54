"""The swarm watcher on a lab swarm (3 managers, 1 worker): a worker that dies
is one node-down incident naming the service it held, a manager that dies is
a manager-lost incident with the quorum margin ("one more loss stops the
swarm"), seen through the next manager when it was the watcher's; both
resolve once the nodes are back. Run under
``flock /tmp/ssw-multinode.lock``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.gateway import Gateway
from sparkswarm.workers.incidents import Incident, IncidentStore, incident_store
from sparkswarm.workers.swarm_watch import SwarmWatcher
from tests.integration.test_swarm_watch import client
from tests.support.lab import TestLab, sweep_dead_labs
from tests.support.queue_harness import RedisServer, has_redis_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.multinode]


@pytest.fixture
def lab(gw: Any, web_images: dict[str, str]) -> Iterator[TestLab]:
    from sparkswarm.lab.host import missing_requirements
    from tests.conftest import unavailable

    missing = missing_requirements()
    if missing:
        unavailable("a lab needs " + "; ".join(missing))
    if not has_redis_server():
        unavailable("redis-server is not installed")
    sweep_dead_labs()
    made = TestLab()
    try:
        made.up("--managers", "3", "--workers", "1", "--image", web_images["v1"])
        yield made
    finally:
        made.down()
        made.remove_base()


def of_kind(store: IncidentStore, kind: str, state: str = "open") -> list[Incident]:
    return [i for i in store.listing(include_resolved=True) if i.kind == kind and i.state == state]


def test_node_down_and_manager_lost_with_the_quorum_margin(
    lab: TestLab, web_images: dict[str, str], tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    stop = threading.Event()
    managers = lab.env()["SPARKSWARM_MANAGERS"].split(",")
    watcher = SwarmWatcher(client(server.url), Gateway(managers, timeout=10))
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    try:
        thread.start()
        created = lab.run(
            "service", "create", "spread", web_images["v1"], "--mode", "global", "--detach"
        )
        assert created.returncode == 0, created.stderr
        store = incident_store(client(server.url))
        nodes = lab.nodes()
        worker = next(n for n in nodes if n.startswith("w"))
        # The first manager: the one the watcher talks to (and the leader), so
        # the watcher fails over and its events resume from the next manager.
        manager = sorted(n for n in nodes if n.startswith("m"))[0]
        wait_for(lambda: len(lab.json("service", "ps", "spread")) >= 4, 120, "a task on every node")

        assert lab.lab("kill", worker).returncode == 0
        (down,) = wait_for(lambda: of_kind(store, "node_down"), 90, "the node-down incident")
        assert down.detail["services"] == ["spread"], down.detail
        assert down.detail["role"] == "worker"

        assert lab.lab("kill", manager).returncode == 0
        (lost,) = wait_for(lambda: of_kind(store, "manager_lost"), 90, "the manager-lost incident")
        assert lost.detail["managers"] == 3 and lost.detail["reachable"] == 2
        assert lost.detail["margin"] == 0
        assert lost.title.endswith("one more loss stops the swarm")

        assert lab.lab("restore", worker).returncode == 0
        assert lab.lab("restore", manager).returncode == 0
        wait_for(
            lambda: not of_kind(store, "node_down") and not of_kind(store, "manager_lost"),
            120,
            "both incidents resolved",
            explain=lambda: str([(i.key, i.state) for i in store.listing(include_resolved=True)]),
        )
        resolved = {i.object for i in of_kind(store, "node_down", "resolved")}
        # nobody else was "down" (the lost manager may be, or still "unknown")
        assert down.object in resolved and resolved <= {down.object, lost.object}
        assert [i.object for i in of_kind(store, "manager_lost", "resolved")] == [lost.object]
    finally:
        stop.set()
        thread.join(30)
        server.stop()
