"""Admission limits and sane numbers (sparkswarm.limits), table style, no engine."""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm import limits
from sparkswarm.errors import InvalidRequest
from sparkswarm.limits import Limits, NodeCapacity
from sparkswarm.services.changes import ServiceChanges, apply_changes
from sparkswarm.services.replicas import parse_scale_pairs
from sparkswarm.services.specs import ServiceOptions, build_service_spec
from sparkswarm.stacks.convert import translate

SMALL = Limits(max_replicas=5, max_stack_replicas=8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("3", 3), (" 12 ", 12), ("007", 7)],
)
def test_parse_count_accepts_ascii_digits(text: str, expected: int) -> None:
    assert limits.parse_count(text, "count") == expected


@pytest.mark.parametrize(
    "text", ["²", "\u0661", "\uff11", "-1", "+3", "1.5", "1e3", "", " ", "nan", "inf", "3x", "0x10"]
)
def test_parse_count_refuses_everything_else(text: str) -> None:
    with pytest.raises(InvalidRequest, match="not a whole number"):
        limits.parse_count(text, "count")


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (-1, "0 or more"),
        (6, "over the limit of 5 per service.*SPARKSWARM_MAX_REPLICAS"),
        (99_999_999_999, "SPARKSWARM_MAX_REPLICAS"),
        (True, "whole number"),
        (2.0, "whole number"),
    ],
)
def test_check_replicas_refuses(count: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        limits.check_replicas(count, service="web", limits=SMALL)


@pytest.mark.parametrize("count", [0, 1, 5])
def test_check_replicas_accepts_up_to_the_limit(count: int) -> None:
    assert limits.check_replicas(count, service="web", limits=SMALL) == count


def test_default_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkswarm.config import get_settings

    monkeypatch.delenv("SPARKSWARM_MAX_REPLICAS", raising=False)
    monkeypatch.delenv("SPARKSWARM_MAX_STACK_REPLICAS", raising=False)
    get_settings.cache_clear()
    assert limits.configured_limits() == Limits(100, 200)
    monkeypatch.setenv("SPARKSWARM_MAX_REPLICAS", "7")
    monkeypatch.setenv("SPARKSWARM_MAX_STACK_REPLICAS", "9")
    get_settings.cache_clear()
    try:
        assert limits.configured_limits() == Limits(7, 9)
        with pytest.raises(InvalidRequest, match="limit of 7"):
            limits.check_replicas(8, service="web")
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("mode", "tasks"),
    [
        ({"Replicated": {"Replicas": 4}}, 4),
        ({"Replicated": {"Replicas": None}}, 1),
        ({"Replicated": {}}, 1),
        ({"Global": {}}, 0),
        ({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 10}}, 2),
        ({"ReplicatedJob": {"MaxConcurrent": None, "TotalCompletions": None}}, 1),
        (None, 0),
    ],
)
def test_mode_tasks(mode: dict[str, Any] | None, tasks: int) -> None:
    assert limits.mode_tasks(mode) == tasks


@pytest.mark.parametrize(
    "mode",
    [
        {"Replicated": {"Replicas": 6}},
        {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 6}},
        {"ReplicatedJob": {"MaxConcurrent": 6, "TotalCompletions": 1}},
    ],
)
def test_check_mode_refuses_each_count(mode: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="SPARKSWARM_MAX_REPLICAS"):
        limits.check_mode(mode, service="job", limits=SMALL)


@pytest.mark.parametrize(
    ("tasks", "ok"),
    [
        ({"a": 4, "b": 4}, True),
        ({"a": 4, "b": 4, "c": 1}, False),
        ({"a": 5, "b": 5}, False),
        ({}, True),
    ],
)
def test_check_stack_total(tasks: dict[str, int], ok: bool) -> None:
    if ok:
        assert limits.check_stack_total("st", tasks, limits=SMALL) == sum(tasks.values())
    else:
        with pytest.raises(InvalidRequest, match=r"stack st.*SPARKSWARM_MAX_STACK_REPLICAS"):
            limits.check_stack_total("st", tasks, limits=SMALL)


@pytest.mark.parametrize(
    "seconds", [-1, 0, -0.5, float("nan"), float("inf"), float("-inf"), 10**9, "300", True]
)
def test_check_wait_refuses(seconds: Any) -> None:
    with pytest.raises(InvalidRequest, match="--timeout"):
        limits.check_wait(seconds)


@pytest.mark.parametrize("seconds", [0.1, 1, 300, 7 * 24 * 3600])
def test_check_wait_accepts(seconds: float) -> None:
    assert limits.check_wait(seconds) == seconds


NODES = [NodeCapacity("a", 2 * 10**9, 4 * 2**30), NodeCapacity("b", 8 * 10**9, 1 * 2**30)]


@pytest.mark.parametrize(
    ("reservation", "ok"),
    [
        ({"NanoCPUs": 2 * 10**9, "MemoryBytes": 4 * 2**30}, True),  # node a exactly
        ({"NanoCPUs": 8 * 10**9}, True),  # node b
        ({"NanoCPUs": 4 * 10**9, "MemoryBytes": 2 * 2**30}, False),  # each node lacks one
        ({"NanoCPUs": 16 * 10**9}, False),
        ({"MemoryBytes": 5 * 2**30}, False),
        ({}, True),
        (None, True),
    ],
)
def test_check_reservation(reservation: dict[str, int] | None, ok: bool) -> None:
    if ok:
        limits.check_reservation("web", reservation, NODES)
    else:
        with pytest.raises(InvalidRequest, match=r"no node has that much.*pending"):
            limits.check_reservation("web", reservation, NODES)


def test_check_reservation_without_nodes_judges_nothing() -> None:
    limits.check_reservation("web", {"NanoCPUs": 10**15}, [])


def test_node_capacities_keeps_ready_active_nodes() -> None:
    def node(host: str, state: str, availability: str) -> dict[str, Any]:
        return {
            "ID": host,
            "Status": {"State": state},
            "Spec": {"Availability": availability},
            "Description": {
                "Hostname": host,
                "Resources": {"NanoCPUs": 10**9, "MemoryBytes": 2**30},
            },
        }

    nodes = [node("up", "ready", "active"), node("down", "down", "active")]
    nodes.append(node("drained", "ready", "drain"))
    assert limits.node_capacities(nodes) == [NodeCapacity("up", 10**9, 2**30)]


# --- the translators call the checks -------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["web=²"], "not a whole number"),
        (["web=\u0661"], "not a whole number"),
        (["web=\uff11"], "not a whole number"),
        (["web=-1"], "not a whole number"),
        (["web=99999999999"], "SPARKSWARM_MAX_REPLICAS"),
        (["web"], "SERVICE=REPLICAS"),
        (["=3"], "SERVICE=REPLICAS"),
        (["bad name!=3"], "invalid service name"),
        ([], "nothing to scale"),
    ],
)
def test_parse_scale_pairs_refuses(pairs: list[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_scale_pairs(pairs)


def test_parse_scale_pairs() -> None:
    assert parse_scale_pairs(["web=3", "api=0"]) == {"web": 3, "api": 0}


@pytest.mark.parametrize(
    "options",
    [
        {"replicas": 101},
        {"mode": "replicated-job", "replicas": 101},
        {"mode": "replicated-job", "replicas": 2, "max_concurrent": 101},
    ],
)
def test_build_service_spec_refuses_replicas_over_the_limit(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="SPARKSWARM_MAX_REPLICAS"):
        build_service_spec("web", "busybox", ServiceOptions(**options))


def test_service_update_refuses_replicas_over_the_limit() -> None:
    spec = {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}}, "TaskTemplate": {}}
    with pytest.raises(InvalidRequest, match="SPARKSWARM_MAX_REPLICAS"):
        apply_changes(spec, ServiceChanges(replicas=99_999_999_999))


def _model(**replicas: int | None) -> dict[str, Any]:
    return {
        "services": {
            name: {"image": "busybox", "deploy": {"replicas": count}}
            for name, count in replicas.items()
        },
        "networks": {},
        "volumes": {},
        "secrets": {},
        "configs": {},
    }


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        ({"a": 101}, "st_a is over the limit of 100 per service"),
        ({"a": -1}, "0 or more"),
        ({"a": 90, "b": 90, "c": 90}, "270 replicas.*limit of 200 per stack"),
    ],
)
def test_translate_refuses_compose_replicas(replicas: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        translate("st", _model(**replicas))


def test_translate_accepts_up_to_the_limits() -> None:
    desired = translate("st", _model(a=100, b=99, c=None))
    assert desired.services["a"]["Mode"] == {"Replicated": {"Replicas": 100}}


# --- the request layer (CLI --detach, schedules, the bot) refuses before submitting ---


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["service", "scale", "web=99999999999"], "SPARKSWARM_MAX_REPLICAS"),
        (["service", "scale", "web=\u00b2"], "not a whole number"),
        (["service", "create", "web", "busybox", "--replicas", "101"], "SPARKSWARM_MAX_REPLICAS"),
        (["service", "update", "web", "--replicas", "101"], "SPARKSWARM_MAX_REPLICAS"),
        (["service", "update", "web", "--env-add", "A=1", "--timeout", "nan"], "--timeout"),
        (["service", "rollback", "web", "--timeout", "1e9"], "--timeout"),
        (["stack", "deploy", "spark", "--set", "workers=500"], "spark_worker.*MAX_REPLICAS"),
    ],
)
def test_parse_refuses_before_anything_is_submitted(words: list[str], message: str) -> None:
    from sparkswarm.requests import parse

    with pytest.raises(InvalidRequest, match=message):
        parse(words)
