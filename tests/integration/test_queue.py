"""The queue end to end: real redis-server, real `sparkswarm worker` processes,
real swarm operations where the test is about them.

Covers records and events, idempotency keys, serialisation by target,
bounded retries when the engine is unreachable, cancel, the message format,
and the CLI going through the queue.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.queue_harness import (
    SPARKSWARM,
    QueueLab,
    executions,
    holds_for,
    queue_lab,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("queue")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(lab: QueueLab) -> Any:
    return lab.start_worker(concurrency=4)


@pytest.fixture
def qc(lab: QueueLab) -> Any:
    return lab.client()


def events_of(qc: Any, run_id: str) -> list[Any]:
    return [event for _sid, event in qc.events.read("0-0", count=100_000) if event.run_id == run_id]


def test_a_run_is_recorded_with_its_events_and_masked_secrets(worker: Any, qc: Any) -> None:
    submission = qc.submit(
        "test.sleep",
        {"key": "rec", "seconds": 0.2, "password": "hunter2"},
        requester="alice@test",
        source="slack",
    )
    record = qc.wait(submission.run_id, 30)

    assert record.state == "succeeded"
    assert record.requester == "alice@test" and record.source == "slack"
    assert record.target == "test:rec"
    assert record.params == {"key": "rec", "seconds": 0.2, "password": "***"}
    assert record.deliveries == 1 and record.retries == 0
    assert record.result is not None and record.result["key"] == "rec"
    assert record.created_at <= record.started_at <= record.finished_at  # type: ignore[operator]
    types = [event.type for event in events_of(qc, submission.run_id)]
    assert types == [
        "operation.queued",
        "operation.started",
        "operation.progress",
        "operation.succeeded",
    ]
    raw = json.dumps([e.model_dump() for e in events_of(qc, submission.run_id)])
    assert "hunter2" not in raw
    assert "hunter2" not in json.dumps(qc.redis.hgetall(qc.store.run_key(submission.run_id)))
    # The unmasked parameters were only kept until the run ended.
    assert qc.store.execution_params(submission.run_id) is None
    assert [r.id for r in qc.list(target="rec")][:1] == [submission.run_id]


def test_the_same_idempotency_key_submitted_concurrently_executes_once(
    worker: Any, qc: Any
) -> None:
    key = f"idem-{time.time_ns()}"
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait()
        results.append(
            qc.submit(
                "test.sleep", {"key": key, "seconds": 0.5}, requester="t", source="api", key=key
            )
        )

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {r.run_id for r in results} == {key}
    assert sum(r.created for r in results) == 1
    assert qc.wait(key, 30).state == "succeeded"
    # The idle worker would take a duplicate message at once; none runs.
    holds_for(
        lambda: [e.split()[0] for e in executions(qc, key)] == ["start", "end"],
        3,
        "a single execution",
    )
    again = qc.submit(
        "test.sleep", {"key": key, "seconds": 0.5}, requester="t", source="api", key=key
    )
    assert not again.created


def test_operations_on_one_target_never_interleave_and_different_targets_run_in_parallel(
    worker: Any, qc: Any
) -> None:
    same = [
        qc.submit("test.sleep", {"key": "same", "seconds": 1.0}, requester="t", source="api")
        for _ in range(3)
    ]
    # Long enough that the two overlap even when the second starts late on a
    # loaded machine (it waits for a slot that a parking run frees).
    other = [
        qc.submit("test.sleep", {"key": f"other{i}", "seconds": 2.0}, requester="t", source="api")
        for i in range(2)
    ]
    same_records = sorted((qc.wait(s.run_id, 60) for s in same), key=lambda r: r.started_at)
    other_records = [qc.wait(s.run_id, 60) for s in other]

    assert all(r.state == "succeeded" for r in same_records + other_records)
    for before, after in itertools.pairwise(same_records):
        assert after.result["started"] >= before.result["finished"]  # type: ignore[index]
    a, b = (r.result for r in other_records)
    assert a["started"] < b["finished"] and b["started"] < a["finished"]  # type: ignore[index]
    # The waiting runs said what they waited for.
    waited = [e for s in same for e in events_of(qc, s.run_id) if e.type == "operation.waiting"]
    assert waited and all("test:same" in e.message for e in waited)


def test_two_scale_operations_on_one_service_run_one_after_the_other(
    worker: Any, qc: Any, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    first, second = name("web1"), name("web2")
    for service in (first, second):
        create = qc.submit(
            "service.create",
            {"name": service, "image": web_images["v1"], "replicas": 1},
            requester="t",
            source="api",
        )
        assert qc.wait(create.run_id, 90).state == "succeeded"

    one = [
        qc.submit("service.scale", {"replicas": {first: n}}, requester="t", source="api")
        for n in (3, 1)
    ]
    one_records = [qc.wait(s.run_id, 120) for s in one]
    two = [
        qc.submit("service.scale", {"replicas": {svc: 3}}, requester="t", source="api")
        for svc in (first, second)
    ]
    two_records = [qc.wait(s.run_id, 120) for s in two]

    assert [r.state for r in one_records + two_records] == ["succeeded"] * 4
    early, late = sorted(one_records, key=lambda r: r.started_at)
    assert late.started_at >= early.finished_at  # type: ignore[operator]
    a, b = two_records
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # type: ignore[operator]
    # The last scale on the first service is what the swarm has now (3).
    spec = gw.inspect_service(first)["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 3


def test_an_unreachable_engine_fails_after_bounded_retries_and_the_worker_keeps_serving(
    lab: QueueLab, qc: Any
) -> None:
    lost = lab.start_worker(
        concurrency=2,
        SPARKSWARM_MANAGERS="unix:///nonexistent.sock",
        SPARKSWARM_QUEUE=f"{lab.queue}-lost",
    )
    try:
        settings = replace(lab.settings(), queue=f"{lab.queue}-lost")
        from sparkswarm.workers.client import QueueClient

        lost_qc = QueueClient(settings)
        started = time.monotonic()
        run = lost_qc.submit("service.scale", {"replicas": {"web": 2}}, requester="t", source="api")
        record = lost_qc.wait(run.run_id, 60)
        took = time.monotonic() - started

        assert record.state == "failed"
        assert record.error_type == "Unavailable"
        assert "no swarm manager reachable" in (record.error or "")
        assert "gave up after 3 attempts" in (record.error or "")
        assert record.retries == 2 and record.deliveries == 1
        assert took >= 0.5 + 1.0  # the backoff: 0.5 s, then 1 s
        retrying = [e for e in events_of(lost_qc, run.run_id) if e.type == "operation.retrying"]
        assert [e.delay for e in retrying] == [0.5, 1.0]
        assert all("no swarm manager reachable" in e.error for e in retrying)

        # A request that is the user's fault is never retried.
        bad = lost_qc.submit("service.scale", {"replicas": {}}, requester="t", source="api")
        bad_record = lost_qc.wait(bad.run_id, 30)
        assert bad_record.state == "failed" and bad_record.error_type == "InvalidRequest"
        assert bad_record.retries == 0

        # The same worker still serves.
        ok = lost_qc.submit("queue.noop", {}, requester="t", source="api")
        assert lost_qc.wait(ok.run_id, 30).state == "succeeded"
        assert lost.alive()
    finally:
        lost.stop()


def test_a_queued_run_can_be_cancelled_and_then_never_runs(worker: Any, qc: Any) -> None:
    from sparkswarm.errors import Conflict

    key = f"cancel-{time.time_ns()}"
    first = qc.submit("test.sleep", {"key": key, "seconds": 3}, requester="t", source="api")
    wait_for(lambda: qc.get(first.run_id).state == "running", 20, "the first run to start")
    second = qc.submit("test.sleep", {"key": key, "seconds": 0}, requester="t", source="api")
    cancelled = qc.cancel(second.run_id, requester="bob")
    with pytest.raises(Conflict):
        qc.cancel(first.run_id, requester="bob")

    assert cancelled.state == "cancelled" and cancelled.error == "cancelled by bob"
    assert qc.wait(first.run_id, 30).state == "succeeded"
    # The cancelled run's message is still delivered (to the idle worker, at
    # once, or when the first run's lock wakes it); it must not run.
    holds_for(
        lambda: (
            qc.get(second.run_id).state == "cancelled"
            and len([e for e in executions(qc, key) if e.startswith("start")]) == 1
        ),
        3,
        "the cancelled run staying cancelled and unrun",
    )


def test_the_message_we_write_is_the_one_kombu_writes(lab: QueueLab, qc: Any) -> None:
    from celery import Celery

    from sparkswarm.workers.task_message import task_envelope

    queue = f"wire-{time.time_ns()}"
    app = Celery("wire", broker=lab.url)
    app.conf.update(task_serializer="json", accept_content=["json"])
    kwargs = {"run_id": "r1", "params": {"a": 1}}
    app.send_task("queue.noop", kwargs=kwargs, task_id="r1", queue=queue)
    theirs = json.loads(qc.redis.lrange(queue, 0, -1)[0])
    ours = json.loads(task_envelope(app, "queue.noop", "r1", kwargs, queue))

    assert ours.keys() == theirs.keys()
    assert ours["body"] == theirs["body"]
    assert {k: ours[k] for k in ("content-type", "content-encoding")} == {
        k: theirs[k] for k in ("content-type", "content-encoding")
    }
    volatile = {"origin", "ignore_result"}
    assert {k: v for k, v in ours["headers"].items() if k not in volatile} == {
        k: v for k, v in theirs["headers"].items() if k not in volatile
    }
    same_props = ("delivery_mode", "delivery_info", "priority", "body_encoding", "correlation_id")
    assert {k: ours["properties"][k] for k in same_props} == {
        k: theirs["properties"][k] for k in same_props
    }


def run_cli(lab: QueueLab, *args: str) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` through the lab's queue, without the test operations
    imported: the CLI needs no more than a user's."""
    env = lab.env()
    env.pop("SPARKSWARM_WORKER_IMPORTS", None)
    return lab.cli(*args, env=env)


def test_the_cli_goes_through_the_queue_and_follows_to_the_result(
    lab: QueueLab, worker: Any, qc: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    service = name("cli")
    created = run_cli(lab, "service", "create", service, web_images["v1"], "--replicas", "1")
    assert created.returncode == 0, created.stderr
    assert "created" in created.stdout

    detached = run_cli(lab, "service", "scale", f"{service}=2", "--detach")
    assert detached.returncode == 0, detached.stderr
    run_id = detached.stdout.strip()
    assert qc.wait(run_id, 120).state == "succeeded"
    shown = run_cli(lab, "runs", "show", run_id[:8], "--json")  # a unique prefix will do
    assert json.loads(shown.stdout)["id"] == run_id
    assert json.loads(shown.stdout)["op"] == "service.scale"
    assert json.loads(shown.stdout)["source"] == "cli"
    listed = json.loads(run_cli(lab, "runs", "ls", "--target", service, "--json").stdout)
    assert [r["op"] for r in listed] == ["service.scale", "service.create"]
    events = run_cli(lab, "events", "--op", run_id, "--json")
    assert [json.loads(line)["type"] for line in events.stdout.splitlines()][-1] == (
        "operation.succeeded"
    )

    missing = run_cli(lab, "service", "scale", f"{name('nope')}=1")
    assert missing.returncode == 2
    assert "error" in missing.stderr
    failed = [r for r in qc.list(state="failed") if r.op == "service.scale"]
    assert failed and failed[0].error_type == "NotFound"


def test_records_are_trimmed_by_count_keeping_unfinished_runs(lab: QueueLab) -> None:
    from sparkswarm.errors import NotFound
    from sparkswarm.workers.client import QueueClient

    settings = replace(
        lab.settings(), queue=f"{lab.queue}-idle", key_prefix="trim:", run_retention_count=2
    )
    idle = QueueClient(settings)  # no worker serves this queue
    runs = [idle.submit("queue.noop", {"i": i}, requester="t", source="api") for i in range(6)]
    for index in (0, 1, 3):
        idle.cancel(runs[index].run_id, requester="t")

    removed = idle.store.trim()

    # The four oldest are beyond the count; the queued one among them stays.
    assert removed == 3
    left = {r.id for r in idle.list(limit=100)}
    assert left == {runs[i].run_id for i in (2, 4, 5)}
    assert idle.get(runs[2].run_id).state == "queued"
    with pytest.raises(NotFound):
        idle.get(runs[0].run_id)


def test_events_follow_prints_a_run_s_events_as_they_happen(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    key = f"follow-{time.time_ns()}"
    run = qc.submit("test.sleep", {"key": key, "seconds": 3}, requester="t", source="api", key=key)
    env = lab.env()
    follower = subprocess.Popen(
        [SPARKSWARM, "events", "--follow", "--op", run.run_id, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    # `events --follow` never ends by itself: bound the reading with a
    # watchdog that kills it (its output then ends, and the check below fails).
    watchdog = threading.Timer(60, follower.kill)
    watchdog.start()
    try:
        seen: list[str] = []
        assert follower.stdout is not None
        for line in follower.stdout:
            seen.append(json.loads(line)["type"])
            if seen[-1] == "operation.succeeded":
                break
    finally:
        watchdog.cancel()
        follower.kill()
        follower.wait(10)
    assert seen == [
        "operation.queued",
        "operation.started",
        "operation.progress",
        "operation.succeeded",
    ]


def test_a_queued_run_whose_message_was_lost_is_requeued(worker: Any, qc: Any) -> None:
    from sparkswarm.workers.events import OperationQueued
    from sparkswarm.workers.run_record import RunRecord

    # What a worker dying between taking a message and claiming its run
    # leaves behind: a queued record, and its message nowhere.
    run_id = f"lost-{time.time_ns()}"
    params = {"key": run_id, "seconds": 0}
    record = RunRecord(
        id=run_id,
        op="test.sleep",
        target=f"test:{run_id}",
        requester="t",
        source="api",
        params=params,
        created_at=time.time(),
    )
    event = OperationQueued(run_id=run_id, op="test.sleep", target=record.target)
    created, _sid = qc.store.create(record, params, event.model_dump_json())
    assert created and qc.redis.llen(qc.settings.queue) == 0

    finished = qc.wait(run_id, 30)

    assert finished.state == "succeeded" and finished.deliveries == 1
    assert any("message was lost" in note for note in finished.notes)
    assert [e.split()[0] for e in executions(qc, run_id)] == ["start", "end"]


def test_a_recovery_pass_cut_short_leaves_the_orphan_to_the_next_pass(lab: QueueLab) -> None:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.events import OperationStarted
    from sparkswarm.workers.recovery import recover_orphans

    settings = replace(lab.settings(), queue=f"{lab.queue}-orphans", key_prefix="orphans:")
    qc = QueueClient(settings)  # no worker serves this queue
    run = qc.submit("test.sleep", {"key": "orphan", "seconds": 0}, requester="t", source="api")
    # A worker took its message, claimed it and died at once.
    qc.redis.delete(settings.queue)
    started = OperationStarted(run_id=run.run_id, op="test.sleep", target="test:orphan")
    outcome, *_ = qc.store.claim(
        run_id=run.run_id,
        worker="dead-worker",
        lock_keys=[],
        event_json=started.model_dump_json(),
        heartbeat_ttl=0.2,
        lock_ttl=0.2,
        max_deliveries=3,
    )
    assert outcome == "started"
    wait_for(lambda: not qc.redis.exists(qc.store.heartbeat_key(run.run_id)), 5, "heartbeat gone")

    # A recovering worker finds it orphaned (two misses a grace apart)...
    assert not qc.store.orphaned(run.run_id, 0.1)
    wait_for(lambda: qc.store.orphaned(run.run_id, 0.1), 5, "the second miss")
    # ... and dies before re-queueing it: the run must still be findable.
    assert qc.store.active_ids() == [run.run_id]
    assert qc.redis.llen(settings.queue) == 0

    # The next pass (any worker's) re-queues it, once: one message, one note.
    requeued = wait_for(lambda: recover_orphans(qc), 10, "a recovery pass to re-queue it")
    assert requeued == [run.run_id]
    assert qc.store.active_ids() == []
    assert qc.redis.llen(settings.queue) == 1
    assert not qc.store.requeue_orphan(run.run_id, settings.queue, "another", "another note")
    assert recover_orphans(qc) == []
    assert qc.redis.llen(settings.queue) == 1
    message = json.loads(qc.redis.lindex(settings.queue, 0))
    assert message["headers"]["id"] == run.run_id and message["headers"]["task"] == "test.sleep"
    notes = qc.get(run.run_id).notes
    assert len(notes) == 1 and notes[0].startswith("recovered after worker loss")


def test_local_operations_are_refused_by_the_queue_and_by_a_firing_schedule(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    from sparkswarm.errors import InvalidRequest, NotFound
    from sparkswarm.workers.schedules import ScheduleBook, ScheduleDefinition

    runs_before = qc.redis.zcard(qc.store.index_key)
    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    join = {"token": token, "remote": "10.77.0.9:2377"}
    with pytest.raises(InvalidRequest, match="never queued"):
        qc.submit("swarm.join", join, requester="t", source="api")
    book = ScheduleBook(qc)
    with pytest.raises(InvalidRequest, match="cannot be scheduled"):
        book.add(ScheduleDefinition(name="join", cron="* * * * *", op="swarm.join", params=join))
    added = run_cli(
        lab,
        "schedule",
        "add",
        "join2",
        "--cron",
        "* * * * *",
        "--",
        "swarm",
        "join",
        "--token",
        token,
        "10.77.0.9:2377",
    )
    assert added.returncode == 2, added.stderr
    assert "cannot be scheduled" in " ".join(added.stderr.split())  # rich wraps lines
    assert token not in added.stderr

    # A definition stored before that rule (or written straight into Redis):
    # the tick is refused, nothing is submitted.
    leave = ScheduleDefinition(name="old-leave", cron="* * * * *", op="swarm.leave")
    qc.redis.hset(
        f"{qc.settings.key_prefix}schedule:old-leave", "definition", leave.model_dump_json()
    )
    fired = book.fire("old-leave")
    assert fired["outcome"] == "refused" and "swarm.leave" in fired["reason"]
    assert qc.redis.zcard(qc.store.index_key) == runs_before
    for refused in ("join", "join2"):
        with pytest.raises(NotFound):
            book.get(refused)


def test_an_idempotency_key_reused_for_other_parameters_is_refused(worker: Any, qc: Any) -> None:
    from sparkswarm.errors import Conflict

    key = f"key-{time.time_ns()}"
    first = qc.submit("queue.noop", {"n": 1}, requester="t", source="api", key=key)
    again = qc.submit("queue.noop", {"n": 1}, requester="t", source="api", key=key)
    assert first.created and not again.created and again.run_id == first.run_id
    with pytest.raises(Conflict, match="another request"):
        qc.submit("queue.noop", {"n": 2}, requester="t", source="api", key=key)
    with pytest.raises(Conflict):
        qc.submit("test.sleep", {"key": key}, requester="t", source="api", key=key)
    assert qc.wait(key, 30).params == {"n": 1}


def test_a_run_waiting_for_its_target_says_which_run_goes_first(
    lab: QueueLab, worker: Any, qc: Any
) -> None:
    key = f"wait-{time.time_ns()}"
    # Long enough that the follower below (a CLI process, slow to start on a
    # loaded machine) attaches while the first still runs.
    first = qc.submit("test.sleep", {"key": key, "seconds": 15}, requester="t", source="api")
    wait_for(lambda: qc.get(first.run_id).state == "running", 20, "the first run to start")
    second = qc.submit("test.sleep", {"key": key, "seconds": 0}, requester="t", source="api")
    env = lab.env(SPARKSWARM_QUEUED_NOTICE="1")
    env.pop("SPARKSWARM_WORKER_IMPORTS", None)
    followed = lab.cli("runs", "show", second.run_id, "--follow", "--json", env=env, timeout=60)
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout)["state"] == "succeeded"
    said = " ".join(followed.stderr.split())  # rich wraps long lines
    assert f"run {first.run_id} (test.sleep, running) goes first" in said
    assert "is a worker running" not in said


def test_an_error_answered_by_redis_is_not_called_unreachable(lab: QueueLab) -> None:
    from sparkswarm.errors import OperationFailed
    from sparkswarm.workers.client import QueueClient

    settings = replace(lab.settings(), key_prefix="wrongtype:")
    idle = QueueClient(settings)
    idle.redis.set(idle.store.stream_key, "not a stream")  # WRONGTYPE for XADD
    with pytest.raises(OperationFailed, match="Redis refused the command") as caught:
        idle.submit("queue.noop", {}, requester="t", source="api")
    assert "unreachable" not in str(caught.value)


def redis_dump(client: Any) -> str:
    """Every value of every key, as text (to search for a secret)."""
    values: list[Any] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == "string":
            values.append(client.get(key))
        elif kind == "hash":
            values.append(client.hgetall(key))
        elif kind == "list":
            values.append(client.lrange(key, 0, -1))
        elif kind == "set":
            values.append(sorted(client.smembers(key)))
        elif kind == "zset":
            values.append(client.zrange(key, 0, -1))
        elif kind == "stream":
            values.append(client.xrange(key))
        values.append(key)
    return json.dumps(values, default=str)


def test_secret_parameters_leave_no_clear_trace_in_redis_or_its_aof(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import hashlib
    import secrets

    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from sparkswarm.errors import InvalidRequest
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.schedules import ScheduleBook, ScheduleDefinition
    from tests.support.queue_harness import RedisServer

    folder = tmp_path_factory.mktemp("secrets")
    server = RedisServer(folder, aof=True)
    server.start()
    lab = QueueLab(folder, server)
    try:
        key = Fernet.generate_key().decode()
        lab.start_worker(concurrency=2, SPARKSWARM_SECRET_KEY=key)
        sealing = QueueClient(replace(lab.settings(), secret_key=SecretStr(key)))
        plain = lab.client()  # no key: a run's secrets are in clear until it ends
        token = secrets.token_hex(8)
        sealed_pw, plain_pw, scheduled_pw = (f"{kind}-{token}" for kind in ("s", "p", "c"))

        def given(key_name: str) -> list[str]:
            return list(sealing.redis.lrange(f"test:exec:{key_name}:password", 0, -1))

        def digest(secret: str) -> str:
            return hashlib.sha256(secret.encode()).hexdigest()

        for qc, password, name in ((sealing, sealed_pw, "sec1"), (plain, plain_pw, "sec2")):
            run = qc.submit(
                "test.sleep",
                {"key": name, "seconds": 0, "password": password},
                requester="t",
                source="api",
            )
            assert qc.wait(run.run_id, 60).state == "succeeded"
            assert given(name) == [digest(password)]  # the worker got the real secret

        nightly = ScheduleDefinition(
            name="nightly",
            cron="0 3 * * *",
            op="test.sleep",
            params={"key": "sec3", "seconds": 0, "password": scheduled_pw},
        )
        with pytest.raises(InvalidRequest, match="SPARKSWARM_SECRET_KEY"):
            ScheduleBook(plain).add(nightly)
        book = ScheduleBook(sealing)
        book.add(nightly)
        assert scheduled_pw not in redis_dump(sealing.redis)  # sealed in the definition
        fired = book.fire("nightly")
        assert fired["outcome"] == "submitted"
        assert sealing.wait(fired["run_id"], 60).state == "succeeded"
        assert given("sec3") == [digest(scheduled_pw)]

        # Runs over: no secret left in any key, and the AOF never saw the
        # sealed ones in clear.
        dump = redis_dump(sealing.redis)
        for secret in (sealed_pw, plain_pw, scheduled_pw):
            assert secret not in dump
        aof = b"".join(p.read_bytes() for p in (folder / "appendonlydir").iterdir())
        assert sealed_pw.encode() not in aof and scheduled_pw.encode() not in aof
    finally:
        lab.stop_all()
        server.stop()
