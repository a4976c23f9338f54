"""Node spec merging, label parsing and quorum arithmetic (pure, no engine)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.nodes import (
    ManagerState,
    demotion_refusal,
    failures_tolerated,
    merge_node_spec,
    node_info,
    parse_label_assignments,
    quorum_size,
)

SPEC: dict[str, Any] = {
    "Name": "gpu-box",
    "Role": "worker",
    "Availability": "active",
    "Labels": {"zone": "a", "disk": "ssd"},
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"role": "manager"}, {**SPEC, "Role": "manager"}),
        ({"availability": "drain"}, {**SPEC, "Availability": "drain"}),
        ({"availability": "pause"}, {**SPEC, "Availability": "pause"}),
        (
            {"add_labels": {"gpu": "1"}},
            {**SPEC, "Labels": {"zone": "a", "disk": "ssd", "gpu": "1"}},
        ),
        ({"add_labels": {"zone": "b"}}, {**SPEC, "Labels": {"zone": "b", "disk": "ssd"}}),
        ({"remove_labels": ["zone"]}, {**SPEC, "Labels": {"disk": "ssd"}}),
        ({"remove_labels": ["absent"]}, SPEC),
        (
            {"role": "manager", "availability": "drain", "add_labels": {"x": ""}},
            {
                **SPEC,
                "Role": "manager",
                "Availability": "drain",
                "Labels": {**SPEC["Labels"], "x": ""},
            },
        ),
        ({}, SPEC),
    ],
)
def test_merge_node_spec_keeps_everything_not_asked_for(
    changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert merge_node_spec(SPEC, **changes) == expected


def test_merge_node_spec_does_not_mutate_its_input() -> None:
    before = {**SPEC, "Labels": dict(SPEC["Labels"])}
    merge_node_spec(before, role="manager", remove_labels=["zone"], add_labels={"k": "v"})
    assert before == {**SPEC, "Labels": dict(SPEC["Labels"])}


def test_merge_without_label_changes_leaves_a_spec_without_labels_untouched() -> None:
    # A spurious "Labels": {} would make every no-op look like a change.
    assert merge_node_spec({"Role": "worker", "Availability": "active"}, role="worker") == {
        "Role": "worker",
        "Availability": "active",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"role": "boss"},
        {"availability": "drained"},
        {"add_labels": {"": "x"}},
        {"remove_labels": [" "]},
        {"add_labels": {"zone": "b"}, "remove_labels": ["zone"]},
    ],
)
def test_merge_node_spec_refuses_bad_changes(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        merge_node_spec(SPEC, **changes)


label_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.-", min_size=1, max_size=6)
label_maps = st.dictionaries(label_keys, st.text(max_size=4), max_size=5)


@given(old=label_maps, add=label_maps, remove=st.sets(label_keys, max_size=4))
def test_merged_labels_are_old_minus_removed_plus_added(
    old: dict[str, str], add: dict[str, str], remove: set[str]
) -> None:
    remove -= set(add)
    merged = merge_node_spec({**SPEC, "Labels": old}, add_labels=add, remove_labels=remove)
    expected = {k: v for k, v in old.items() if k not in remove} | add
    assert merged["Labels"] == expected
    assert {k: merged[k] for k in ("Name", "Role", "Availability")} == {
        k: SPEC[k] for k in ("Name", "Role", "Availability")
    }


def test_parse_label_assignments() -> None:
    assert parse_label_assignments(["zone=a", "empty=", "url=a=b"]) == {
        "zone": "a",
        "empty": "",
        "url": "a=b",
    }


@pytest.mark.parametrize("bad", ["novalue", "=x", " =x"])
def test_parse_label_assignments_refuses_malformed(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_label_assignments([bad])


@pytest.mark.parametrize(
    ("managers", "quorum", "tolerated"),
    [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (7, 4, 3)],
)
def test_quorum_arithmetic(managers: int, quorum: int, tolerated: int) -> None:
    assert quorum_size(managers) == quorum
    assert failures_tolerated(managers) == tolerated


def managers(*reachable: bool) -> list[ManagerState]:
    return [ManagerState(f"m{i}", ok) for i, ok in enumerate(reachable)]


@pytest.mark.parametrize(
    ("states", "target", "refused"),
    [
        (managers(True), "m0", "last manager"),
        (managers(True, True), "m1", None),
        (managers(True, True, True), "m2", None),
        # 3 managers, one down: demoting a healthy one leaves 1 of 2 reachable.
        (managers(True, True, False), "m1", "only 1 of the 2"),
        # ... but demoting the unreachable one leaves 2 of 2.
        (managers(True, True, False), "m2", None),
        (managers(True, False), "m0", "only 0 of the 1"),
        (managers(True, True, True, True, False), "m0", None),
        (managers(True, True, True, False, False), "m0", "only 2 of the 4"),
        # Not a manager at all: nothing to refuse.
        (managers(True), "worker-1", None),
    ],
)
def test_demotion_refusal(states: list[ManagerState], target: str, refused: str | None) -> None:
    reason = demotion_refusal(states, target)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_node_info_from_engine_object() -> None:
    raw = {
        "ID": "abc",
        "Spec": {"Role": "manager", "Availability": "active", "Labels": {"a": "1"}},
        "Description": {"Hostname": "n1", "Engine": {"EngineVersion": "20.10.24"}},
        "Status": {"State": "ready", "Addr": "10.77.0.1"},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.77.0.1:2377"},
    }
    info = node_info(raw)
    assert (info.hostname, info.role, info.manager_status, info.leader) == (
        "n1",
        "manager",
        "leader",
        True,
    )
    assert info.labels == {"a": "1"} and info.engine_version == "20.10.24"
    worker = node_info({"ID": "w", "Spec": {"Role": "worker"}, "Status": {"State": "down"}})
    assert (worker.manager_status, worker.leader, worker.status) == ("", False, "down")
