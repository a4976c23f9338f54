"""Pure parts of the queue: retry delays, lock keys, record decoding, cron
parsing, the Celery message we write, and CLI commands turned into operations."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.retry import retry_delays
from sparkswarm.workers.locks import target_keys
from sparkswarm.workers.run_record import RunRecord


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
    from sparkswarm.workers.task_message import task_envelope

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


def test_the_worker_has_a_task_named_like_every_registered_operation() -> None:
    from sparkswarm.operations import all_operations
    from sparkswarm.workers.app import app
    from sparkswarm.workers.tasks import register_operation_tasks

    tasks = register_operation_tasks()
    registry = all_operations()
    assert set(registry) <= set(tasks)
    assert {
        "service.scale",
        "service.update",
        "node.drain" if "node.drain" in registry else "node.availability",
        "queue.noop",
    } <= set(app.tasks)
    for name in registry:
        assert app.tasks[name].name == name
        assert app.tasks[name].acks_late is True


def test_a_scheduled_command_is_listed_with_its_secrets_masked() -> None:
    from sparkswarm.cli.schedule import _masked_words
    from sparkswarm.requests import parse

    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    words = ["swarm", "join", "10.77.0.1:2377", f"--token={token}"]
    request = parse(words)
    assert request.op == "swarm.join" and request.params["token"] == token
    masked = _masked_words(request.op, request.params, words)
    assert masked == ["swarm", "join", "10.77.0.1:2377", "--token=***"]


def test_a_run_queued_behind_another_says_which_and_otherwise_asks_for_a_worker() -> None:
    from sparkswarm.cli.progress_display import queued_notice

    mine = RunRecord(id="r2", op="service.scale", target="service:web", created_at=0)
    ahead = RunRecord(
        id="r1", op="service.update", target="service:web", created_at=0, state="running"
    )

    waiting = queued_notice(mine, ahead, 12.0)
    alone = queued_notice(mine, None, 12.0)

    assert waiting == "r2 waits for service:web: run r1 (service.update, running) goes first"
    assert "worker" not in waiting
    assert "is a worker running" in alone and "12 s" in alone


def test_secret_parameters_are_sealed_and_opened_only_with_their_key() -> None:
    from cryptography.fernet import Fernet

    from sparkswarm.workers.sealing import seal_params, unseal_params

    key, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    params = {"name": "web", "token": "SWMTKN-1-abc", "empty": ""}

    sealed = seal_params(("token", "empty"), params, key)

    assert "SWMTKN-1-abc" not in json.dumps(sealed)
    assert sealed["name"] == "web" and sealed["empty"] == ""
    assert unseal_params(sealed, key) == params
    assert seal_params(("token",), params, None) == params  # no key: kept as given
    with pytest.raises(InvalidRequest, match="SPARKSWARM_SECRET_KEY is not set"):
        unseal_params(sealed, None)
    with pytest.raises(InvalidRequest, match="another SPARKSWARM_SECRET_KEY"):
        unseal_params(sealed, other)
    with pytest.raises(InvalidRequest, match="not a Fernet key"):
        seal_params(("token",), params, "short")


def test_the_worker_retries_only_conflicts_and_unavailable_engines() -> None:
    """runner.py retries an error only if its class says ``retryable``:
    deterministic refusals (400s, resource exhaustion) must not be."""
    from sparkswarm import errors

    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.SparkswarmError)
    ]
    retried = {c.__name__ for c in classes if c.retryable}
    # OutOfSequence is the Conflict of a stale version (re-read and resend).
    assert retried == {"Conflict", "OutOfSequence", "Unavailable"}
