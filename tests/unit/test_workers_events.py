"""Typed events: JSON round trips, and how core progress reports are classified."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sparkswarm.workers.events import (
    OperationFailedEvent,
    OperationProgress,
    OperationQueued,
    ScheduleSkipped,
    TaskStateChanged,
    parse_event,
    progress_event,
)


@pytest.mark.parametrize(
    "event",
    [
        OperationQueued(
            run_id="r", op="service.scale", target="service:web", requester="a", source="cli"
        ),
        OperationFailedEvent(
            run_id="r", op="o", target="t", error="boom", error_type="Unavailable"
        ),
        TaskStateChanged(run_id="r", service="web", task="t1", state="running"),
        ScheduleSkipped(run_id="r", schedule="nightly", message="skipped"),
    ],
)
def test_every_event_survives_a_json_round_trip_as_its_own_type(event: object) -> None:
    parsed = parse_event(event.model_dump_json())  # type: ignore[attr-defined]
    assert type(parsed) is type(event)
    assert parsed == event


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_event('{"type": "operation.exploded", "run_id": "r"}')


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"service": "web", "task": "abc", "state": "running"}, TaskStateChanged),
        ({"service": "web", "task_id": "abc", "task_state": "failed"}, TaskStateChanged),
        ({"service": "web"}, OperationProgress),
        ({"task": "abc"}, OperationProgress),  # a task without a state is just progress
        ({"task": "abc", "state": 3}, OperationProgress),
        ({}, OperationProgress),
    ],
)
def test_progress_reports_naming_a_task_and_its_state_become_task_state_events(
    details: dict[str, object], expected: type
) -> None:
    event = progress_event("r", "service.update", "service:web", "msg", details)
    assert type(event) is expected
    assert event.message == "msg" and event.target == "service:web"


def test_progress_details_are_made_json_able() -> None:
    event = progress_event("r", "o", "t", "m", {"when": object, "ids": (1, object), "n": None})
    assert isinstance(event, OperationProgress)
    assert event.details["n"] is None
    assert event.details["ids"][0] == 1 and isinstance(event.details["ids"][1], str)
    assert isinstance(event.details["when"], str)
    parse_event(event.model_dump_json())
