"""The queue against hostile Redis contents (issue 21): real redis-server,
real `sparkswarm worker` processes.

- any bytes on the queue: the worker logs them, moves them aside (dead
  letters, shown by `runs dead-letters`) and keeps serving;
- a run of a queue that no worker serves is left to that queue;
- the record decides, not the message: a message whose operation or
  parameters are not its record's is refused, and a ``local`` operation
  never runs on a worker.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.queue_harness import (
    QueueLab,
    executions,
    holds_for,
    queue_lab,
    recovery_cycle,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(lab: QueueLab) -> Any:
    return lab.start_worker(concurrency=2)


@pytest.fixture
def qc(lab: QueueLab) -> Any:
    return lab.client()


def dead_letters(qc: Any) -> list[Any]:
    return list(qc.dead_letters(1000))


def raw_text(letter: Any) -> str:
    return base64.b64decode(letter.raw_b64).decode(errors="replace")


def envelope(lab: QueueLab, task: str, kwargs: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A message as kombu writes it, with top-level ``changes``."""
    from sparkswarm.workers.app import app
    from sparkswarm.workers.task_message import task_envelope

    message = json.loads(task_envelope(app, task, f"id-{time.time_ns()}", kwargs, lab.queue))
    message.update(changes)
    return message


def test_a_worker_survives_any_bytes_on_its_queue_and_moves_them_aside(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    valid = envelope(lab, "queue.noop", {"run_id": "x", "params": {}})
    no_info = json.loads(json.dumps(valid))
    del no_info["properties"]["delivery_info"]
    poison: list[bytes] = [
        b"not json",
        b"[1,2,3]",
        b"42",
        b"null",
        b'"a string"',
        b"{}",
        b"\xff\xfe\x00 not utf-8",
        json.dumps({**valid, "body": "%%% not base64 %%%"}).encode(),
        json.dumps(no_info).encode(),
        json.dumps({**valid, "headers": [1, 2]}).encode(),
        json.dumps(envelope(lab, "no.such.task", {"run_id": "y", "params": {}})).encode(),
        json.dumps({**valid, "body": base64.b64encode(b"not json either").decode()}).encode(),
    ]
    import redis

    before = len(dead_letters(qc))
    raw = redis.Redis.from_url(lab.url)  # bytes in, as `redis-cli lpush` writes them
    for item in poison:
        raw.lpush(lab.queue, item)

    # The worker keeps serving: a run submitted behind the poison succeeds.
    run = qc.submit("queue.noop", {"after": "poison"}, requester="t", source="api")
    assert qc.wait(run.run_id, 60).state == "succeeded", worker.tail()
    assert worker.alive(), worker.tail()
    wait_for(lambda: len(dead_letters(qc)) - before >= len(poison), 30, "every item moved aside")

    letters = dead_letters(qc)[: len(dead_letters(qc)) - before]
    kept = {base64.b64decode(letter.raw_b64) for letter in letters}
    for item in poison[:10]:  # kept exactly as they were on the list
        assert item in kept, (item, [letter.reason for letter in letters])
    reasons = " | ".join(letter.reason for letter in letters)
    assert "not JSON" in reasons and "not a kombu envelope" in reasons
    assert "body does not decode" in reasons and "unknown task" in reasons
    assert all(letter.queue == lab.queue for letter in letters)
    assert "Unrecoverable error" not in worker.output()

    shown = lab.cli("runs", "dead-letters", "--limit", "100")
    assert shown.returncode == 0, shown.stderr
    assert "not JSON" in shown.stdout and "not a kombu envelope" in shown.stdout
    as_json = lab.cli("runs", "dead-letters", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert len(json.loads(as_json.stdout)) == len(letters) + before
    refused = lab.cli("runs", "dead-letters", "--limit", "0")
    assert refused.returncode == 2 and "--limit" in refused.stderr

    doctor = lab.cli("swarm", "doctor", "--no-overlay-test", "--json")
    queue_checks = [c for c in json.loads(doctor.stdout) if c["name"] == "queue"]
    assert len(queue_checks) == 1, doctor.stdout
    assert queue_checks[0]["status"] == "warn"
    assert "moved aside" in queue_checks[0]["summary"]
    assert "runs dead-letters" in queue_checks[0]["fix"]


def test_a_run_of_a_queue_no_worker_serves_is_left_to_that_queue(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.events import OperationStarted

    other = QueueClient(replace(lab.settings(), queue=f"{lab.queue}-adv"))
    key = f"adv-{time.time_ns()}"
    waiting = other.submit("test.sleep", {"key": key}, requester="t", source="api")
    # A run of that queue whose worker died right after starting it.
    orphan = other.submit("test.sleep", {"key": f"{key}-o"}, requester="t", source="api")
    taken = [m for m in other.redis.lrange(other.settings.queue, 0, -1) if orphan.run_id in m]
    assert other.redis.lrem(other.settings.queue, 0, taken[0]) == 1  # taken by that worker
    started = OperationStarted(run_id=orphan.run_id, op="test.sleep", target=f"test:{key}-o")
    outcome, *_ = other.store.claim(
        run_id=orphan.run_id,
        worker="dead-worker",
        lock_keys=[],
        event_json=started.model_dump_json(),
        heartbeat_ttl=0.2,
        lock_ttl=0.2,
        max_deliveries=3,
    )
    assert outcome == "started"

    # The default queue's worker passes over both, through several recovery
    # cycles and lost-message sweeps.
    def untouched() -> bool:
        first, second = qc.get(waiting.run_id), qc.get(orphan.run_id)
        return (
            first.state == "queued"
            and first.deliveries == 0
            and second.deliveries == 1
            and not executions(qc, key)
            and not executions(qc, f"{key}-o")
            and qc.redis.llen(lab.queue) == 0
        )

    settings = lab.settings()
    holds_for(untouched, recovery_cycle(settings) + 2 * settings.lost_after, "runs of advq left")
    assert qc.redis.llen(other.settings.queue) == 1  # its message is still there

    # A worker of that queue runs both, once each.
    lab.start_worker(concurrency=2, SPARKSWARM_QUEUE=other.settings.queue)
    assert qc.wait(waiting.run_id, 60).state == "succeeded"
    assert qc.wait(orphan.run_id, 60).state == "succeeded"
    assert [e.split()[0] for e in executions(qc, key)] == ["start", "end"]
    assert [e.split()[0] for e in executions(qc, f"{key}-o")] == ["start", "end"]


def test_two_copies_of_a_message_on_two_threads_of_one_worker_run_once(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    # Two copies of one run's message (a lost-message sweep racing the
    # message's move between Redis lists) reach two threads of one worker
    # process, whose heartbeat token is the same.
    key = f"twice-{time.time_ns()}"
    other = replace(lab.settings(), queue=f"{lab.queue}-twice")
    from sparkswarm.workers.client import QueueClient

    held = QueueClient(other)  # no worker serves this queue: the message waits
    run = held.submit("test.sleep", {"key": key, "seconds": 1}, requester="t", source="api")
    message = held.redis.rpop(other.queue)
    record = held.get(run.run_id)
    held.redis.hset(held.store.run_key(run.run_id), "queue", lab.queue)
    copy = held.message_for(record.op, run.run_id, record.params)
    for each in (message, copy):
        qc.redis.lpush(lab.queue, each.replace(other.queue, lab.queue))

    assert qc.wait(run.run_id, 60).state == "succeeded"
    holds_for(lambda: len(executions(qc, key)) == 2, 3, "one execution (start, end)")
    assert qc.get(run.run_id).deliveries == 1


def forge(
    qc: Any,
    lab: QueueLab,
    *,
    op: str,
    params: dict[str, Any],
    task: str | None = None,
    message_params: dict[str, Any] | None = None,
) -> str:
    """A record and its message written straight into Redis (not by ``submit``)."""
    from sparkswarm.operations import get_operation
    from sparkswarm.workers.app import app
    from sparkswarm.workers.events import OperationQueued
    from sparkswarm.workers.locks import target_keys
    from sparkswarm.workers.run_record import RunRecord
    from sparkswarm.workers.task_message import task_envelope

    run_id = f"forged-{time.time_ns()}"
    target = get_operation(op).target(params)
    record = RunRecord(
        id=run_id,
        op=op,
        target=target,
        requester="mallory",
        source="api",
        params=params,
        created_at=time.time(),
        queue=lab.queue,
    )
    kwargs = {"run_id": run_id, "params": params if message_params is None else message_params}
    message = task_envelope(app, task or op, run_id, kwargs, lab.queue)
    event = OperationQueued(run_id=run_id, op=op, target=target)
    created, _ = qc.store.create(
        record,
        params,
        event.model_dump_json(),
        queue_key=lab.queue,
        message=message,
        lock_keys=target_keys(qc.settings.key_prefix, target),
    )
    assert created
    return run_id


def test_a_message_whose_parameters_are_not_its_record_s_is_refused_and_the_record_runs(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    recorded, sent = f"advRECORDED-{time.time_ns()}", f"advMESSAGE-{time.time_ns()}"
    run_id = forge(qc, lab, op="test.sleep", params={"key": recorded}, message_params={"key": sent})

    # The forged message is refused; recovery writes the record's own message
    # (the run's message is nowhere) and that one runs.
    record = qc.wait(run_id, 60)
    assert record.state == "succeeded", record
    assert executions(qc, sent) == []
    assert [e.split()[0] for e in executions(qc, recorded)] == ["start", "end"]
    assert record.deliveries == 1
    refused = [letter for letter in dead_letters(qc) if run_id in raw_text(letter)]
    assert len(refused) == 1 and "parameters are not its record's" in refused[0].reason
    assert sent in raw_text(refused[0])


def test_a_message_of_another_operation_than_its_record_is_refused(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    key = f"other-op-{time.time_ns()}"
    run_id = forge(qc, lab, op="test.sleep", params={"key": key}, task="queue.noop")

    record = qc.wait(run_id, 60)
    assert record.state == "succeeded" and record.result and record.result["key"] == key
    refused = [letter for letter in dead_letters(qc) if run_id in raw_text(letter)]
    assert len(refused) == 1 and "of operation 'test.sleep'" in refused[0].reason


def test_a_local_operation_written_into_redis_never_runs_on_a_worker(
    lab: QueueLab, worker: Any, qc: Any, gw: Any
) -> None:
    # swarm.join is local (it would join the worker's own engine to another
    # swarm); this engine is in a swarm already, so it would refuse anyway.
    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    run_id = forge(qc, lab, op="swarm.join", params={"token": "***", "remote": "10.77.0.9:2377"})
    qc.redis.set(
        qc.store.params_key(run_id), json.dumps({"token": token, "remote": "10.77.0.9:2377"})
    )

    record = qc.wait(run_id, 60)
    assert record.state == "failed" and record.error_type == "InvalidRequest", record
    assert "a worker never runs it" in (record.error or "")
    assert record.deliveries == 0 and record.started_at is None
    kinds = [e.type for _sid, e in qc.events.read("0-0", count=100_000) if e.run_id == run_id]
    assert "operation.started" not in kinds
    assert gw.info()["Swarm"]["LocalNodeState"] == "active"


def test_a_record_of_an_unknown_operation_is_failed_by_recovery_not_requeued(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    from sparkswarm.workers.events import OperationQueued
    from sparkswarm.workers.run_record import RunRecord

    # Records alone (no message): only recovery could queue them. One of an
    # operation nobody registered, and an ordinary run whose message was lost.
    def record_alone(op: str, params: dict[str, Any]) -> str:
        run_id = f"alone-{time.time_ns()}"
        record = RunRecord(
            id=run_id,
            op=op,
            target=f"test:{run_id}",
            requester="mallory",
            source="api",
            params=params,
            created_at=time.time(),
            queue=lab.queue,
        )
        event = OperationQueued(run_id=run_id, op=op, target=record.target)
        assert qc.store.create(record, params, event.model_dump_json())[0]
        return run_id

    unknown = record_alone("no.such.op", {"x": 1})
    key = f"lost-{time.time_ns()}"
    lost = record_alone("test.sleep", {"key": key})

    failed = qc.wait(unknown, 60)
    assert failed.state == "failed" and "'no.such.op' is unknown here" in (failed.error or "")
    assert failed.deliveries == 0
    # The unknown one did not stop recovery: the lost run was re-queued and ran.
    assert qc.wait(lost, 60).state == "succeeded"
    assert [e.split()[0] for e in executions(qc, key)] == ["start", "end"]


def test_the_heartbeat_refresh_of_a_run_that_just_finished_leaves_its_target_free(
    lab: QueueLab,
) -> None:
    # The heartbeat thread snapshots the runs it holds, then refreshes them;
    # a run may finish in between. Its refresh must not take the target lock
    # back (the next run of the target would wait for it to expire).
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.events import OperationStarted, OperationSucceeded
    from sparkswarm.workers.locks import target_keys

    settings = replace(lab.settings(), queue=f"{lab.queue}-refresh", key_prefix="refresh:")
    qc = QueueClient(settings)  # no worker serves this queue
    key = f"refresh-{time.time_ns()}"
    run = qc.submit("test.sleep", {"key": key}, requester="t", source="api")
    locks = target_keys(settings.key_prefix, f"test:{key}")
    started = OperationStarted(run_id=run.run_id, op="test.sleep", target=f"test:{key}")
    outcome, *_ = qc.store.claim(
        run_id=run.run_id,
        worker="w",
        lock_keys=locks,
        event_json=started.model_dump_json(),
        heartbeat_ttl=10,
        lock_ttl=30,
        max_deliveries=3,
    )
    assert outcome == "started"
    qc.redis.pexpire(locks[0], 500)
    assert qc.store.refresh(run.run_id, "w", locks, heartbeat_ttl=10, lock_ttl=30) == 1
    assert qc.redis.pttl(locks[0]) > 20_000 and qc.redis.get(locks[0]) == run.run_id

    done = OperationSucceeded(run_id=run.run_id, op="test.sleep", target=f"test:{key}")
    state = qc.store.finish(
        run.run_id, "succeeded", done.model_dump_json(), worker="w", lock_keys=locks
    )
    assert state == "ok" and not qc.redis.exists(locks[0])
    assert qc.store.refresh(run.run_id, "w", locks, heartbeat_ttl=10, lock_ttl=30) == -1
    assert not qc.redis.exists(locks[0])
    assert not qc.redis.exists(qc.store.heartbeat_key(run.run_id))


def test_a_run_parked_behind_another_queue_s_run_is_woken_onto_its_own_queue(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.locks import target_keys

    other = QueueClient(replace(lab.settings(), queue=f"{lab.queue}-fifo"))
    key = f"fifo-{time.time_ns()}"
    # The same target on two queues: A (ours) runs, B (the other queue's) waits.
    first = qc.submit("test.sleep", {"key": key, "seconds": 2}, requester="t", source="api")
    wait_for(lambda: qc.get(first.run_id).state == "running", 30, "A to start")
    second = other.submit("test.sleep", {"key": key}, requester="t", source="api")
    message = other.redis.rpop(other.settings.queue)  # taken by a worker of that queue,
    locks = target_keys(other.settings.key_prefix, f"test:{key}")
    assert other.store.park(second.run_id, "w", locks, message)  # which parked it

    # A ends and wakes B: onto B's queue, which no worker serves yet.
    assert qc.wait(first.run_id, 60).state == "succeeded"
    wait_for(lambda: other.redis.llen(other.settings.queue) == 1, 10, "B back on its queue")
    holds_for(
        lambda: qc.get(second.run_id).state == "queued" and len(executions(qc, key)) == 2,
        3,
        "B left to its queue",
    )
    lab.start_worker(concurrency=1, SPARKSWARM_QUEUE=other.settings.queue)
    assert qc.wait(second.run_id, 60).state == "succeeded"
    assert [e.split()[0] for e in executions(qc, key)] == ["start", "end", "start", "end"]


def test_a_record_holds_any_text_it_was_submitted_with_exactly(lab: QueueLab) -> None:
    """The record's fields reach ``lua.CREATE`` as one JSON argument: text
    that JSON escapes (quotes, backslashes, control characters, NUL,
    non-ASCII, U+2028) is stored as given, numbers as redis-py writes them."""
    from sparkswarm.workers.client import QueueClient

    qc = QueueClient(replace(lab.settings(), queue=f"{lab.queue}-text"))  # no worker runs it
    text = 'é "q" \\ \n\t\x00\x01\x7f \u2028 😀 <&>'
    params = {"key": text, "n": None, "f": 0.1, "big": 2**70, "nested": [text, {"k": text}]}
    run = qc.submit("test.sleep", params, requester=text, source="api", schedule=text)
    stored = qc.redis.hgetall(qc.store.run_key(run.run_id))
    record = qc.get(run.run_id)
    assert (record.requester, record.schedule, record.params) == (text, text, params)
    assert stored["params"] == json.dumps(params)
    assert stored["created_at"] == repr(record.created_at)
    assert (stored["state"], stored["deliveries"], stored["notes"]) == ("queued", "0", "[]")
    assert stored["target"] == f"test:{text}" and int(stored["seq"]) >= 1
