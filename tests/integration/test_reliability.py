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
    # The first delivery made the change: the record says so, as the engine
    # does (the service was updated after the run started), not "unchanged".
    assert record.result is not None and not isinstance(record.result, list)
    assert record.result["changed"] is True, record.result
    assert record.result["outcome"] == "completed", record.result
    assert any("by an earlier delivery of this run" in note for note in record.notes)
    kinds = [e.type for e in events_of(qc, update.run_id)]
    assert kinds.count("operation.succeeded") == 1
    assert kinds.count("operation.started") == 2
    assert "operation.recovered" in kinds
    spec = gw.inspect_service(service)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"].startswith(web_images["v2"])

    # The swarm itself finishes the rolling update the first worker started (a
    # recovered service.update that finds the spec applied does not re-send it).
    def all_on_v2() -> bool:
        tasks = gw.tasks(filters={"service": service, "desired-state": "running"})
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


def test_a_redis_restart_during_a_rolling_update_is_ridden_out_by_the_same_worker(
    tmp_path: Path, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    """kombu's Redis transport used to kill the worker here: ``Unrecoverable
    error: AttributeError('NoneType' ... 'hostname')`` on closing the dead
    channel (see workers/transport.py)."""
    lab = make_lab(tmp_path, aof=True)
    try:
        qc = lab.client()
        service = name("rr")
        worker = lab.start_worker(concurrency=2)
        created = qc.submit(
            "service.create",
            {"name": service, "image": web_images["v1"], "replicas": 2},
            requester="t",
            source="api",
        )
        assert qc.wait(created.run_id, 120).state == "succeeded"
        update = qc.submit(
            "service.update",
            {"name": service, "image": web_images["v2"], "update": {"delay": "2s"}},
            requester="t",
            source="api",
        )
        wait_for(
            lambda: any(e.type == "task.state" for e in events_of(qc, update.run_id)),
            60,
            "the rolling update to start",
        )
        lab.redis_server.stop()  # a restart: AOF keeps what Redis had accepted
        time.sleep(1)
        lab.redis_server.start()
        qc = lab.client()

        record = qc.wait(update.run_id, 120)
        assert record.state == "succeeded", (record.error, worker.tail())
        assert record.deliveries == 1
        # The same worker process serves the next operation.
        after = qc.submit("queue.noop", {}, requester="t", source="api")
        assert qc.wait(after.run_id, 60).state == "succeeded", worker.tail()
        assert worker.alive(), worker.tail()
        assert "Unrecoverable error" not in worker.output()
    finally:
        lab.stop_all()
        lab.redis_server.stop()


def test_requests_for_one_target_run_in_submission_order_through_a_worker_kill(
    lab: QueueLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    """Concurrent scale requests on three services, a worker SIGKILLed midway:
    each service ends at its last request, and every service's runs started
    in the order they were submitted (a parked run used to be re-queued
    behind newer requests for its target)."""
    import random
    import threading

    qc = lab.client()
    doomed = lab.start_worker(concurrency=2)
    lab.start_worker(concurrency=2)
    services = [name(f"ord{i}") for i in range(3)]
    creates = [
        qc.submit(
            "service.create",
            {"name": s, "image": web_images["v1"], "replicas": 1},
            requester="t",
            source="api",
        )
        for s in services
    ]
    assert [qc.wait(c.run_id, 120).state for c in creates] == ["succeeded"] * 3
    rng = random.Random(11)
    requests = [(s, rng.randint(1, 3)) for _ in range(8) for s in services]
    submitted: list[str] = []
    guard = threading.Lock()

    def submit(batch: list[tuple[str, int]]) -> None:
        for service, count in batch:
            run = qc.submit(
                "service.scale", {"replicas": {service: count}}, requester="t", source="api"
            )
            with guard:
                submitted.append(run.run_id)

    threads = [threading.Thread(target=submit, args=(requests[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def doomed_is_busy() -> bool:
        records = [qc.get(r) for r in submitted]
        return sum(r.done for r in records) >= 4 and any(
            r.state == "running" and f":{doomed.pid}:" in (r.worker or "") for r in records
        )

    wait_for(doomed_is_busy, 120, "a few runs to end and the doomed worker to run one")
    doomed.kill()
    lab.start_worker(concurrency=2)

    records = [qc.wait(r, 240) for r in submitted]
    assert [r.state for r in records] == ["succeeded"] * len(records), [
        (r.id, r.state, r.error) for r in records if r.state != "succeeded"
    ]
    assert any(r.deliveries == 2 for r in records)  # the killed worker's run, recovered
    for service in services:
        mine = sorted(
            (r for r in records if r.params["replicas"].keys() == {service}), key=lambda r: r.seq
        )
        assert len(mine) == 8
        starts = [r.started_at for r in mine]
        assert starts == sorted(starts), f"{service}: runs started out of submission order"
        last = mine[-1].params["replicas"][service]
        spec = gw.inspect_service(service)["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == last, service


def test_the_cli_following_a_run_reattaches_after_a_redis_restart_or_names_the_run(
    tmp_path: Path,
) -> None:
    import subprocess

    from tests.support.queue_harness import SPARKSWARM

    lab = make_lab(tmp_path, aof=True)
    try:
        qc = lab.client()
        lab.start_worker(concurrency=2)

        def follow(run_id: str, grace: str) -> subprocess.Popen[str]:
            env = lab.env(SPARKSWARM_FOLLOW_GRACE=grace)
            env.pop("SPARKSWARM_WORKER_IMPORTS", None)
            return subprocess.Popen(
                [SPARKSWARM, "runs", "show", run_id, "--follow"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        def reading_events() -> bool:  # the follower is in its XREAD loop
            return any(c.get("cmd") == "xread" for c in lab.client().redis.client_list())

        def restart_redis(down: float) -> None:
            lab.redis_server.stop()
            time.sleep(down)
            lab.redis_server.start()

        # Redis back within the grace: the CLI re-attaches and sees the end.
        # The runs last long enough for a follower started on a loaded machine
        # to reach its XREAD loop while they still run.
        run = qc.submit("test.sleep", {"key": "f1", "seconds": 20}, requester="t", source="api")
        wait_for(lambda: qc.get(run.run_id).state == "running", 30, "the run to start")
        follower = follow(run.run_id, "30")
        wait_for(reading_events, 30, "the CLI to follow the run")
        restart_redis(1)
        out, err = follower.communicate(timeout=90)
        err = " ".join(err.split())  # rich wraps long lines
        assert follower.returncode == 0, err
        assert f"lost the broker while following run {run.run_id}" in err
        assert "following run" in err and "again" in err
        assert "succeeded" in out

        # Redis away longer than the grace: it gives up, naming the run and
        # the command that follows it again; no traceback.
        qc = lab.client()
        run = qc.submit("test.sleep", {"key": "f2", "seconds": 20}, requester="t", source="api")
        wait_for(lambda: qc.get(run.run_id).state == "running", 30, "the run to start")
        follower = follow(run.run_id, "2")
        wait_for(reading_events, 30, "the CLI to follow the run")
        restart_redis(5)
        out, err = follower.communicate(timeout=90)
        assert follower.returncode == 1, err
        last = " ".join(err[err.rindex("error:") :].split())
        assert f"run {run.run_id}: " in last and "broker unreachable" in last
        assert f"sparkswarm runs show {run.run_id} --follow" in last
        assert "Traceback" not in err
        qc = lab.client()
        assert qc.wait(run.run_id, 60).state == "succeeded"
    finally:
        lab.stop_all()
        lab.redis_server.stop()
