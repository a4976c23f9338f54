"""ServiceOptions -> Engine ServiceSpec, by dict equality; spec comparison."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.services.specs import (
    DEFAULT_POLICY,
    PolicyOptions,
    ServiceOptions,
    build_service_spec,
    normalized_spec,
    policy_config,
    spec_differences,
    validated,
)

S = 1_000_000_000
IMAGE = "sparkswarm-test/web:v1"


def spec_for(**options: Any) -> dict[str, Any]:
    return build_service_spec("web", IMAGE, validated(ServiceOptions, options, "options"))


def base(**task_extra: Any) -> dict[str, Any]:
    return {
        "Name": "web",
        "Labels": {},
        "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}, **task_extra},
        "Mode": {"Replicated": {"Replicas": 1}},
    }


def test_minimal_spec() -> None:
    assert spec_for() == base()


@pytest.mark.parametrize(
    ("options", "changes"),
    [
        ({"replicas": 3}, {"Mode": {"Replicated": {"Replicas": 3}}}),
        ({"replicas": 0}, {"Mode": {"Replicated": {"Replicas": 0}}}),
        ({"mode": "global"}, {"Mode": {"Global": {}}}),
        (
            {"mode": "global-job"},
            {
                "Mode": {"GlobalJob": {}},
                "TaskTemplate": {
                    "ContainerSpec": {"Image": IMAGE},
                    "RestartPolicy": {"Condition": "on-failure"},
                },
            },
        ),
        (
            {
                "mode": "replicated-job",
                "replicas": 4,
                "max_concurrent": 2,
                "restart_condition": "none",
            },
            {
                "Mode": {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 4}},
                "TaskTemplate": {
                    "ContainerSpec": {"Image": IMAGE},
                    "RestartPolicy": {"Condition": "none"},
                },
            },
        ),
        (
            {"mode": "replicated-job", "replicas": 3},
            {
                "Mode": {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}},
                "TaskTemplate": {
                    "ContainerSpec": {"Image": IMAGE},
                    "RestartPolicy": {"Condition": "on-failure"},
                },
            },
        ),
        ({"labels": ["team=data", "tier"]}, {"Labels": {"team": "data", "tier": ""}}),
        (
            {"publish": ["mode=host,18080:80"]},
            {
                "EndpointSpec": {
                    "Mode": "vip",
                    "Ports": [
                        {
                            "Protocol": "tcp",
                            "PublishMode": "host",
                            "TargetPort": 80,
                            "PublishedPort": 18080,
                        }
                    ],
                }
            },
        ),
        ({"endpoint_mode": "dnsrr"}, {"EndpointSpec": {"Mode": "dnsrr"}}),
        (
            {
                "update": {
                    "delay": "2s",
                    "parallelism": 1,
                    "failure_action": "rollback",
                    "monitor": "1s",
                    "max_failure_ratio": 0.5,
                    "order": "start-first",
                }
            },
            {
                "UpdateConfig": {
                    "Parallelism": 1,
                    "Delay": 2 * S,
                    "FailureAction": "rollback",
                    "Monitor": S,
                    "MaxFailureRatio": 0.5,
                    "Order": "start-first",
                }
            },
        ),
        ({"update": {"delay": "10s"}}, {"UpdateConfig": {**DEFAULT_POLICY, "Delay": 10 * S}}),
        (
            {"rollback": {"parallelism": 2, "failure_action": "continue"}},
            {"RollbackConfig": {**DEFAULT_POLICY, "Parallelism": 2, "FailureAction": "continue"}},
        ),
    ],
)
def test_spec_top_level(options: dict[str, Any], changes: dict[str, Any]) -> None:
    assert spec_for(**options) == {**base(), **changes}


@pytest.mark.parametrize(
    ("options", "container", "task"),
    [
        ({"command": ["sh", "-c", "echo hi"]}, {"Args": ["sh", "-c", "echo hi"]}, {}),
        ({"env": ["A=1", "B=two"]}, {"Env": ["A=1", "B=two"]}, {}),
        (
            {"mounts": ["type=tmpfs,target=/scratch"]},
            {"Mounts": [{"Type": "tmpfs", "Target": "/scratch"}]},
            {},
        ),
        ({"stop_grace_period": "1s"}, {"StopGracePeriod": S}, {}),
        (
            {
                "health_cmd": "nc -z 127.0.0.1 80",
                "health_interval": "5s",
                "health_retries": 3,
                "health_timeout": "2s",
            },
            {
                "Healthcheck": {
                    "Test": ["CMD-SHELL", "nc -z 127.0.0.1 80"],
                    "Interval": 5 * S,
                    "Timeout": 2 * S,
                    "Retries": 3,
                }
            },
            {},
        ),
        (
            {
                "limit_cpu": "0.5",
                "limit_memory": "512m",
                "reserve_cpu": "0.25",
                "reserve_memory": "128m",
            },
            {},
            {
                "Resources": {
                    "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 512 * 1024**2},
                    "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 128 * 1024**2},
                }
            },
        ),
        ({"limit_memory": "1g"}, {}, {"Resources": {"Limits": {"MemoryBytes": 1024**3}}}),
        (
            {"restart_condition": "on-failure", "restart_delay": "5s", "restart_max_attempts": 3},
            {},
            {"RestartPolicy": {"Condition": "on-failure", "Delay": 5 * S, "MaxAttempts": 3}},
        ),
        (
            {"constraints": ["node.role==manager", "node.labels.zone != a"]},
            {},
            {"Placement": {"Constraints": ["node.role==manager", "node.labels.zone!=a"]}},
        ),
        ({"networks": ["backend"]}, {}, {"Networks": [{"Target": "backend"}]}),
    ],
)
def test_spec_task_template(
    options: dict[str, Any], container: dict[str, Any], task: dict[str, Any]
) -> None:
    expected = base(**task)
    expected["TaskTemplate"]["ContainerSpec"].update(container)
    assert spec_for(**options) == expected


def test_network_ids_replace_names() -> None:
    options = ServiceOptions(networks=["backend"])
    spec = build_service_spec("web", IMAGE, options, network_ids=["abc123"])
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "abc123"}]


@pytest.mark.parametrize(
    ("name", "image", "options", "message"),
    [
        ("bad name", IMAGE, {}, "service name"),
        ("web", "bad image", {}, "image"),
        ("web", IMAGE, {"mode": "daemon"}, "mode"),
        ("web", IMAGE, {"mode": "global", "replicas": 2}, "--replicas"),
        ("web", IMAGE, {"max_concurrent": 2}, "--max-concurrent"),
        ("web", IMAGE, {"mode": "replicated-job", "restart_condition": "any"}, "restart"),
        ("web", IMAGE, {"replicas": -1}, "replicas"),
        ("web", IMAGE, {"endpoint_mode": "dnsrr", "publish": ["8080:80"]}, "dnsrr"),
        ("web", IMAGE, {"endpoint_mode": "roundrobin"}, "endpoint_mode"),
        ("web", IMAGE, {"publish": ["8080:80", "8080:81"]}, "published twice"),
        ("web", IMAGE, {"update": {"delay": "soon"}}, "duration"),
        ("web", IMAGE, {"update": {"failure_action": "explode"}}, "failure_action"),
        ("web", IMAGE, {"update": {"max_failure_ratio": 2}}, "max_failure_ratio"),
        ("web", IMAGE, {"rollback": {"failure_action": "rollback"}}, "rollback-failure-action"),
        ("web", IMAGE, {"health_interval": "5s"}, "--health-cmd"),
        ("web", IMAGE, {"restart_condition": "sometimes"}, "restart_condition"),
        ("web", IMAGE, {"env": ["NOVALUE"]}, "--env"),
        ("web", IMAGE, {"unknown_flag": 1}, "unknown_flag"),
    ],
)
def test_invalid_options(name: str, image: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        build_service_spec(name, image, validated(ServiceOptions, options, "service options"))


def test_policy_keeps_current_values_it_does_not_change() -> None:
    current = {**DEFAULT_POLICY, "Parallelism": 2, "Delay": 5 * S}
    changed = policy_config(PolicyOptions(order="start-first"), current, kind="update")
    assert changed == {**current, "Order": "start-first"}
    assert policy_config(PolicyOptions(), current, kind="update") == current
    assert policy_config(PolicyOptions(), None, kind="update") is None


# What the engine 20.10 returned for a service created from spec_for(publish=[...],
# restart_condition="any") (copied from `inspect`): defaults filled in.
STORED = {
    "Name": "web",
    "Labels": {},
    "TaskTemplate": {
        "ContainerSpec": {"Image": IMAGE, "Isolation": "default"},
        "RestartPolicy": {"Condition": "any", "MaxAttempts": 0},
        "ForceUpdate": 0,
        "Runtime": "container",
    },
    "Mode": {"Replicated": {"Replicas": 1}},
    "EndpointSpec": {
        "Mode": "vip",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 18999, "PublishMode": "host"}
        ],
    },
}


def test_engine_defaults_are_not_differences() -> None:
    desired = spec_for(publish=["mode=host,18999:80"], restart_condition="any")
    assert spec_differences(desired, STORED) == []
    assert normalized_spec(desired) == normalized_spec(STORED)


def test_real_differences_are_named() -> None:
    desired = spec_for(
        publish=["mode=host,18998:80"], restart_condition="any", replicas=0, env=["A=1"]
    )
    assert spec_differences(desired, STORED) == [
        "EndpointSpec.Ports",
        "Mode.Replicated.Replicas",
        "TaskTemplate.ContainerSpec.Env",
    ]
