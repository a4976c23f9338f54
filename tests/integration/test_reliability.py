"""What the queue survives: workers killed with SIGKILL (mid rolling update),
workers that always die, and redis-server crashing with operations queued.

Real redis-server processes of our own (so we may kill them), real
`sparkswarm worker` processes killed by process group, a real swarm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.conftest import unavailable
from tests.support.queue_harness import QueueLab, RedisServer, has_redis_server, wait_for

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
    from sparkswarm.cli.common import capture_operation

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
    op, params = capture_operation(
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
    update = qc.submit(op, params, requester="t", source="api")

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
    time.sleep(3)  # no third start sneaks in later
    assert qc.get(update.run_id).deliveries == 2
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
    time.sleep(2)
    trail = [line.split()[0] for line in qc.redis.lrange(f"test:exec:{key}", 0, -1)]
    assert trail == ["start", "start", "end"]
    assert record.state == "succeeded" and record.deliveries == 2
    assert record.notes and "recovered after worker loss" in record.notes[0]


def test_a_run_whose_workers_keep_dying_fails_after_the_bounded_redeliveries(
    lab: QueueLab,
) -> None:
    qc = lab.client()
    key = f"crash-{time.time_ns()}"
    run = qc.submit("test.crash", {"key": key}, requester="t", source="api")
    deaths = 0
    deadline = time.monotonic() + 150
    while not qc.get(run.run_id).done:
        assert time.monotonic() < deadline, "the run never gave up"
        # It may die before it even logs that it is ready.
        worker = lab.start_worker(concurrency=1, ready=False)
        wait_for(
            lambda w=worker: not w.alive() or qc.get(run.run_id).done,
            60,  # type: ignore[misc]
            "the worker to die or the run to end",
        )
        deaths += 0 if worker.alive() else 1

    record = qc.get(run.run_id)
    assert record.state == "failed"
    assert record.error is not None and "worker died 3 times" in record.error
    assert record.deliveries == 3 and deaths == 3
    assert qc.redis.llen(f"test:exec:{key}") == 3


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
        time.sleep(2)
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
