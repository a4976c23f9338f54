"""What the queue survives: workers killed with SIGKILL (mid rolling update),
workers that always die, and redis-server crashing with operations queued.

Real redis-server processes of our own (so we may kill them), real
`sparkswarm worker` processes killed by process group, a real swarm.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.conftest import unavailable
from tests.support.queue_harness import (
    Process,
    QueueLab,
    RedisServer,
    has_redis_server,
    holds_for,
    recovery_cycle,
    wait_for,
)

pytestmark = pytest.mark.integration


def make_lab(folder: Path, *, aof: bool = False) -> QueueLab:
    if not has_redis_server():
        unavailable("redis-server is not installed")
    server = RedisServer(folder, aof=aof)
    server.start()
    return QueueLab(folder, server)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QueueLab]:
    queue_lab = make_lab(tmp_path)
    try:
        yield queue_lab
    finally:
        queue_lab.stop_all()
        queue_lab.redis_server.stop()


def events_of(qc: Any, run_id: str) -> list[Any]:
    return [event for _sid, event in qc.events.read("0-0", count=100_000) if event.run_id == run_id]


def test_a_worker_killed_mid_rolling_update_is_recovered_and_the_update_finishes_once(
    lab: QueueLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.requests import parse

    qc = lab.client()
    service = name("roll")
    first = lab.start_worker(concurrency=2)
    created = qc.submit(
        "service.create",
        {"name": service, "image": web_images["v1"], "replicas": 3},
        requester="t",
        source="api",
    )
    assert qc.wait(created.run_id, 120).state == "succeeded"
    request = parse(
        [
            "service",
            "update",
            service,
            "--image",
            web_images["v2"],
            "--update-delay",
            "3s",
            "--update-parallelism",
            "1",
        ]
    )
    update = qc.submit(request.op, request.params, requester="t", source="api")

    # Kill the worker once the rolling update is visibly under way.
    wait_for(
        lambda: any(
            e.type == "task.state" and "web:v2" in e.message for e in events_of(qc, update.run_id)
        ),
        60,
        "the update to start",
    )
    assert qc.get(update.run_id).state == "running"
    first.kill()
    assert qc.get(update.run_id).state == "running"

    second = lab.start_worker(concurrency=2)
    restarted = time.monotonic()
    record = qc.wait(update.run_id, 120)
    assert time.monotonic() - restarted < 60

    assert record.state == "succeeded", record.error
    assert record.deliveries == 2
    assert any("recovered after worker loss" in note for note in record.notes)
    kinds = [e.type for e in events_of(qc, update.run_id)]
    assert kinds.count("operation.succeeded") == 1
    assert kinds.count("operation.started") == 2
    assert "operation.recovered" in kinds
    spec = gw.api.inspect_service(service)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"].startswith(web_images["v2"])

    # The swarm itself finishes the rolling update the first worker started (a
    # recovered service.update that finds the spec applied does not re-send it).
    def all_on_v2() -> bool:
        tasks = gw.api.tasks(filters={"service": service, "desired-state": "running"})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        images = [t["Spec"]["ContainerSpec"]["Image"] for t in running]
        return len(running) == 3 and all(i.startswith(web_images["v2"]) for i in images)

    wait_for(all_on_v2, 60, "three tasks running v2")
    # No third start sneaks in later, through a recovery cycle and more.
    holds_for(
        lambda: qc.get(update.run_id).deliveries == 2,
        recovery_cycle(lab.settings()),
        "two deliveries of the update",
    )
    assert second.alive()


def test_a_killed_worker_s_operation_completes_exactly_once_on_the_next_worker(
    lab: QueueLab,
) -> None:
    qc = lab.client()
    key = f"kill-{time.time_ns()}"
    first = lab.start_worker(concurrency=1)
    run = qc.submit("test.sleep", {"key": key, "seconds": 6}, requester="t", source="api")
    wait_for(lambda: qc.redis.llen(f"test:exec:{key}") == 1, 30, "the op to start")
    first.kill()
    lab.start_worker(concurrency=1)

    record = qc.wait(run.run_id, 60)

    def trail() -> list[str]:
        return [line.split()[0] for line in qc.redis.lrange(f"test:exec:{key}", 0, -1)]

    assert trail() == ["start", "start", "end"]
    # ... and stays so: nothing starts it a third time, through a recovery cycle.
    holds_for(
        lambda: trail() == ["start", "start", "end"],
        recovery_cycle(lab.settings()),
        "one finished execution",
    )
    assert record.state == "succeeded" and record.deliveries == 2
    assert record.notes and "recovered after worker loss" in record.notes[0]


def test_a_run_whose_workers_keep_dying_fails_after_the_bounded_redeliveries(
    lab: QueueLab,
) -> None:
    settings = lab.settings()
    limit = settings.max_deliveries
    qc = lab.client()
    key = f"crash-{time.time_ns()}"
    trail_key = f"test:exec:{key}"
    run = qc.submit("test.crash", {"key": key}, requester="t", source="api")

    # One worker at a time. Each of the first `limit` takes the run (from the
    # queue, or once recovery re-queued it) and dies in the op; the next one
    # finds it started `limit` times and fails it without running it. So at
    # most limit + 1 workers: more would be the endless loop this prevents.
    # Each gets a slow start on a loaded machine plus a recovery cycle.
    patience = 60 + recovery_cycle(settings)
    dead: list[Process] = []
    survivor: Process | None = None
    for _ in range(limit + 1):
        # It may die before it even logs that it is ready.
        worker = lab.start_worker(concurrency=1, ready=False)
        wait_for(
            lambda w=worker: not w.alive() or qc.get(run.run_id).done,  # type: ignore[misc]
            patience,
            f"worker {worker.log.name} to die in the op or the run to end",
            explain=worker.tail,
        )
        if worker.alive():
            survivor = worker
            break
        # Killed by the op itself (SIGKILL of its own process), not dead of
        # anything else, such as failing to start.
        assert worker.exit_code == -signal.SIGKILL, worker.tail()
        dead.append(worker)
    assert survivor is not None, f"the run never gave up: {qc.get(run.run_id)}"

    record = qc.get(run.run_id)
    assert record.state == "failed", record
    assert record.error == (
        f"worker died {limit} times while running this operation; not starting it again"
    )
    assert record.deliveries == limit and len(dead) == limit
    # One start of the op per worker that died, in that worker's process.
    starts = qc.redis.lrange(trail_key, 0, -1)
    assert [int(line.split()[2]) for line in starts] == [w.pid for w in dead]
    kinds = [e.type for e in events_of(qc, run.run_id)]
    assert kinds.count("operation.started") == limit
    assert kinds.count("operation.failed") == 1
    assert "operation.recovered" in kinds
    # Failed once and for good: the surviving worker goes through a whole
    # recovery cycle without starting it again.
    last = survivor
    holds_for(
        lambda: (
            last.alive()
            and qc.redis.llen(trail_key) == limit
            and qc.get(run.run_id).deliveries == limit
        ),
        recovery_cycle(settings),
        "the run failed after its last start",
    )


def test_redis_crashing_with_operations_queued_loses_none(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, aof=True)
    try:
        qc = lab.client()
        queued = [
            qc.submit("test.sleep", {"key": f"aof{i}", "seconds": 0}, requester="t", source="api")
            for i in range(25)
        ]
        lab.redis_server.kill()  # SIGKILL: only what the AOF holds survives
        lab.redis_server.start()
        worker = lab.start_worker(concurrency=4)
        qc = lab.client()
        records = [qc.wait(s.run_id, 60) for s in queued]
        assert [r.state for r in records] == ["succeeded"] * 25
        assert all(qc.redis.llen(f"test:exec:aof{i}") == 2 for i in range(25))

        # The same worker reconnects after a second crash and keeps serving.
        lab.redis_server.kill()
        lab.redis_server.start()
        qc = lab.client()
        later = [qc.submit("queue.noop", {"i": i}, requester="t", source="api") for i in range(5)]
        assert [qc.wait(s.run_id, 90).state for s in later] == ["succeeded"] * 5
        assert worker.alive()
    finally:
        lab.stop_all()
        lab.redis_server.stop()


def test_redis_crashing_while_a_worker_is_busy_loses_no_operation(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, aof=True)
    try:
        qc = lab.client()
        worker = lab.start_worker(concurrency=2)
        runs = [
            qc.submit(
                "test.sleep", {"key": f"busy{i}", "seconds": 0.5}, requester="t", source="api"
            )
            for i in range(12)
        ]
        wait_for(
            lambda: sum(qc.redis.exists(f"test:exec:busy{i}") for i in range(12)) >= 3,
            30,
            "a few runs to start",
        )
        lab.redis_server.kill()
        time.sleep(2)  # Redis stays down a while: the worker must ride it out
        lab.redis_server.start()
        qc = lab.client()

        records = [qc.wait(run.run_id, 120) for run in runs]

        assert [r.state for r in records] == ["succeeded"] * 12, [
            (r.id, r.state, r.error, r.notes) for r in records
        ]
        for i in range(12):
            trail = qc.redis.lrange(f"test:exec:busy{i}", 0, -1)
            assert any(line.startswith("end") for line in trail)
        assert worker.alive()
    finally:
        lab.stop_all()
        lab.redis_server.stop()
