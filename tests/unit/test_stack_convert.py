"""Translation of a loaded compose model to swarm specs, by dict equality."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.compose_load import load_stack
from sparkswarm.stacks.convert import effective_capabilities, translate
from sparkswarm.units import parse_duration, parse_nano_cpus, parse_ram_bytes


def _translate(text: str, files: dict[str, bytes] | None = None) -> Any:
    loaded = load_stack(
        [("s.yml", text)], env={}, working_dir="/w", read_file=lambda p: (files or {})[p]
    )
    return translate("st", loaded.model)


def test_full_service_spec() -> None:
    desired = _translate(
        """
services:
  web:
    image: img:1
    command: ["serve"]
    environment: {A: "1"}
    labels: {c: "1"}
    ports: ["8080:80", {target: 443, published: 8443, mode: host}]
    stop_grace_period: 1m30s
    healthcheck: {test: "true", interval: 10s, retries: 2}
    networks: {front: {aliases: [www]}}
    configs: [{source: conf, target: /c, mode: 0440}]
    deploy:
      replicas: 2
      labels: {d: "1"}
      resources: {limits: {cpus: "0.5", memory: 64M}}
      restart_policy: {condition: on-failure, max_attempts: 3}
      update_config: {delay: 5s, order: start-first}
      placement: {constraints: ["node.role==manager"], max_replicas_per_node: 1}
networks:
  front: {attachable: true}
configs:
  conf: {file: c.txt}
""",
        {"/w/c.txt": b"hi"},
    )
    assert desired.services["web"] == {
        "Name": "st_web",
        "Labels": {"d": "1", "com.docker.stack.namespace": "st", "com.docker.stack.image": "img:1"},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "img:1",
                "Labels": {"c": "1", "com.docker.stack.namespace": "st"},
                "Command": None,
                "Args": ["serve"],
                "Hostname": "",
                "Env": ["A=1"],
                "Dir": "",
                "User": "",
                "Mounts": None,
                "StopGracePeriod": 90_000_000_000,
                "StopSignal": "",
                "TTY": False,
                "OpenStdin": False,
                "ReadOnly": False,
                "Healthcheck": {
                    "Test": ["CMD-SHELL", "true"],
                    "Interval": 10_000_000_000,
                    "Timeout": 0,
                    "Retries": 2,
                    "StartPeriod": 0,
                    "StartInterval": 0,
                },
                "Hosts": None,
                "DNSConfig": None,
                "Secrets": [],
                "Configs": [
                    {
                        "File": {"Name": "/c", "UID": "0", "GID": "0", "Mode": 0o440},
                        "ConfigName": "st_conf",
                    }
                ],
                "Privileges": {"CredentialSpec": None, "SELinuxContext": None},
                "Isolation": "",
                "Init": None,
                "Sysctls": None,
                "CapabilityAdd": None,
                "CapabilityDrop": None,
                "Ulimits": None,
            },
            "LogDriver": None,
            "Resources": {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20, "Pids": 0}},
            "RestartPolicy": {
                "Condition": "on-failure",
                "Delay": None,
                "MaxAttempts": 3,
                "Window": None,
            },
            "Placement": {
                "Constraints": ["node.role==manager"],
                "Preferences": None,
                "MaxReplicas": 1,
            },
            "Networks": [{"Target": "st_front", "Aliases": ["www", "web"]}],
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "UpdateConfig": {
            "Parallelism": 1,
            "Delay": 5_000_000_000,
            "FailureAction": "",
            "Monitor": 0,
            "MaxFailureRatio": 0,
            "Order": "start-first",
        },
        "RollbackConfig": None,
        "EndpointSpec": {
            "Mode": "",
            "Ports": [
                {
                    "Protocol": "tcp",
                    "TargetPort": 80,
                    "PublishedPort": 8080,
                    "PublishMode": "ingress",
                },
                {"Protocol": "", "TargetPort": 443, "PublishedPort": 8443, "PublishMode": "host"},
            ],
        },
    }
    assert desired.networks == {
        "st_front": {
            "driver": "overlay",
            "options": None,
            "labels": {"com.docker.stack.namespace": "st"},
            "internal": False,
            "attachable": True,
            "scope": None,
            "ipam": None,
        }
    }
    assert desired.configs == {
        "st_conf": {
            "Name": "st_conf",
            "Labels": {"com.docker.stack.namespace": "st"},
            "Data": "aGk=",
        }
    }


@pytest.mark.parametrize(
    ("deploy", "mode"),
    [
        ("{}", {"Replicated": {"Replicas": None}}),
        ("{mode: global}", {"Global": {}}),
        ("{mode: global-job}", {"GlobalJob": {}}),
        (
            "{mode: replicated-job, replicas: 3}",
            {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}},
        ),
    ],
)
def test_modes(deploy: str, mode: dict[str, Any]) -> None:
    desired = _translate(f"services:\n  j:\n    image: x\n    deploy: {deploy}\n")
    assert desired.services["j"]["Mode"] == mode
    assert desired.networks == {"st_default": desired.networks["st_default"]}


def test_replicas_with_global_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"services\.g: deploy\.replicas"):
        _translate("services:\n  g:\n    image: x\n    deploy: {mode: global, replicas: 2}\n")


@pytest.mark.parametrize(
    ("restart", "policy"),
    [
        ("no", None),
        ("always", {"Condition": "any", "MaxAttempts": None}),
        ("on-failure:3", {"Condition": "on-failure", "MaxAttempts": 3}),
    ],
)
def test_legacy_restart(restart: str, policy: Any) -> None:
    desired = _translate(f"services:\n  s:\n    image: x\n    restart: '{restart}'\n")
    assert desired.services["s"]["TaskTemplate"]["RestartPolicy"] == policy


def test_external_objects_are_not_created_and_keep_their_names() -> None:
    desired = _translate(
        "services:\n  s:\n    image: x\n    networks: [ext]\n    secrets: [k]\n"
        "networks:\n  ext: {external: true, name: shared-net}\n"
        "secrets:\n  k: {external: true}\n"
    )
    assert desired.networks == {}
    assert desired.external_networks == ["shared-net"]
    assert desired.secrets == {}
    spec = desired.services["s"]["TaskTemplate"]
    assert spec["Networks"] == [{"Target": "shared-net", "Aliases": ["s"]}]
    assert spec["ContainerSpec"]["Secrets"][0]["SecretName"] == "k"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("1s", 10**9),
        ("1m30s", 90 * 10**9),
        ("1.5h", 5400 * 10**9),
        ("300ms", 3 * 10**8),
        ("2us", 2000),
        ("-1s", -(10**9)),
    ],
)
def test_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "1", "1x", "s", "1s2"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_sizes_and_cpus() -> None:
    assert parse_ram_bytes("64M") == 64 << 20
    assert parse_ram_bytes("1gb") == 1 << 30
    assert parse_ram_bytes("1.5k") == 1536
    assert parse_nano_cpus("0.25") == 250_000_000
    with pytest.raises(ValueError):
        parse_nano_cpus("0.0000000001")


def test_capabilities_as_the_cli() -> None:
    assert effective_capabilities(["net_admin", "CAP_CHOWN"], ["chown", "mknod"]) == (
        ["CAP_CHOWN", "CAP_NET_ADMIN"],
        ["CAP_MKNOD"],
    )
    assert effective_capabilities(["ALL", "x"], None) == (["ALL"], [])


@pytest.mark.parametrize("stack", ["", "_x", "-x", "a b", "a/b", "é"])
def test_invalid_stack_names(stack: str) -> None:
    from sparkswarm.stacks.convert import validate_stack_name

    with pytest.raises(InvalidRequest, match="invalid stack name"):
        validate_stack_name(stack)


def test_too_long_service_name() -> None:
    loaded = load_stack(
        [("s.yml", f"services:\n  {'s' * 60}:\n    image: x\n")],
        env={},
        working_dir="/w",
        read_file=lambda p: b"",
    )
    with pytest.raises(InvalidRequest, match="longer than 63"):
        translate("stack", loaded.model)
