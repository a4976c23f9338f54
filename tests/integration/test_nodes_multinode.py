"""Real multi-node swarms: extra dockerd nodes in network namespaces.

Two kinds of test, both driving the real ``sparkswarm`` command:

- an extra node joins the MAIN swarm as a worker. It joins drained and never
  becomes active there: other engineers' services share the main swarm, and
  a task scheduled onto a node without their locally built images would fail
  their tests. Labels, availability and leaving are tested on it.
- a LAB swarm made only of extra nodes, where everything that would be
  dangerous on the main swarm happens: init (and its idempotency), token
  rotation, a worker join, draining tasks away, promote/demote, the quorum
  refusal, leave --force.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from sparkswarm.swarm import mask_token, read_join_token
from tests.support.multinode import MAIN_MANAGER, ExtraNode
from tests.support.swarm_cli import sparkswarm, sparkswarm_json

pytestmark = [pytest.mark.integration, pytest.mark.multinode]


def well_formed_token() -> str:
    """A join token of the right shape (base36 sha256 digest, 25-char secret) for no swarm."""

    def base36(number: int, width: int) -> str:
        digits = ""
        while number:
            number, rest = divmod(number, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        return digits.rjust(width, "0")

    digest = int.from_bytes(hashlib.sha256(secrets.token_bytes(16)).digest(), "big")
    return f"SWMTKN-1-{base36(digest, 50)}-{base36(secrets.randbelow(36**25), 25)}"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def test_worker_joins_the_main_swarm_drained_and_leaves(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    (node,) = extra_nodes(1)
    token = read_join_token(gw, role="worker")
    join = (
        "swarm", "join", "--token", token, MAIN_MANAGER,
        "--advertise-addr", node.address, "--availability", "drain",
    )  # fmt: skip
    done = sparkswarm(*join, "--json", env=node.env())
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr, "the join token must never be printed"
    joined = json.loads(done.stdout)
    assert joined["changed"] is True and joined["is_manager"] is False
    node.main_node_id = joined["node_id"]

    # Again, the token from the environment this time (kept out of `ps`).
    again = sparkswarm_json(
        "swarm", "join", MAIN_MANAGER, "--advertise-addr", node.address,
        env={**node.env(), "SPARKSWARM_JOIN_TOKEN": token},
    )  # fmt: skip
    assert again["changed"] is False and again["node_id"] == node.main_node_id

    nodes = {n["id"]: n for n in sparkswarm_json("node", "ls")}
    assert len(nodes) >= 2
    mine = nodes[node.main_node_id]
    assert (mine["hostname"], mine["role"], mine["availability"], mine["address"]) == (
        node.hostname,
        "worker",
        "drain",
        node.address,
    )
    assert mine["hostname"] != nodes[gw.api.info()["Swarm"]["NodeID"]]["hostname"]

    labelled = sparkswarm_json("node", "label", node.hostname, "zone=lab", "rack=r1")
    assert labelled["changed"] is True
    assert labelled["node"]["labels"] == {"zone": "lab", "rack": "r1"}
    relabelled = sparkswarm_json("node", "label", node.main_node_id, "--rm", "rack", "--rm", "nope")
    assert relabelled["node"]["labels"] == {"zone": "lab"}
    # The rest of the spec survived the whole-spec updates.
    spec = gw.api.inspect_node(node.main_node_id)["Spec"]
    assert spec == {"Labels": {"zone": "lab"}, "Role": "worker", "Availability": "drain"}

    paused = sparkswarm_json("node", "pause", node.main_node_id)
    assert paused["changed"] is True and paused["node"]["availability"] == "pause"
    drained = sparkswarm_json("node", "drain", node.main_node_id)
    assert drained["node"]["availability"] == "drain"
    assert gw.api.inspect_node(node.main_node_id)["Spec"]["Labels"] == {"zone": "lab"}

    # A worker cannot list nodes or read tokens: clear errors, exit 2.
    assert sparkswarm("node", "ls", env=node.env()).returncode == 2
    assert sparkswarm("swarm", "join-token", "worker", env=node.env()).returncode == 2

    left = sparkswarm_json("swarm", "leave", env=node.env())
    assert left["changed"] is True and left["state"] == "inactive"
    assert sparkswarm_json("swarm", "leave", env=node.env())["changed"] is False
    wait_for(
        "the main swarm to see the node down",
        lambda: gw.api.inspect_node(node.main_node_id)["Status"]["State"] == "down",
    )


def _running_tasks(api: Any, service: str) -> list[dict[str, Any]]:
    tasks = api.tasks(filters={"service": service, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def test_lab_swarm_init_rotate_join_drain_promote_demote_leave(
    gw: Any,
    extra_nodes: Callable[[int], list[ExtraNode]],
    web_images: dict[str, str],
    name: Callable[[str], str],
) -> None:
    manager, worker = extra_nodes(2)
    manager.load_images(gw, [web_images["v1"]])
    worker.load_images(gw, [web_images["v1"]])
    lab = manager.gateway()

    # init, and init again: reported, not re-initialised.
    init = ("swarm", "init", "--advertise-addr", manager.address)
    created = sparkswarm_json(*init, "--default-addr-pool", "10.140.0.0/16", env=manager.env())
    assert created["changed"] is True and created["is_manager"] is True
    assert lab.api.inspect_swarm()["DefaultAddrPool"] == ["10.140.0.0/16"]
    again = sparkswarm_json(*init, env=manager.env())
    assert again["changed"] is False and again["node_id"] == created["node_id"]
    assert again["cluster_id"] == created["cluster_id"]

    # The only manager: demotion and a manager's plain leave are refused.
    refused = sparkswarm("node", "demote", manager.hostname, env=manager.env())
    assert refused.returncode == 2 and "last manager" in refused.stderr
    assert sparkswarm("swarm", "leave", env=manager.env()).returncode == 2

    # Rotation: a new token; the old one no longer admits anyone.
    old = sparkswarm_json("swarm", "join-token", "worker", "--reveal", env=manager.env())["token"]
    rotated = sparkswarm("swarm", "join-token", "worker", "--rotate", env=manager.env())
    assert rotated.returncode == 0, rotated.stderr
    new = read_join_token(lab, role="worker")
    assert new != old and mask_token(new) in rotated.stdout and new not in rotated.stdout
    join = ("swarm", "join", f"{manager.address}:2377", "--advertise-addr", worker.address)
    stale = sparkswarm(*join, "--token", old, env=worker.env())
    assert stale.returncode == 2 and "valid join token" in stale.stderr
    assert old not in stale.stdout + stale.stderr
    assert worker.gateway().api.info()["Swarm"]["LocalNodeState"] == "inactive"
    joined = sparkswarm_json(*join, "--token", new, env=worker.env())
    assert joined["changed"] is True and joined["is_manager"] is False

    # Joined to the lab swarm: joining the main swarm is a conflict.
    other = sparkswarm(
        "swarm", "join", MAIN_MANAGER, "--token", read_join_token(gw, role="worker"),
        env=worker.env(),
    )  # fmt: skip
    assert other.returncode == 1 and "another swarm" in other.stderr

    nodes = {n["hostname"]: n for n in sparkswarm_json("node", "ls", env=manager.env())}
    assert set(nodes) == {manager.hostname, worker.hostname}
    wait_for(
        "the worker to be ready",
        lambda: lab.api.inspect_node(worker.hostname)["Status"]["State"] == "ready",
    )

    # Drain: the worker's tasks move to the manager, the service keeps 2 running.
    import docker.types

    service = name("spread")
    lab.api.create_service(
        docker.types.TaskTemplate(
            container_spec=docker.types.ContainerSpec(
                web_images["v1"], ["httpd", "-f", "-p", "80"]
            ),
        ),
        name=service,
        mode=docker.types.ServiceMode("replicated", replicas=2),
    )
    worker_id = nodes[worker.hostname]["id"]
    wait_for(
        "a task running on the worker",
        lambda: any(t["NodeID"] == worker_id for t in _running_tasks(lab.api, service)),
    )
    drained = sparkswarm_json("node", "drain", worker.hostname, env=manager.env())
    assert drained["changed"] is True
    # `node drain` waited: nothing is meant to run on the worker any more.
    assert not lab.api.tasks(filters={"node": worker_id, "desired-state": "running"})
    running = wait_for("2 tasks running again", lambda: len(_running_tasks(lab.api, service)) == 2)
    assert running
    assert {t["NodeID"] for t in _running_tasks(lab.api, service)} == {
        nodes[manager.hostname]["id"]
    }
    assert sparkswarm_json("node", "activate", worker.hostname, env=manager.env())["changed"]

    # Promote, then demote back (2 reachable managers: demoting one is safe).
    promoted = sparkswarm_json("node", "promote", worker.hostname, env=manager.env())
    assert promoted["changed"] is True and promoted["node"]["role"] == "manager"
    wait_for(
        "the new manager to be reachable",
        lambda: (
            (lab.api.inspect_node(worker_id).get("ManagerStatus") or {}).get("Reachability")
            == "reachable"
        ),
    )
    assert len(sparkswarm_json("node", "ls", "--role", "manager", env=manager.env())) == 2
    demoted = sparkswarm_json("node", "demote", worker.hostname, env=manager.env())
    assert demoted["changed"] is True and demoted["node"]["role"] == "worker"
    assert sparkswarm_json("node", "demote", worker.hostname, env=manager.env())["changed"] is False
    wait_for(
        "the worker to lose control",
        lambda: not worker.gateway().api.info()["Swarm"]["ControlAvailable"],
    )

    # Leave: the worker plainly, the last manager only with --force.
    assert sparkswarm_json("swarm", "leave", env=worker.env())["state"] == "inactive"
    forced = sparkswarm_json("swarm", "leave", "--force", env=manager.env())
    assert forced["changed"] is True and forced["state"] == "inactive"


def test_join_that_cannot_complete_is_cancelled(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    lonely, joiner = extra_nodes(2)
    join = ("swarm", "join", f"{lonely.address}:2377", "--token", well_formed_token())
    # Nothing listens on the other node's 2377: refused at once, nothing changed.
    refused = sparkswarm(*join, env=joiner.env())
    assert refused.returncode == 1 and "connection refused" in refused.stderr
    assert joiner.gateway().api.info()["Swarm"]["LocalNodeState"] == "inactive"
    # A firewall that drops 2377 (inside the joiner's own namespace): the Engine
    # waits ~20 s, then would retry in the background forever; sparkswarm cancels.
    subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{joiner.netns}", "iptables", "-I", "OUTPUT",
         "-p", "tcp", "-d", lonely.address, "--dport", "2377", "-j", "DROP"],
        check=True,
    )  # fmt: skip
    dropped = sparkswarm(*join, env=joiner.env())
    assert dropped.returncode == 1 and "cancelled" in dropped.stderr
    assert joiner.gateway().api.info()["Swarm"]["LocalNodeState"] == "inactive"


def test_doctor_on_an_engine_outside_any_swarm(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    (node,) = extra_nodes(1)
    done = sparkswarm("swarm", "doctor", "--json", env=node.env())
    assert done.returncode == 1
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["engine"]["status"] == "ok"
    assert checks["swarm"]["status"] == "fail" and "swarm init" in checks["swarm"]["fix"]
    # Its ports live in another network namespace: not read from this host's /proc.
    assert checks["ports"]["status"] == "warn" and "unknown" in checks["ports"]["summary"]


def test_demotion_that_would_break_quorum_is_refused(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    first, second, third = extra_nodes(3)
    lab = first.gateway()
    sparkswarm_json("swarm", "init", "--advertise-addr", first.address, env=first.env())
    token = read_join_token(lab, role="manager")
    for node in (second, third):
        joined = sparkswarm_json(
            "swarm", "join", f"{first.address}:2377", "--token", token,
            "--advertise-addr", node.address, env=node.env(),
        )  # fmt: skip
        assert joined["is_manager"] is True

    def reachability() -> dict[str, str]:
        return {
            n["Description"]["Hostname"]: (n.get("ManagerStatus") or {}).get("Reachability", "")
            for n in lab.api.nodes(filters={"role": "manager"})
        }

    wait_for("3 reachable managers", lambda: set(reachability().values()) == {"reachable"})
    # Lose one manager: 2 of 3 reachable, quorum (2) still holds ...
    third.stop_engine()
    wait_for("the stopped manager to be unreachable",
             lambda: reachability().get(third.hostname) == "unreachable")  # fmt: skip
    doctor = {c["name"]: c for c in sparkswarm_json("swarm", "doctor", env=first.env())}
    assert (
        doctor["managers"]["status"] == "warn" and "2/3 reachable" in doctor["managers"]["summary"]
    )
    # ... but demoting a reachable one would leave 1 reachable of 2: refused.
    refused = sparkswarm("node", "demote", second.hostname, env=first.env())
    assert refused.returncode == 2 and "quorum" in refused.stderr
    assert lab.api.inspect_node(second.hostname)["Spec"]["Role"] == "manager"
    # Demoting the unreachable one keeps 2 of 2 reachable: allowed.
    demoted = sparkswarm_json("node", "demote", third.hostname, env=first.env())
    assert demoted["changed"] is True and demoted["node"]["role"] == "worker"
    # Losing the second of the two remaining managers loses quorum: the doctor says so.
    # (A killed engine is noticed by the others within seconds, not at once.)
    second.stop_engine()

    def managers_verdict() -> dict[str, Any]:
        done = sparkswarm("swarm", "doctor", "--json", env=first.env())
        verdict: dict[str, Any] = {c["name"]: c for c in json.loads(done.stdout)}["managers"]
        return verdict if verdict["status"] == "fail" and done.returncode == 1 else {}

    assert wait_for("the doctor to see quorum lost", managers_verdict, timeout=60)


def test_concurrent_label_updates_all_land(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    # Two writers update the same node spec at once. Each update resends the
    # whole spec with the version it read, so one of two racing writers gets
    # "update out of sequence" and must re-read and retry; none may be lost.
    from concurrent.futures import ThreadPoolExecutor

    from sparkswarm.nodes import label_node

    (node,) = extra_nodes(1)
    sparkswarm_json("swarm", "init", "--advertise-addr", node.address, env=node.env())
    retries: list[str] = []

    def writer(name: str) -> None:
        writer_gw = node.gateway()
        for index in range(8):
            label_node(
                writer_gw,
                node=node.hostname,
                add={f"{name}{index}": "x"},
                progress=lambda message, **_: retries.append(message),
            )

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(writer, "a"), pool.submit(writer, "b")]:
            future.result()
    labels = node.gateway().api.inspect_node(node.hostname)["Spec"]["Labels"]
    assert labels == {f"{name}{index}": "x" for name in "ab" for index in range(8)}
    print(f"out-of-sequence retries: {sum('retrying' in m for m in retries)}")
