"""Plan computation: desired vs inspected specs."""

from __future__ import annotations

import copy
from typing import Any

from sparkswarm.stacks.compose_load import load_stack
from sparkswarm.stacks.convert import DesiredStack, translate
from sparkswarm.stacks.plan import canonical_spec, differences, plan_services

TEXT = """
services:
  a:
    image: img:1
    secrets: [k]
    deploy: {replicas: 2}
  b:
    image: img:1
secrets:
  k: {file: k.txt}
"""


def _desired(text: str = TEXT) -> DesiredStack:
    loaded = load_stack([("s.yml", text)], env={}, working_dir="/w", read_file=lambda p: b"secret")
    return translate("st", loaded.model)


def _as_engine_stores(spec: dict[str, Any]) -> dict[str, Any]:
    """What the engine returns for a spec the CLI created (defaults, IDs)."""
    stored = copy.deepcopy(spec)
    task = stored["TaskTemplate"]
    task["ForceUpdate"] = 0
    task["Runtime"] = "container"
    task["RestartPolicy"] = {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0}
    task["ContainerSpec"]["Isolation"] = "default"
    task["ContainerSpec"]["Image"] = spec["TaskTemplate"]["ContainerSpec"]["Image"] + "@sha256:ab"
    for ref in task["ContainerSpec"]["Secrets"]:
        ref["SecretID"] = "sid"
    for attachment in task["Networks"]:
        attachment["Target"] = "netid-" + attachment["Target"]
    default_update = {
        "Parallelism": 1,
        "FailureAction": "pause",
        "Monitor": 5_000_000_000,
        "MaxFailureRatio": 0,
        "Order": "stop-first",
    }
    stored["UpdateConfig"] = dict(default_update)
    stored["RollbackConfig"] = dict(default_update)
    stored["EndpointSpec"] = {"Mode": "vip"}
    if stored["Mode"]["Replicated"]["Replicas"] is None:
        stored["Mode"]["Replicated"]["Replicas"] = 1
    return _drop_none(stored)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def _current(desired: DesiredStack) -> dict[str, dict[str, Any]]:
    return {
        spec["Name"]: {"ID": spec["Name"], "Spec": _as_engine_stores(spec)}
        for spec in desired.services.values()
    }


NETWORKS = {"netid-st_default": "st_default"}


def test_unchanged_stack_plans_nothing() -> None:
    desired = _desired()
    plan = plan_services(desired, _current(desired), NETWORKS, prune=True)
    assert plan.to_json() == [
        {"service": "a", "action": "unchanged", "changes": []},
        {"service": "b", "action": "unchanged", "changes": []},
    ]


def test_new_changed_and_removed_services() -> None:
    current = _current(_desired())
    changed = _desired(
        TEXT.replace("replicas: 2", "replicas: 3").replace(
            "  b:\n    image: img:1\n", "  c:\n    image: img:1\n"
        )
    )
    plan = plan_services(changed, current, NETWORKS, prune=False)
    assert plan.by_action("update") == ["a"]
    assert plan.by_action("create") == ["c"]
    assert [s.changes for s in plan.services if s.name == "a"] == [["Mode.Replicated.Replicas"]]
    assert plan.by_action("remove") == []
    pruned = plan_services(changed, current, NETWORKS, prune=True)
    assert pruned.by_action("remove") == ["b"]


def test_image_change_is_an_update() -> None:
    current = _current(_desired())
    plan = plan_services(
        _desired(TEXT.replace("img:1\n    secrets", "img:2\n    secrets")),
        current,
        NETWORKS,
        prune=True,
    )
    assert plan.by_action("update") == ["a"]
    assert "TaskTemplate.ContainerSpec.Image" in plan.services[0].changes


def test_differences_paths() -> None:
    assert differences({"a": {"b": 1}}, {"a": {"b": 2}}) == ["a.b"]
    assert differences({"l": [1, 2]}, {"l": [1, 3]}) == ["l[1]"]
    assert differences({"l": [1]}, {"l": [1, 2]}) == ["l"]


def test_canonical_defaults_for_jobs() -> None:
    spec = _desired("services:\n  j:\n    image: x\n    deploy: {mode: replicated-job}\n")
    canonical = canonical_spec(spec.services["j"])
    assert canonical["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert "UpdateConfig" not in canonical
