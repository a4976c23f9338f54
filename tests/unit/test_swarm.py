"""Token masking, address validation, network option comparison (pure, no engine)."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.networks import (
    NetworkInfo,
    network_differences,
    network_info,
    validate_network_request,
)
from sparkswarm.operations import get_operation, mask_secrets
from sparkswarm.swarm import (
    join_swarm,
    mask_token,
    normalise_remote,
    validate_address_pools,
    validate_node_address,
)

TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"


def test_mask_token_keeps_prefix_and_last_four_only() -> None:
    masked = mask_token(TOKEN)
    assert masked == "SWMTKN-1-****...gdbx"
    assert masked.startswith("SWMTKN-1-****")
    # Nothing of the secret part but its last four characters survives.
    secret = TOKEN.removeprefix("SWMTKN-1-")
    assert secret[:-4] not in masked and secret[:8] not in masked


@pytest.mark.parametrize(("token", "masked"), [("", ""), ("SWMTKN-1-short", "SWMTKN-1-****")])
def test_mask_token_short_or_empty(token: str, masked: str) -> None:
    assert mask_token(token) == masked


def test_join_token_is_a_secret_param_of_swarm_join() -> None:
    op = get_operation("swarm.join")
    shown = mask_secrets(op, {"token": TOKEN, "remote": "10.77.0.1:2377"})
    assert shown == {"token": "***", "remote": "10.77.0.1:2377"}


@pytest.mark.parametrize(
    ("remote", "normalised"),
    [
        ("10.77.0.1", "10.77.0.1:2377"),
        ("10.77.0.1:2377", "10.77.0.1:2377"),
        (" manager-1:4000 ", "manager-1:4000"),
        ("[fd00::1]:2377", "[fd00::1]:2377"),
    ],
)
def test_normalise_remote(remote: str, normalised: str) -> None:
    assert normalise_remote(remote) == normalised


@pytest.mark.parametrize("bad", ["", ":2377", "host:notaport", "host:70000", "a b:2377"])
def test_normalise_remote_refuses(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        normalise_remote(bad)


@pytest.mark.parametrize(
    "good", ["10.0.0.1", "10.0.0.1:2377", "eth0", "eth0:4567", "[::1]:2377", "::1", "host.lan"]
)
def test_node_address_accepted(good: str) -> None:
    assert validate_node_address(good, "--advertise-addr") == good


def test_node_address_empty_means_not_given() -> None:
    assert validate_node_address("", "--advertise-addr") is None
    assert validate_node_address(None, "--advertise-addr") is None


@pytest.mark.parametrize("bad", ["not an address", "10.0.0.1:99999", "10.0.0.1:0", "eth0:x"])
def test_node_address_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest, match="--listen-addr"):
        validate_node_address(bad, "--listen-addr")


def test_address_pools() -> None:
    assert validate_address_pools(["10.20.0.0/16", "fd00:1::/64"]) == [
        "10.20.0.0/16",
        "fd00:1::/64",
    ]
    for bad in ("10.20.0.1/16", "nonsense", "10.0.0.0/33"):
        with pytest.raises(InvalidRequest):
            validate_address_pools([bad])


@pytest.mark.parametrize(
    "params",
    [
        {"token": "not-a-token", "remote": "10.77.0.1:2377"},
        {"token": "SWMTKN-1-" + "x" * 60, "remote": "10.77.0.1:2377"},
        {"token": TOKEN + "\n", "remote": "10.77.0.1:2377"},
        {"token": TOKEN, "remote": ""},
        {"token": TOKEN, "remote": "10.77.0.1", "availability": "sleepy"},
    ],
)
def test_join_refuses_bad_input_before_touching_the_engine(params: dict[str, Any]) -> None:
    # No gateway at all: validation must happen before any Engine call.
    with pytest.raises(InvalidRequest):
        join_swarm(None, **params)  # type: ignore[arg-type]


def test_network_request_validation() -> None:
    request = validate_network_request(name="ssw-net", subnet="10.30.0.0/24", attachable=True)
    assert (request.driver, request.subnet, request.attachable) == ("overlay", "10.30.0.0/24", True)
    for bad in (
        {"name": "-bad"},
        {"name": "a b"},
        {"name": "ok", "driver": "weave"},
        {"name": "ok", "driver": "bridge", "encrypted": True},
        {"name": "ok", "subnet": "10.30.0.1/24"},
    ):
        with pytest.raises(InvalidRequest):
            validate_network_request(**bad)  # type: ignore[arg-type]


ENGINE_NETWORK = {
    "Id": "n1",
    "Name": "ssw-net",
    "Driver": "overlay",
    "Scope": "swarm",
    "Attachable": True,
    "IPAM": {"Config": [{"Subnet": "10.30.0.0/24", "Gateway": "10.30.0.1"}]},
    "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4098", "encrypted": ""},
    "Labels": {"team": "a"},
}


def test_network_info_reads_encryption_and_subnets() -> None:
    info = network_info(ENGINE_NETWORK)
    assert (info.encrypted, info.attachable, info.subnets) == (True, True, ["10.30.0.0/24"])


@pytest.mark.parametrize(
    ("asked", "differs"),
    [
        ({"attachable": True, "encrypted": True, "labels": {"team": "a"}}, []),
        (
            {
                "attachable": True,
                "encrypted": True,
                "labels": {"team": "a"},
                "subnet": "10.30.0.0/24",
            },
            [],
        ),
        ({"attachable": False, "encrypted": True, "labels": {"team": "a"}}, ["attachable"]),
        ({"attachable": True, "encrypted": False, "labels": {"team": "a"}}, ["encrypted"]),
        ({"attachable": True, "encrypted": True}, ["labels"]),
        (
            {
                "attachable": True,
                "encrypted": True,
                "labels": {"team": "a"},
                "subnet": "10.31.0.0/24",
            },
            ["subnet"],
        ),
    ],
)
def test_network_differences(asked: dict[str, Any], differs: list[str]) -> None:
    existing: NetworkInfo = network_info(ENGINE_NETWORK)
    found = network_differences(validate_network_request(name="ssw-net", **asked), existing)
    assert [line.split(":")[0] for line in found] == differs
