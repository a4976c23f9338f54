"""Pure parts of the queue: retry delays, lock keys, record decoding, cron
parsing, the Celery message we write, and CLI commands turned into operations."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.config import retry_delays
from sparkswarm.errors import InvalidRequest
from sparkswarm.workers.locks import target_keys
from sparkswarm.workers.records import RunRecord


@pytest.mark.parametrize(
    ("attempts", "first", "cap", "expected"),
    [
        (1, 1.0, 30.0, []),
        (3, 0.5, 30.0, [0.5, 1.0]),
        (5, 1.0, 3.0, [1.0, 2.0, 3.0, 3.0]),
        (0, 1.0, 3.0, []),
    ],
)
def test_retry_delays_double_up_to_the_cap(
    attempts: int, first: float, cap: float, expected: list[float]
) -> None:
    assert retry_delays(attempts, first, cap) == expected


@given(st.integers(0, 12), st.floats(0.01, 10), st.floats(0.01, 100))
def test_retry_delays_are_bounded_and_never_shrink(attempts: int, first: float, cap: float) -> None:
    delays = retry_delays(attempts, first, cap)
    assert len(delays) == max(attempts - 1, 0)
    assert all(d <= cap for d in delays)
    assert delays == sorted(delays)


@pytest.mark.parametrize(
    ("target", "keys"),
    [
        ("service:web", ["p:lock:service:web"]),
        ("service:b,a", ["p:lock:service:a", "p:lock:service:b"]),
        ("service:a,a", ["p:lock:service:a"]),
        ("swarm", ["p:lock:swarm"]),
    ],
)
def test_a_target_locks_each_object_it_names(target: str, keys: list[str]) -> None:
    assert target_keys("p:", target) == keys


def test_a_record_decodes_from_its_redis_hash() -> None:
    record = RunRecord.from_hash(
        {
            "id": "r1",
            "op": "service.scale",
            "target": "service:web",
            "state": "failed",
            "created_at": "1700000000.5",
            "started_at": "",
            "deliveries": "2",
            "params": '{"replicas": {"web": 2}}',
            "result": "",
            "notes": "{}",
            "error": "boom",
            "error_type": "Unavailable",
        }
    )
    assert record.params == {"replicas": {"web": 2}}
    assert record.started_at is None and record.result is None
    assert record.notes == []  # Lua's cjson writes an empty list as {}
    assert record.deliveries == 2 and record.done


def test_a_record_refuses_an_unknown_state() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RunRecord.from_hash(
            {"id": "r", "op": "o", "target": "t", "state": "exploded", "created_at": "1"}
        )


@pytest.mark.parametrize(
    "cron",
    ["* * *", "61 * * * *", "* * * * * *", "a b c d e", ""],
)
def test_a_malformed_cron_is_an_invalid_request(cron: str) -> None:
    from sparkswarm.workers.schedules import parse_cron

    with pytest.raises(InvalidRequest):
        parse_cron(cron)


def test_an_unknown_timezone_is_an_invalid_request() -> None:
    from sparkswarm.workers.schedules import parse_cron

    with pytest.raises(InvalidRequest, match="timezone"):
        parse_cron("* * * * *", "Mars/Olympus_Mons")


def test_a_cron_is_read_in_its_own_timezone() -> None:
    from sparkswarm.workers.schedules import next_run, parse_cron

    # 03:00 in Seoul (UTC+9, no DST) is 18:00 UTC the day before.
    schedule = parse_cron("0 3 * * *", "Asia/Seoul")
    last = datetime.now(UTC)
    upcoming = datetime.fromisoformat(next_run(schedule, last))
    assert upcoming.utcoffset() is not None and upcoming.utcoffset().total_seconds() == 9 * 3600
    assert (upcoming.hour, upcoming.minute) == (3, 0)
    assert upcoming.astimezone(UTC).hour == 18


def test_the_message_envelope_carries_the_task_and_masked_kwargs_in_its_header() -> None:
    from sparkswarm.workers.app import app
    from sparkswarm.workers.wire import task_envelope

    raw = task_envelope(
        app,
        "service.scale",
        "r1",
        {"run_id": "r1", "params": {"pw": "s3"}},
        "q1",
        kwargs_shown={"run_id": "r1", "params": {"pw": "***"}},
    )
    envelope = json.loads(raw)
    args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    assert args == [] and kwargs == {"run_id": "r1", "params": {"pw": "s3"}}
    assert envelope["headers"]["task"] == "service.scale"
    assert envelope["headers"]["id"] == "r1"
    assert "s3" not in envelope["headers"]["kwargsrepr"]
    assert envelope["properties"]["delivery_info"] == {"exchange": "", "routing_key": "q1"}
    assert envelope["properties"]["delivery_mode"] == 2


def _capture(argv: list[str]) -> tuple[str, dict[str, Any]]:
    from sparkswarm.cli.common import capture_operation

    return capture_operation(argv)


def test_a_mutating_cli_command_is_captured_as_its_operation_without_running() -> None:
    op, params = _capture(["service", "scale", "web=3", "api=1"])
    assert op == "service.scale"
    assert params["replicas"] == {"web": 3, "api": 1}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["service", "scale", "web"], "SERVICE=REPLICAS"),
        (["service", "frobnicate"], "No such command"),
        (["service", "scale", "--help"], "nothing to schedule"),
    ],
)
def test_a_command_that_is_not_a_valid_operation_is_an_invalid_request(
    argv: list[str], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        _capture(argv)


def test_the_worker_has_a_task_named_like_every_registered_operation() -> None:
    from sparkswarm.operations import REGISTRY
    from sparkswarm.workers.app import app
    from sparkswarm.workers.tasks import register_operation_tasks

    tasks = register_operation_tasks()
    assert set(REGISTRY) <= set(tasks)
    assert {
        "service.scale",
        "service.update",
        "node.drain" if "node.drain" in REGISTRY else "node.availability",
        "queue.noop",
    } <= set(app.tasks)
    for name in REGISTRY:
        assert app.tasks[name].name == name
        assert app.tasks[name].acks_late is True


def test_a_scheduled_command_is_listed_with_its_secrets_masked() -> None:
    from sparkswarm.cli.schedule import _masked_words

    words = ["swarm", "join", "10.77.0.1:2377", "--token=SWMTKN-1-abc"]
    op, params = _capture(words)
    assert op == "swarm.join" and params["token"] == "SWMTKN-1-abc"
    assert _masked_words(op, params, words) == ["swarm", "join", "10.77.0.1:2377", "--token=***"]
