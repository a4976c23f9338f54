"""`service update` changes applied to a stored spec, by dict equality."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest
from sparkswarm.services.changes import ServiceChanges, apply_changes, rollout_expected
from sparkswarm.services.replicas import set_replicas
from sparkswarm.services.specs import DEFAULT_POLICY, validated

S = 1_000_000_000
HOST_80 = {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 18080, "PublishMode": "host"}
UDP_53 = {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "ingress"}


def stored(**top: Any) -> dict[str, Any]:
    spec = {
        "Name": "web",
        "Labels": {"team": "data"},
        "TaskTemplate": {
            "ContainerSpec": {"Image": "web:v1", "Env": ["A=1", "B=2"], "Isolation": "default"},
            "ForceUpdate": 0,
            "Runtime": "container",
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "EndpointSpec": {"Mode": "vip", "Ports": [HOST_80]},
    }
    spec.update(top)
    return spec


def changed(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return apply_changes(spec, validated(ServiceChanges, changes, "service update"))


def with_container(**container: Any) -> dict[str, Any]:
    spec = stored()
    spec["TaskTemplate"]["ContainerSpec"].update(container)
    return spec


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, stored()),
        ({"image": "web:v2"}, with_container(Image="web:v2")),
        ({"env_add": ["C=3", "A=9"]}, with_container(Env=["A=9", "B=2", "C=3"])),
        ({"env_rm": ["A"]}, with_container(Env=["B=2"])),
        ({"env_rm": ["A", "B"], "env_add": ["A=new"]}, with_container(Env=["A=new"])),
        ({"replicas": 5}, stored(Mode={"Replicated": {"Replicas": 5}})),
        ({"publish_rm": ["80"]}, stored(EndpointSpec={"Mode": "vip", "Ports": []})),
        (
            {"publish_add": ["53:53/udp"]},
            stored(EndpointSpec={"Mode": "vip", "Ports": [HOST_80, UDP_53]}),
        ),
        (
            {"publish_add": ["mode=host,published=18080,target=8080"]},
            stored(EndpointSpec={"Mode": "vip", "Ports": [{**HOST_80, "TargetPort": 8080}]}),
        ),
        ({"publish_add": ["mode=host,18080:80"]}, stored()),
        (
            {"update": {"delay": "2s", "parallelism": 1}},
            stored(UpdateConfig={**DEFAULT_POLICY, "Delay": 2 * S}),
        ),
        (
            {"rollback": {"monitor": "3s"}},
            stored(RollbackConfig={**DEFAULT_POLICY, "Monitor": 3 * S}),
        ),
    ],
)
def test_apply_changes(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    original = stored()
    assert changed(original, **changes) == expected
    assert original == stored()  # the input spec is never modified


def test_force_bumps_force_update() -> None:
    once = changed(stored(), force=True)
    assert once["TaskTemplate"]["ForceUpdate"] == 1
    assert changed(once, force=True)["TaskTemplate"]["ForceUpdate"] == 2


def test_update_policy_merges_into_the_current_one() -> None:
    current = stored(UpdateConfig={**DEFAULT_POLICY, "Parallelism": 3, "Delay": 7 * S})
    result = changed(current, update={"failure_action": "rollback"})
    assert result["UpdateConfig"] == {
        **DEFAULT_POLICY,
        "Parallelism": 3,
        "Delay": 7 * S,
        "FailureAction": "rollback",
    }


@pytest.mark.parametrize(
    ("spec", "changes", "message"),
    [
        (stored(Mode={"Global": {}}), {"replicas": 2}, "global service"),
        (stored(Mode={"ReplicatedJob": {"TotalCompletions": 1}}), {"replicas": 2}, "job"),
        (stored(), {"image": "has space"}, "image"),
        (stored(), {"env_add": ["NOEQUALS"]}, "--env-add"),
        (stored(), {"publish_add": ["8080:80/icmp"]}, "protocol"),
        (stored(EndpointSpec={"Mode": "dnsrr"}), {"publish_add": ["8080:80"]}, "dnsrr"),
        (stored(), {"replicas": -1}, "replicas"),
        (stored(), {"update": {"order": "random"}}, "order"),
        (stored(), {"imagee": "x"}, "imagee"),
        # checked even when the service publishes nothing: a typo is not "nothing to remove"
        (stored(EndpointSpec={}), {"publish_rm": ["abc"]}, "invalid --publish-rm 'abc'"),
        (stored(EndpointSpec={}), {"publish_rm": [""]}, "invalid --publish-rm ''"),
        (stored(), {"publish_rm": ["80/icmp"]}, "invalid --publish-rm '80/icmp'"),
        (stored(), {"publish_rm": ["70000"]}, "invalid --publish-rm '70000'"),
        (stored(), {"env_rm": [""]}, "invalid --env-rm ''"),
        (stored(), {"env_rm": ["=1"]}, "invalid --env-rm '=1'"),
    ],
)
def test_invalid_changes(spec: dict[str, Any], changes: dict[str, Any], message: str) -> None:
    before = copy.deepcopy(spec)
    with pytest.raises(InvalidRequest, match=message):
        changed(spec, **changes)
    assert spec == before


def test_set_replicas_refuses_global_and_jobs() -> None:
    assert set_replicas(stored(), 0)["Mode"] == {"Replicated": {"Replicas": 0}}
    for mode in ({"Global": {}}, {"GlobalJob": {}}, {"ReplicatedJob": {}}):
        with pytest.raises(InvalidRequest, match="only replicated services can be scaled"):
            set_replicas(stored(Mode=mode), 3)


@pytest.mark.parametrize(
    ("changes", "rollout"),
    [
        ({"image": "web:v2"}, True),
        ({"env_add": ["Z=1"]}, True),
        ({"force": True}, True),
        ({"publish_add": ["mode=host,9000:90"]}, True),
        ({"replicas": 7}, False),
        ({"update": {"delay": "1s"}}, False),
        ({"image": "web:v1"}, False),
    ],
)
def test_rollout_expected(changes: dict[str, Any], rollout: bool) -> None:
    assert rollout_expected(stored(), changed(stored(), **changes)) is rollout
