"""Whether an update is under way: the engine's word, or tasks still on an older spec.

Found when the CLI got faster: a second delivery of an update, sent right
after the first, read the service before swarmkit had set its UpdateStatus
and reported ``unchanged`` instead of following the rollout.
"""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.services.rolling import rollout_pending, update_in_progress

V1 = {"ContainerSpec": {"Image": "web:v1"}, "Resources": {}, "ForceUpdate": 0}
V2 = {**V1, "ContainerSpec": {"Image": "web:v2"}}


class _Tasks:
    """Only what ``rollout_pending`` asks of a gateway: the service's tasks."""

    def __init__(self, *specs: dict[str, Any]) -> None:
        self.specs = specs
        self.asked: list[Any] = []

    def tasks(self, filters: Any = None) -> list[dict[str, Any]]:
        self.asked.append(filters)
        return [{"ID": f"t{i}", "Spec": spec} for i, spec in enumerate(self.specs)]


def _service(template: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"ID": "s1", "Spec": {"Name": "web", "TaskTemplate": template}, **rest}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"State": "updating"}, True),
        ({"State": "rollback_started"}, True),
        ({"State": "completed"}, False),
        ({"State": "paused"}, False),
        (None, False),
    ],
)
def test_the_engines_update_status(status: dict[str, str] | None, expected: bool) -> None:
    assert update_in_progress(_service(V2, UpdateStatus=status)) is expected


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ((V1, V1), True),  # spec stored, rollout not begun
        ((V2, V1), True),  # half-way
        ((V2, V2), False),  # done
        ((), False),  # nothing meant to run (0 replicas)
        (({**V2, "ForceUpdate": 1},), True),  # a forced update still to come
    ],
)
def test_tasks_on_an_older_spec_mean_a_rollout_is_pending(
    tasks: tuple[dict[str, Any], ...], expected: bool
) -> None:
    gw = _Tasks(*tasks)
    assert rollout_pending(gw, _service(V2)) is expected  # type: ignore[arg-type]
    assert gw.asked == [{"service": "s1", "desired-state": "running"}]
