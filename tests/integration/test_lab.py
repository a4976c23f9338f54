"""`sparkswarm lab` for real: a 3-manager, 2-worker swarm of engines in namespaces.

One lab for the whole module (``lab up --managers 3 --workers 2``, the web
test image copied in), driven through the real CLI; the tests run in file
order and the last one takes the lab down and checks, with host tools, that
nothing is left. Every address used is one the lab created on ``ssw-br0``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.support.lab import TestLab, host_leftovers, sweep_dead_labs
from tests.support.swarm_cli import sparkswarm
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.multinode]


@pytest.fixture(scope="module")
def lab_host() -> None:
    """Skip (fail under CI) where labs cannot run; sweep labs of dead test runs."""
    from sparkswarm.lab.host import missing_requirements

    missing = missing_requirements()
    if missing:
        unavailable("a lab needs " + "; ".join(missing))
    sweep_dead_labs()


@pytest.fixture(scope="module")
def lab(gw: Any, web_images: dict[str, str], lab_host: None) -> Iterator[TestLab]:
    made = TestLab()
    try:
        made.up("--managers", "3", "--workers", "2", "--image", web_images["v1"])
        yield made
    finally:
        made.down()
        made.remove_base()


def _running(lab: TestLab, service: str) -> list[dict[str, Any]]:
    tasks = lab.json("service", "ps", service)
    return [t for t in tasks if t["current_state"] == "running" and t["desired_state"] == "running"]


def test_up_gives_five_ready_nodes_three_reachable_managers_one_leader(lab: TestLab) -> None:
    status = lab.status()
    nodes = {n["name"]: n for n in status["nodes"]}
    assert sorted(nodes) == ["m1", "m2", "m3", "w1", "w2"]
    assert all(n["status"] == "ready" and n["engine"] == "running" for n in nodes.values())
    managers = [n for n in nodes.values() if n["role"] == "manager"]
    assert len(managers) == 3
    assert sorted(n["manager_status"] for n in managers) == ["leader", "reachable", "reachable"]
    assert [n["name"] for n in nodes.values() if n["leader"]] == [status["leader"]]
    assert {n["role"] for n in nodes.values() if n["name"].startswith("w")} == {"worker"}
    # Separate machines as far as the swarm can tell: own hostnames, own addresses.
    assert len({n["hostname"] for n in nodes.values()}) == 5
    addresses = [n["address"] for n in nodes.values()]
    assert len(set(addresses)) == 5
    assert all(a.startswith("10.77.0.") and 10 <= int(a.rsplit(".", 1)[1]) < 100 for a in addresses)
    assert all(n["engine_version"] for n in nodes.values())
    # The platform pointed at the lab sees the same five nodes.
    listed = lab.json("node", "ls")
    assert sorted(n["hostname"] for n in listed) == sorted(n["hostname"] for n in nodes.values())
    # `lab env` prints the managers' endpoints, which is what up reported.
    env = lab.lab("env")
    assert env.returncode == 0 and env.stdout.strip() == status["env"]
    urls = status["env"].removeprefix("export SPARKSWARM_MANAGERS=").split(",")
    assert urls == [nodes[m]["url"] for m in ("m1", "m2", "m3")]


def test_a_second_up_reports_the_lab_and_a_new_shape_is_refused(lab: TestLab) -> None:
    again = lab.lab("up", "--image", "sparkswarm-test/web:v1", "--json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["changed"] is False
    assert len(result["nodes"]) == 5
    other = lab.lab("up", "--managers", "1")
    assert other.returncode == 2 and "exists with 3 manager(s)" in other.stderr
    assert "Traceback" not in other.stderr
    unknown = lab.lab("kill", "m9")
    assert unknown.returncode == 2 and "no node 'm9'" in unknown.stderr
    bad = lab.run("lab", "up", "--name", "Bad_Name")
    assert bad.returncode == 2 and "lab name" in bad.stderr
    missing = lab.run("lab", "status", "--name", "nosuchlab")
    assert missing.returncode == 2 and "no lab 'nosuchlab'" in missing.stderr
    # A host without the tools: one line that names what is missing, exit 2.
    bare = sparkswarm("lab", "up", "--name", "bare", env={**lab.env(), "PATH": "/nonexistent"})
    assert bare.returncode == 2, bare.stderr
    assert "this host cannot run a lab: it needs ip, iptables, nsenter" in bare.stderr
    assert "(apt-get install docker.io iproute2 iptables mount util-linux)" in bare.stderr
    assert not (lab.base / "bare").exists()
    assert len(lab.status()["nodes"]) == 5


def test_host_mode_service_answers_on_every_node_address(lab: TestLab) -> None:
    created = lab.run(
        "service", "create", "hostweb", "sparkswarm-test/web:v1",
        "--mode", "global", "--publish", "mode=host,18080:80", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    for node in lab.status()["nodes"]:
        with urllib.request.urlopen(f"http://{node['address']}:18080/", timeout=10) as reply:
            assert reply.read() == b"web v1\n", node["name"]
    assert lab.run("service", "rm", "hostweb").returncode == 0


def test_drain_moves_the_workers_tasks_and_activate_brings_it_back(lab: TestLab) -> None:
    nodes = lab.nodes()
    created = lab.run(
        "service", "create", "spread", "sparkswarm-test/web:v1", "--replicas", "5", "--json"
    )
    assert created.returncode == 0, created.stderr
    on_w1 = [t for t in _running(lab, "spread") if t["node"] == nodes["w1"]["hostname"]]
    assert on_w1, "5 replicas on 5 nodes: one runs on w1"

    drained = lab.json("node", "drain", nodes["w1"]["hostname"])
    assert drained["changed"] is True and drained["node"]["availability"] == "drain"
    # The drain returned once the moved task runs again elsewhere.
    running = _running(lab, "spread")
    assert len(running) == 5
    assert nodes["w1"]["hostname"] not in {t["node"] for t in running}

    activated = lab.json("node", "activate", nodes["w1"]["hostname"])
    assert activated["node"]["availability"] == "active"
    # Back in scheduling: the next task goes to the emptiest node, w1.
    assert lab.run("service", "scale", "spread=6").returncode == 0
    wait_for(
        lambda: nodes["w1"]["hostname"] in {t["node"] for t in _running(lab, "spread")},
        60,
        "a task on w1 again",
        interval=1.0,
    )
    assert lab.run("service", "rm", "spread").returncode == 0


def test_the_leader_dies_a_new_one_is_elected_and_the_platform_carries_on(lab: TestLab) -> None:
    first = lab.status()
    old = first["leader"]
    hostname = {n["name"]: n["hostname"] for n in first["nodes"]}
    created = lab.run("service", "create", "carry", "sparkswarm-test/web:v1", "--replicas", "2")
    assert created.returncode == 0, created.stderr

    killed = lab.lab("kill", old)
    assert killed.returncode == 0, killed.stderr
    elected = wait_for(
        lambda: (s := lab.status())["leader"] not in (None, old) and s,
        90,
        "a new leader",
        interval=1.0,
    )
    assert {n["name"]: n["engine"] for n in elected["nodes"]}[old] == "stopped"

    # SPARKSWARM_MANAGERS lists all three, the dead leader first: the next
    # operation goes through another manager.
    assert lab.env()["SPARKSWARM_MANAGERS"].split(",")[0].endswith(f"/{old}/docker.sock")
    scaled = lab.run("service", "scale", "carry=3", "--json")
    assert scaled.returncode == 0, scaled.stderr
    assert len(_running(lab, "carry")) == 3

    doctor = lab.run("swarm", "doctor", "--no-overlay-test", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    managers = checks["managers"]
    assert managers["status"] == "warn", managers
    assert "2/3 reachable" in managers["summary"]
    assert f"unreachable: {hostname[old]}" in managers["summary"]
    assert "losing one manager loses quorum" in managers["summary"]

    restored = lab.lab("restore", old, "--json")
    assert restored.returncode == 0, restored.stderr
    back = {n["name"]: n for n in json.loads(restored.stdout)["nodes"]}
    assert back[old]["engine"] == "running" and back[old]["role"] == "manager"
    assert back[old]["manager_status"] in ("reachable", "leader")
    assert sum(n["leader"] for n in back.values()) == 1
    assert lab.run("service", "rm", "carry").returncode == 0


def test_down_leaves_no_namespace_link_mount_process_or_folder(lab: TestLab) -> None:
    state = json.loads((lab.root / "lab.json").read_text())
    assert host_leftovers(lab.base, lab.name, state)  # the lab is there ...
    done = lab.down()
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["removed"]) == ["m1", "m2", "m3", "w1", "w2"]
    assert host_leftovers(lab.base, lab.name, state) == []  # ... and now it is gone
    claims = Path("/run/sparkswarm-lab/addresses")
    mine = {n["address"] for n in state["nodes"]}
    assert not mine & {p.name for p in claims.iterdir()}
    again = lab.down()
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False
    assert subprocess.run(["ip", "link", "show", "ssw-br0"], capture_output=True).returncode == 0


def test_down_after_a_crashed_up_finds_everything(lab_host: None) -> None:
    import signal
    import sys
    import time

    crashed = TestLab()
    try:
        up = subprocess.Popen(
            [str(Path(sys.executable).parent / "sparkswarm"), "lab", "up", "--name", crashed.name,
             "--managers", "1", "--workers", "1", "--no-images"],
            env=crashed.env(managers=False),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Killed once the engines run and the swarm is forming.
        wait_for(
            lambda: len(list(crashed.root.glob("*/docker.sock"))) == 2 or up.poll() is not None,
            60,
            "the lab's engines to start",
        )
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        time.sleep(0.5)
        state = json.loads((crashed.root / "lab.json").read_text())
        assert host_leftovers(crashed.base, crashed.name, state)
        done = crashed.down()
        assert done.returncode == 0, done.stderr
        assert host_leftovers(crashed.base, crashed.name, state) == []
    finally:
        crashed.down()
        crashed.remove_base()
