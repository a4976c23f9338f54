"""The lab's pure parts: names, the node plan, state files, address claims, host checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkswarm.errors import Conflict, InvalidRequest
from sparkswarm.lab import addresses, host
from sparkswarm.lab.backend import LabNode
from sparkswarm.lab.state import (
    LabState,
    find_node,
    load_state,
    plan_nodes,
    save_state,
    validate_name,
    validate_shape,
)
from sparkswarm.lab.status import managers_env


def test_plan_names_roles_hostnames_namespaces_and_folders() -> None:
    root = Path("/labs/demo")
    nodes = plan_nodes("demo", root, 3, 2, [f"10.77.0.{n}" for n in range(10, 15)])
    assert [(n.name, n.role) for n in nodes] == [
        ("m1", "manager"),
        ("m2", "manager"),
        ("m3", "manager"),
        ("w1", "worker"),
        ("w2", "worker"),
    ]
    assert nodes[0].hostname == "demo-m1" and nodes[4].hostname == "demo-w2"
    assert nodes[0].netns == "sswl.demo.m1"
    assert nodes[3].url == "unix:///labs/demo/w1/docker.sock"
    assert nodes[1].address == "10.77.0.11"
    # Link names fit the kernel's 15 characters and differ per node.
    assert all(len(n.veth_host) <= 15 and len(n.veth_node) <= 15 for n in nodes)
    assert len({n.veth_host for n in nodes}) == 5


def test_managers_env_lists_every_manager_in_order() -> None:
    nodes = plan_nodes("demo", Path("/l"), 2, 1, ["10.77.0.10", "10.77.0.11", "10.77.0.12"])
    line = managers_env(LabState(name="demo", nodes=nodes))
    assert line == ("export SPARKSWARM_MANAGERS=unix:///l/m1/docker.sock,unix:///l/m2/docker.sock")


@pytest.mark.parametrize("name", ["", "Lab", "1lab", "a_b", "a.b", "x" * 21, "a b"])
def test_bad_lab_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequest, match="lab name"):
        validate_name(name)


@pytest.mark.parametrize(("managers", "workers"), [(0, 2), (8, 0), (1, -1), (1, 11)])
def test_bad_shapes_are_refused(managers: int, workers: int) -> None:
    with pytest.raises(InvalidRequest):
        validate_shape(managers, workers)


def test_state_round_trip_and_find_node(tmp_path: Path) -> None:
    nodes = plan_nodes("demo", tmp_path, 1, 1, ["10.77.0.10", "10.77.0.11"])
    assert load_state(tmp_path) is None
    save_state(tmp_path, LabState(name="demo", nodes=nodes))
    state = load_state(tmp_path)
    assert state is not None and state.nodes == nodes
    assert find_node(state, "w1") == nodes[1]
    assert find_node(state, "demo-m1") == nodes[0]
    assert find_node(state, "10.77.0.11") == nodes[1]
    with pytest.raises(InvalidRequest, match=r"no node 'm7'.*m1, w1"):
        find_node(state, "m7")


def _node(root: Path, address: str) -> LabNode:
    return LabNode(
        name="m1", role="manager", hostname="x-m1", address=address, netns="n", root=str(root)
    )


def test_claims_are_exclusive_and_stale_ones_are_found(tmp_path: Path) -> None:
    claims = tmp_path / "claims"
    mine = tmp_path / "mine"
    mine.mkdir()
    node = _node(mine, "10.77.0.10")
    addresses.claim(node, claims=claims)
    addresses.claim(node, claims=claims)  # again, the same node: fine
    other = _node(tmp_path / "other", "10.77.0.10")
    with pytest.raises(Conflict, match="taken"):
        addresses.claim(other, claims=claims)
    assert addresses.free_addresses(range(10, 13), 2, claims=claims) == ["10.77.0.11", "10.77.0.12"]
    with pytest.raises(Conflict, match="free lab addresses"):
        addresses.free_addresses(range(10, 12), 2, claims=claims)
    assert addresses.stale_claims(range(10, 13), claims=claims) == []
    # A dead claiming process, or a node folder gone: stale.
    dead = _node(mine, "10.77.0.11")
    addresses.claim(dead, pid=2**22 + 1, claims=claims)
    gone = _node(tmp_path / "gone", "10.77.0.12")
    addresses.claim(gone, claims=claims)
    assert addresses.stale_claims(range(10, 13), claims=claims) == [dead, gone]
    addresses.release("10.77.0.10", root="/somebody/else", claims=claims)
    assert addresses.holder("10.77.0.10", claims=claims) == node
    addresses.release("10.77.0.10", root=str(mine), claims=claims)
    assert addresses.holder("10.77.0.10", claims=claims) is None


def test_missing_requirements_are_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(host.shutil, "which", lambda tool: None if tool == "nsenter" else tool)
    monkeypatch.setattr(host.sys, "platform", "linux")
    with pytest.raises(InvalidRequest) as caught:
        host.require_host()
    message = str(caught.value)
    assert message.startswith("this host cannot run a lab: it needs root")
    assert message.endswith("; nsenter on PATH (apt-get install util-linux)")
    assert "\n" not in message
    monkeypatch.setattr(host.sys, "platform", "darwin")
    assert host.missing_requirements() == ["Linux (network namespaces); this is darwin"]
