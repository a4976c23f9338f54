"""Output scripts can trust, and matching `docker stack deploy` (issue #11 §6), no engine."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sparkswarm.cli.common import plain_table
from sparkswarm.services import flags
from sparkswarm.services.changes import ServiceChanges, apply_changes, unmatched_port_removals
from sparkswarm.stacks.convert import translate, with_default_tag
from sparkswarm.stacks.plan import canonical_spec, differences


def test_plain_table_keeps_every_character_and_one_line_per_row() -> None:
    long_name = "nightly-scale-down-of-the-analytics-cluster-" + "x" * 40
    text = plain_table(
        [{"name": long_name, "cron": "0 2 * * *", "note": "a\tb\nc", "tags": ["x", "y"]}],
        ["name", "cron", "note", "tags"],
    )
    assert text.splitlines() == ["NAME\tCRON\tNOTE\tTAGS", f"{long_name}\t0 2 * * *\ta b c\tx, y"]
    assert "…" not in text


def test_plain_table_without_rows_is_the_header() -> None:
    assert plain_table([], ["id", "desired_state"]) == "ID\tDESIRED STATE\n"


# --- --publish-rm ---------------------------------------------------------------

HOST = {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}
UDP = {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 5353, "PublishMode": "ingress"}
OTHER = {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 9090, "PublishMode": "ingress"}


@pytest.mark.parametrize(
    ("ports", "removal", "removed"),
    [
        ([HOST, UDP], "80", [HOST]),  # a target port, as docker takes it
        ([HOST, UDP], "8080", [HOST]),  # no such target: the published port
        ([HOST, UDP], "5353/udp", [UDP]),
        ([HOST, UDP], "5353", []),  # published 5353 is udp, tcp asked
        ([HOST, OTHER], "8080", [OTHER]),  # a target match wins over a published one
        ([HOST, UDP], "9999", []),
        ([HOST, UDP], "mode=host,published=8080,target=80", [HOST]),
    ],
)
def test_ports_to_remove(
    ports: list[dict[str, Any]], removal: str, removed: list[dict[str, Any]]
) -> None:
    assert flags.ports_to_remove(ports, removal) == removed


def _service(*ports: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": "web",
        "TaskTemplate": {"ContainerSpec": {"Image": "web:v1"}},
        "Mode": {"Replicated": {"Replicas": 1}},
        "EndpointSpec": {"Mode": "vip", "Ports": list(ports)},
    }


def test_publish_rm_of_the_published_port_removes_it() -> None:
    spec = _service(HOST, UDP)
    after = apply_changes(spec, ServiceChanges(publish_rm=["8080"]))
    assert after["EndpointSpec"]["Ports"] == [UDP]


def test_publish_rm_that_matches_nothing_is_reported_with_the_ports() -> None:
    spec = _service(HOST, UDP)
    assert unmatched_port_removals(spec, ["8080", "9999"]) == [
        "--publish-rm 9999 matches no port of web (its ports: 8080:80/tcp (host), 5353:53/udp)"
    ]
    assert apply_changes(spec, ServiceChanges(publish_rm=["9999"])) == spec


# --- matching docker stack deploy ---------------------------------------------------


@pytest.mark.parametrize(
    ("image", "sent"),
    [
        ("busybox", "busybox:latest"),
        ("sparkswarm/web", "sparkswarm/web:latest"),
        ("sparkswarm/web:v1", "sparkswarm/web:v1"),
        ("localhost:5000/web", "localhost:5000/web:latest"),
        ("localhost:5000/web:v2", "localhost:5000/web:v2"),
        ("web@sha256:" + "a" * 64, "web@sha256:" + "a" * 64),
    ],
)
def test_with_default_tag(image: str, sent: str) -> None:
    assert with_default_tag(image) == sent


def _model(service: dict[str, Any], networks: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "services": {"web": service},
        "networks": networks or {},
        "volumes": {},
        "secrets": {},
        "configs": {},
    }


def test_untagged_image_is_sent_with_latest_and_labelled_as_written() -> None:
    spec = translate("st", _model({"image": "busybox"})).services["web"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "busybox:latest"
    assert spec["Labels"]["com.docker.stack.image"] == "busybox"


def test_bind_consistency_is_not_sent() -> None:
    volume = {"type": "bind", "source": "/tmp", "target": "/d", "consistency": "cached"}
    spec = translate("st", _model({"image": "b:1", "volumes": [volume]})).services["web"]
    [mount] = spec["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert "Consistency" not in mount


def test_external_bridge_network_id_is_mapped_back() -> None:
    model = _model(
        {"image": "b:1", "networks": {"outside": None}},
        {"outside": {"external": True, "name": "bridge"}},
    )
    desired = translate("st", model).services["web"]
    stored = copy.deepcopy(desired)
    stored["TaskTemplate"]["Networks"] = [{"Target": "swarmscopedbridgeid"}]
    assert desired["TaskTemplate"]["Networks"] == [{"Target": "bridge", "Aliases": None}]
    assert (
        differences(
            canonical_spec(desired),
            canonical_spec(stored, {"swarmscopedbridgeid": "bridge"}),
        )
        == []
    )


def _port(target: int, published: int = 0) -> dict[str, Any]:
    return {"Protocol": "tcp", "TargetPort": target, "PublishedPort": published, "PublishMode": ""}


def test_ports_with_equal_published_numbers_compare_in_any_order() -> None:
    # 14 unpublished ports: the docker CLI's unstable sort may order them
    # differently from the file; that is not a change (issue #11 §6 (d)).
    ours = [_port(8000, 80)] + [_port(9000 + i) for i in range(14)]
    theirs = [_port(8000, 80)] + [_port(9000 + i) for i in reversed(range(14))]
    theirs.sort(key=lambda p: p["PublishedPort"])

    def spec(ports: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Name": "w", "EndpointSpec": {"Mode": "vip", "Ports": ports}}

    assert differences(canonical_spec(spec(ours)), canonical_spec(spec(theirs))) == []
    assert differences(canonical_spec(spec(ours)), canonical_spec(spec(ours[:-1]))) != []
