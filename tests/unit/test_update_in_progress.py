"""``update_in_progress``: a rollout the engine has not started yet counts.

Found when the CLI got faster: a second delivery of an update, sent right
after the first, read the service before swarmkit had set its UpdateStatus
and reported ``unchanged`` instead of following the rollout.
"""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm.services.ops import update_in_progress

OLD = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "web:v1"}}}
NEW = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "web:v2"}}}
RELABELLED = {**OLD, "Labels": {"team": "a"}}


def service(spec: dict[str, Any], previous: dict[str, Any] | None, **rest: Any) -> dict[str, Any]:
    return {"Spec": spec, "PreviousSpec": previous, **rest}


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        (service(NEW, OLD, UpdateStatus={"State": "updating"}), True),
        (service(NEW, OLD, UpdateStatus={"State": "rollback_started"}), True),
        # stored a moment ago, the engine has not begun: no status yet, or an older one
        (service(NEW, OLD, UpdatedAt="2026-12-01T03:00:00.5Z"), True),
        (
            service(
                NEW,
                OLD,
                UpdatedAt="2026-12-01T03:00:00.5Z",
                UpdateStatus={"State": "completed", "StartedAt": "2026-12-01T02:00:00.123456789Z"},
            ),
            True,
        ),
        # begun after the spec was stored, and finished
        (
            service(
                NEW,
                OLD,
                UpdatedAt="2026-12-01T03:00:00.5Z",
                UpdateStatus={"State": "completed", "StartedAt": "2026-12-01T03:00:00.50001Z"},
            ),
            False,
        ),
        # a change that replaces no task never starts a rollout
        (service(RELABELLED, OLD, UpdatedAt="2026-12-01T03:00:00Z"), False),
        (service(OLD, None, UpdatedAt="2026-12-01T03:00:00Z"), False),
        (service(NEW, OLD, UpdatedAt="yesterday"), False),
    ],
)
def test_update_in_progress(svc: dict[str, Any], expected: bool) -> None:
    assert update_in_progress(svc) is expected
