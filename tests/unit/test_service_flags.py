"""Single flag values -> Engine API structures: table tests and publish round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.services import flags


def port(
    target: int, published: int | None = None, mode: str = "ingress", protocol: str = "tcp"
) -> dict[str, Any]:
    result: dict[str, Any] = {"Protocol": protocol, "PublishMode": mode, "TargetPort": target}
    if published is not None:
        result["PublishedPort"] = published
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080:80", port(80, 8080)),
        ("8080:80/udp", port(80, 8080, protocol="udp")),
        ("80", port(80)),
        ("mode=host,8080:80", port(80, 8080, mode="host")),
        ("mode=ingress,53:53/udp", port(53, 53, protocol="udp")),
        ("mode=host,target=80,published=8080,protocol=tcp", port(80, 8080, mode="host")),
        ("published=9000,target=90", port(90, 9000)),
        ("target=80,mode=host", port(80, mode="host")),
        ("mode=host, 18081:80 ", port(80, 18081, mode="host")),
        ("target=5000,protocol=sctp", port(5000, protocol="sctp")),
    ],
)
def test_parse_publish(text: str, expected: dict[str, Any]) -> None:
    assert flags.parse_publish(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "8080:",
        ":80",
        "0:80",
        "8080:70000",
        "8080:80/icmp",
        "mode=bridge,80",
        "127.0.0.1:8080:80",
        "8080-8081:80-81",
        "mode=host",
        "published=8080",
        "size=3,target=80",
        "80,81",
        "target=80,,",
    ],
)
def test_parse_publish_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        flags.parse_publish(text)


ports = st.builds(
    port,
    target=st.integers(1, 65535),
    published=st.one_of(st.none(), st.integers(1, 65535)),
    mode=st.sampled_from(flags.PUBLISH_MODES),
    protocol=st.sampled_from(flags.PROTOCOLS),
)


def long_form(port: dict[str, Any]) -> str:
    """The long ``--publish`` text for an EndpointSpec port (the test's oracle)."""
    fields = [f"mode={port.get('PublishMode', 'ingress')}"]
    if port.get("PublishedPort"):
        fields.append(f"published={port['PublishedPort']}")
    fields.append(f"target={port['TargetPort']}")
    fields.append(f"protocol={port.get('Protocol', 'tcp')}")
    return ",".join(fields)


@given(ports)
def test_publish_long_form_round_trip(value: dict[str, Any]) -> None:
    assert flags.parse_publish(long_form(value)) == value


@given(ports)
def test_publish_short_form_round_trip(value: dict[str, Any]) -> None:
    mapping = str(value["TargetPort"])
    if "PublishedPort" in value:
        mapping = f"{value['PublishedPort']}:{mapping}"
    text = f"mode={value['PublishMode']},{mapping}/{value['Protocol']}"
    assert flags.parse_publish(text) == value


@pytest.mark.parametrize(
    ("removal", "removed"),
    [
        ("80", True),
        ("80/tcp", True),
        ("80/udp", False),
        ("81", False),
        ("mode=host,8080:80", True),
        ("9090:80", False),
        ("published=8080,target=80", True),
    ],
)
def test_port_matches_removal(removal: str, removed: bool) -> None:
    assert flags.port_matches_removal(port(80, 8080, mode="host"), removal) is removed


@pytest.mark.parametrize("name", ["web", "a", "web-1", "web_v2", "A9", "a" * 63, "x--y"])
def test_valid_service_names(name: str) -> None:
    assert flags.validate_service_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-web", "web-", "_x", "bad name", "web.1", "wéb", "a" * 64, "x/y", "web!"]
)
def test_invalid_service_names(name: str) -> None:
    with pytest.raises(InvalidRequest, match="service name"):
        flags.validate_service_name(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "type=bind,source=/data,target=/srv",
            {"Type": "bind", "Source": "/data", "Target": "/srv"},
        ),
        (
            "type=bind,src=/data,dst=/srv,readonly",
            {"Type": "bind", "Source": "/data", "Target": "/srv", "ReadOnly": True},
        ),
        (
            "source=vol1,target=/var/lib/x",
            {"Type": "volume", "Source": "vol1", "Target": "/var/lib/x"},
        ),
        ("type=volume,target=/cache,ro=false", {"Type": "volume", "Target": "/cache"}),
        (
            "type=tmpfs,destination=/tmp,tmpfs-size=64m",
            {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 64 * 1024**2}},
        ),
    ],
)
def test_parse_mount(text: str, expected: dict[str, Any]) -> None:
    assert flags.parse_mount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "type=nfs,target=/x",
        "type=bind,source=rel,target=/x",
        "source=/a",
        "target=relative",
        "type=tmpfs,source=/a,target=/x",
        "type=volume,target=/x,tmpfs-size=1m",
        "type=bind,source=/a,target=/b,readonly=maybe",
        "type=bind,source=/a,target=/b,bogus=1",
    ],
)
def test_parse_mount_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest, match="--mount"):
        flags.parse_mount(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1.5g", 1536 * 1024**2),
        ("64mb", 64 * 1024**2),
        ("1024", 1024),
        ("2K", 2048),
        ("1GiB", 1024**3),
    ],
)
def test_parse_memory(text: str, size: int) -> None:
    assert flags.memory_flag(text) == size


@pytest.mark.parametrize("text", ["", "0", "0m", "-1g", "1x", "lots", "1.5.5g"])
def test_parse_memory_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        flags.memory_flag(text)


@pytest.mark.parametrize(
    ("text", "nano"),
    [("0.5", 500_000_000), ("2", 2_000_000_000), ("0.000000001", 1), ("1.25", 1_250_000_000)],
)
def test_parse_cpus(text: str, nano: int) -> None:
    assert flags.cpus_flag(text) == nano


@pytest.mark.parametrize("text", ["0", "-1", "abc", "0.0000000001", "nan", "inf", ""])
def test_parse_cpus_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        flags.cpus_flag(text)


def test_parse_key_values() -> None:
    assert flags.parse_key_values(["A=1", "B=x=y", "A=2", "C="], "--env") == {
        "A": "2",
        "B": "x=y",
        "C": "",
    }
    assert flags.parse_key_values(["team"], "--label", allow_bare=True) == {"team": ""}


@pytest.mark.parametrize("item", ["NOEQUALS", "=value", "BAD KEY=1"])
def test_parse_key_values_refuses(item: str) -> None:
    with pytest.raises(InvalidRequest, match="--env"):
        flags.parse_key_values([item], "--env")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("node.role==manager", "node.role==manager"),
        ("node.labels.zone != east", "node.labels.zone!=east"),
        ("node.hostname==vm", "node.hostname==vm"),
    ],
)
def test_parse_constraint(text: str, expected: str) -> None:
    assert flags.parse_constraint(text) == expected


@pytest.mark.parametrize("text", ["node.role=manager", "==x", "node.role==", "role"])
def test_parse_constraint_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest, match="--constraint"):
        flags.parse_constraint(text)
