"""`sparkswarm network create|ls|rm` on the real engine."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from sparkswarm.errors import Conflict
from sparkswarm.networks import create_network, find_network
from tests.support.cli import sparkswarm, sparkswarm_json

pytestmark = pytest.mark.integration

WIDE = {**os.environ, "COLUMNS": "400"}


def test_create_is_idempotent_and_shows_in_ls(gw: Any, name: Callable[[str], str]) -> None:
    net = name("net")
    first = sparkswarm_json("network", "create", net, "--attachable", "--label", "team=a")
    assert first["changed"] is True
    assert first["network"]["driver"] == "overlay" and first["network"]["attachable"] is True

    again = sparkswarm_json("network", "create", net, "--attachable", "--label", "team=a")
    assert again["changed"] is False
    assert again["network"]["id"] == first["network"]["id"]

    listed = {n["name"]: n for n in sparkswarm_json("network", "ls", "--driver", "overlay")}
    assert listed[net]["labels"] == {"team": "a"} and listed[net]["scope"] == "swarm"
    # Wide enough that other tests' networks never make a cell wrap.
    table = sparkswarm("network", "ls", env=WIDE)
    assert table.returncode == 0 and net in table.stdout
    assert first["network"]["id"][:12] in table.stdout
    assert first["network"]["id"] not in table.stdout  # short IDs, as docker shows them


def test_ls_table_shows_cells_literally(gw: Any, name: Callable[[str], str]) -> None:
    net = name("lit")
    create_network(gw, name=net, labels={"note": "[bold]x"})
    table = sparkswarm("network", "ls", "--driver", "overlay", env=WIDE)
    assert table.returncode == 0, table.stderr
    [row] = [line for line in table.stdout.splitlines() if net in line]
    assert "note=[bold]x" in row  # not taken for rich markup


def test_encrypted_network_with_subnet(gw: Any, name: Callable[[str], str]) -> None:
    net = name("enc")
    created = sparkswarm_json("network", "create", net, "--encrypted", "--subnet", "10.231.7.0/24")[
        "network"
    ]
    raw = gw.inspect_network(created["id"])
    assert "encrypted" in raw["Options"]
    assert [c["Subnet"] for c in raw["IPAM"]["Config"]] == ["10.231.7.0/24"]


def test_same_name_other_options_is_a_conflict_and_changes_nothing(
    gw: Any, name: Callable[[str], str]
) -> None:
    net = name("net")
    before = create_network(gw, name=net)
    assert before.network is not None
    with pytest.raises(Conflict, match="attachable"):
        create_network(gw, name=net, attachable=True)

    done = sparkswarm("network", "create", net, "--encrypted")
    assert done.returncode == 1
    assert "exists with other options" in done.stderr

    after = find_network(gw, net)
    assert after is not None and after.id == before.network.id and not after.encrypted


def test_rm_removes_and_absent_is_fine(gw: Any, name: Callable[[str], str]) -> None:
    net = name("gone")
    create_network(gw, name=net)
    removed = sparkswarm_json("network", "rm", net)
    assert removed == [{"name": net, "network": None, "changed": True}]
    assert find_network(gw, net) is None
    assert sparkswarm_json("network", "rm", net)[0]["changed"] is False


def test_bad_input_exits_2_and_creates_nothing(gw: Any, name: Callable[[str], str]) -> None:
    net = name("bad")
    done = sparkswarm("network", "create", net, "--subnet", "10.1.2.3/24")
    assert done.returncode == 2 and "not a network CIDR" in done.stderr
    assert find_network(gw, net) is None
    assert sparkswarm("network", "create", "-x-").returncode == 2
    # The rule is printed as written (it once lost its "[...]" to rich markup).
    named = sparkswarm("network", "create", "bad name")
    assert named.returncode == 2
    assert "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*" in " ".join(named.stderr.split())


def test_rm_checks_every_name_before_removing_any(gw: Any, name: Callable[[str], str]) -> None:
    net = name("keep")
    create_network(gw, name=net)
    done = sparkswarm("network", "rm", net, "bad name")
    assert done.returncode == 2 and "network name 'bad name'" in done.stderr
    assert find_network(gw, net) is not None
    assert sparkswarm("network", "rm", "").returncode == 2
