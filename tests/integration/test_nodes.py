"""`sparkswarm node ...` and `swarm ...` on the main single-node swarm, read-only or refused.

Nothing here changes the main swarm: joining, labelling, draining,
promoting and leaving are tested on extra nodes (test_nodes_multinode.py).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from sparkswarm.swarm import mask_token, read_join_token
from tests.conftest import unavailable
from tests.support.cli import sparkswarm, sparkswarm_json

pytestmark = pytest.mark.integration


def main_node(gw: Any) -> dict[str, Any]:
    node_id = gw.info()["Swarm"]["NodeID"]
    raw: dict[str, Any] = gw.inspect_node(node_id)
    return raw


def test_node_ls_shows_this_engine_as_leader(gw: Any) -> None:
    me = main_node(gw)
    nodes = {n["id"]: n for n in sparkswarm_json("node", "ls")}
    mine = nodes[me["ID"]]
    assert mine["role"] == "manager" and mine["leader"] is True
    assert mine["manager_status"] == "leader" and mine["status"] == "ready"
    assert mine["hostname"] == me["Description"]["Hostname"]
    assert mine["address"] == me["Status"]["Addr"]
    assert mine["engine_version"] == gw.version()["Version"]
    managers = sparkswarm_json("node", "ls", "--role", "manager")
    assert me["ID"] in {n["id"] for n in managers}
    assert all(n["role"] == "manager" for n in managers)


def test_node_inspect_by_id_and_hostname_and_unknown(gw: Any) -> None:
    me = main_node(gw)
    by_id = sparkswarm_json("node", "inspect", me["ID"][:12])
    assert by_id["ID"] == me["ID"]
    by_hostname = sparkswarm_json("node", "inspect", me["Description"]["Hostname"])
    assert by_hostname["ID"] == me["ID"]
    done = sparkswarm("node", "inspect", "no-such-node-anywhere")
    assert done.returncode == 2 and "node 'no-such-node-anywhere' not found" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node", "inspect", ""], "no node named"),
        (["node", "inspect", "a/b"], "invalid node 'a/b': give a node id"),
        (["node", "drain", ""], "no node named"),
        (["node", "ls", "--role", "boss"], "--role must be one of worker, manager"),
    ],
)
def test_bad_node_arguments_exit_2_with_a_clear_message(
    gw: Any, args: list[str], message: str
) -> None:
    before = gw.nodes()
    done = sparkswarm(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert [n["Spec"] for n in gw.nodes()] == [n["Spec"] for n in before]


def test_demoting_the_only_manager_is_refused_and_changes_nothing(gw: Any) -> None:
    managers = gw.nodes(filters={"role": "manager"})
    if len(managers) != 1:
        unavailable("the main swarm has more than one manager (setup.sh makes one)")
    me = main_node(gw)
    done = sparkswarm("node", "demote", me["ID"])
    assert done.returncode == 2
    assert "last manager" in done.stderr
    after = main_node(gw)
    assert after["Spec"] == me["Spec"]


def test_promoting_a_manager_changes_nothing(gw: Any) -> None:
    me = main_node(gw)
    result = sparkswarm_json("node", "promote", me["ID"])
    assert result["changed"] is False and result["node"]["role"] == "manager"


def test_label_with_bad_input_exits_2(gw: Any) -> None:
    me = main_node(gw)
    assert sparkswarm("node", "label", me["ID"], "novalue").returncode == 2
    assert sparkswarm("node", "label", me["ID"]).returncode == 2
    assert main_node(gw)["Spec"] == me["Spec"]


def test_swarm_init_on_an_existing_swarm_reports_it(gw: Any) -> None:
    me = main_node(gw)
    result = sparkswarm_json("swarm", "init", "--advertise-addr", me["Status"]["Addr"])
    assert result["changed"] is False and result["node_id"] == me["ID"]
    assert result["is_manager"] is True and result["state"] == "active"


def test_swarm_init_acts_on_this_engine_even_with_a_broker_configured(gw: Any) -> None:
    """init/join/leave are local: a queue worker would act on its own engine.
    The broker named here does not exist, so any use of it would fail."""
    me = main_node(gw)
    env = {**os.environ, "SPARKSWARM_REDIS_URL": "redis://127.0.0.1:1/0"}
    done = sparkswarm(
        "swarm", "init", "--advertise-addr", me["Status"]["Addr"], "--json",
        env=env, queued=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["node_id"] == me["ID"]


def test_swarm_leave_of_a_manager_without_force_is_refused(gw: Any) -> None:
    done = sparkswarm("swarm", "leave")
    assert done.returncode == 2 and "manager" in done.stderr
    assert gw.info()["Swarm"]["LocalNodeState"] == "active"


def test_join_token_is_masked_unless_revealed(gw: Any) -> None:
    token = read_join_token(gw, role="worker")
    masked = sparkswarm("swarm", "join-token", "worker")
    assert masked.returncode == 0
    assert token not in masked.stdout + masked.stderr
    assert mask_token(token) in masked.stdout
    shown = sparkswarm_json("swarm", "join-token", "manager", "--reveal")
    assert shown["token"] == read_join_token(gw, role="manager") and shown["masked"] is False
    assert sparkswarm("swarm", "join-token", "admin").returncode == 2


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--advertise-addr", "not an address", "must be an address"),
        ("--listen-addr", "0.0.0.0:99999", "has a bad port"),
        ("--default-addr-pool", "10.1.2.3/16", "not a network CIDR"),
    ],
)
def test_swarm_init_refuses_bad_addresses_even_on_an_existing_swarm(
    gw: Any, flag: str, value: str, message: str
) -> None:
    done = sparkswarm("swarm", "init", flag, value)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert gw.info()["Swarm"]["LocalNodeState"] == "active"
