"""A replicated Redis behind Sentinel: the primary killed mid-run.

One primary (``min-replicas-to-write 1``), one replica and three sentinels in
containers on the real engine (tests/support/sentinel.py), a real
``sparkswarm worker`` configured with ``sentinel://`` URLs, passwords for the
data nodes and for the sentinels. The run must finish once on the new
primary, with its record and every event recorded before the crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from sparkswarm.errors import SparkswarmError
from tests.conftest import unavailable
from tests.support.queue_harness import FAST_SETTINGS, QueueLab, executions, wait_for
from tests.support.sentinel import IMAGE, ReplicatedRedis

pytestmark = pytest.mark.integration

# Longer than a failover (down-after 1 s, election, promotion: a few seconds):
# a heartbeat that cannot be refreshed meanwhile must not look like a dead
# worker, or recovery would start the run a second time.
HEARTBEAT_TTL = "15"
_OURS = "sparkswarm.workers.transport:SentinelTransport://"


class SentinelLab(QueueLab):
    """A QueueLab whose processes reach Redis through the sentinels."""

    def __init__(self, folder: Path, redis: ReplicatedRedis) -> None:
        super().__init__(folder, redis)  # type: ignore[arg-type] - url and password
        self.redis = redis

    def env(self, **extra: str) -> dict[str, str]:
        sentinel = {
            "SPARKSWARM_REDIS_MASTER_NAME": self.redis.master_name,
            "SPARKSWARM_REDIS_SENTINEL_PASSWORD": self.redis.sentinel_password,
            "SPARKSWARM_HEARTBEAT_TTL": HEARTBEAT_TTL,
        }
        return super().env(**{**sentinel, **extra})

    def settings(self) -> Any:
        from sparkswarm.config import Settings

        fast = {
            k.removeprefix("SPARKSWARM_").lower(): v
            for k, v in FAST_SETTINGS.items()
            if k != "SPARKSWARM_WORKER_IMPORTS"
        }
        return Settings(
            **{  # type: ignore[arg-type]
                **fast,
                "redis_url": self.redis.url,
                "redis_password": self.redis.password,
                "redis_master_name": self.redis.master_name,
                "redis_sentinel_password": self.redis.sentinel_password,
                "queue": self.queue,
                "heartbeat_ttl": HEARTBEAT_TTL,
            }
        )


@pytest.fixture
def replicated(gw: Any, prefix: str) -> Iterator[ReplicatedRedis]:
    from sparkswarm.errors import NotFound

    try:
        gw.inspect_image(IMAGE)
    except NotFound:
        unavailable(f"{IMAGE} is not built (sparkswarm images build redis)")
    redis = ReplicatedRedis(gw.api, prefix, password="data-pw", sentinel_password="sentinel-pw")
    try:
        redis.start()
        yield redis
    finally:
        redis.remove()


@pytest.fixture
def lab(tmp_path: Path, replicated: ReplicatedRedis) -> Iterator[SentinelLab]:
    sentinel_lab = SentinelLab(tmp_path, replicated)
    try:
        yield sentinel_lab
    finally:
        sentinel_lab.stop_all()


def _events(qc: Any, run_id: str) -> list[tuple[str, Any]]:
    return [(sid, e) for sid, e in qc.events.read("0-0", count=100_000) if e.run_id == run_id]


def _finished(qc: Any, run_id: str) -> Any:
    record = qc.get(run_id)
    return record if record.done else None


def _eventually(qc: Any, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """``check()`` once Redis answers again (errors while it fails over are "not yet")."""
    import redis

    return wait_for(check, timeout, what, interval=0.3, ignore=(redis.RedisError, SparkswarmError))


def test_the_primary_killed_mid_run_fails_over_and_the_run_finishes_once_with_nothing_lost(
    lab: SentinelLab, replicated: ReplicatedRedis
) -> None:
    qc = lab.client()
    worker = lab.start_worker(concurrency=2)
    key = "failover"
    run = qc.submit("test.sleep", {"key": key, "seconds": 8}, requester="t", source="api")
    wait_for(
        lambda: any(e.type == "operation.progress" for _, e in _events(qc, run.run_id)),
        60,
        "the run to start",
        explain=worker.tail,
    )
    before = qc.get(run.run_id)
    events_before = _events(qc, run.run_id)
    assert before.state == "running" and executions(qc, key)[0].startswith("start")
    # Replication is asynchronous: what the primary took in the last instant
    # may not be on the replica yet. Kill it once the replica has caught up
    # with what we read, as it does within milliseconds here.
    offset = int(replicated.replication(replicated.primary)["master_repl_offset"])
    wait_for(
        lambda: int(replicated.replication(replicated.replica)["slave_repl_offset"]) >= offset,
        10,
        "the replica to catch up",
    )
    replicated.kill(replicated.primary)

    new_primary = ("127.0.0.1", replicated.replica.port)
    wait_for(replicated.master_address, 30, "a failover", interval=0.3)
    assert _eventually(qc, "the new primary", lambda: replicated.master_address() == new_primary)
    record = _eventually(qc, "the run to finish", lambda: _finished(qc, run.run_id))

    assert record.state == "succeeded", (record.error, record.notes, worker.tail())
    assert record.deliveries == 1, record.notes
    trail = executions(qc, key)
    assert [line.split()[0] for line in trail] == ["start", "end"], trail  # ran exactly once
    # What was recorded before the crash is on the new primary, unchanged.
    assert (record.created_at, record.started_at, record.worker) == (
        before.created_at,
        before.started_at,
        before.worker,
    )
    after = _events(qc, run.run_id)
    assert after[: len(events_before)] == events_before
    types = [e.type for _, e in after]
    assert types.count("operation.started") == 1 and types.count("operation.succeeded") == 1, types
    # Read from the new primary itself, not through the sentinels.
    with replicated.client(replicated.replica) as direct:
        assert direct.hget(qc.store.run_key(run.run_id), "state") == "succeeded"
        assert direct.info("replication")["role"] == "master"

    # The same worker took the broker over to the new primary: the next run is served.
    later = qc.submit("queue.noop", {}, requester="t", source="api")
    assert qc.wait(later.run_id, 60).state == "succeeded", worker.tail()
    assert worker.alive(), worker.tail()
    assert "Unrecoverable error" not in worker.output()
    # It reconnected (once at start, again after the failover) on our
    # transport, not kombu's own (no guard, no poison handling): Celery names it.
    lines = worker.output().splitlines()
    connected = [line for line in lines if "Connected to" in line]
    assert len(connected) >= 2 and all(_OURS in line for line in connected), connected
    assert not any("to sentinel://" in line for line in lines)


def test_a_wrong_master_name_or_sentinel_password_stops_the_worker_with_one_sentence(
    lab: SentinelLab,
) -> None:
    wrong_name = lab.cli("worker", env=lab.env(SPARKSWARM_REDIS_MASTER_NAME="nosuch"), timeout=60)
    assert wrong_name.returncode == 2, wrong_name.stdout + wrong_name.stderr
    assert "no sentinel monitors a primary named 'nosuch'" in wrong_name.stderr
    assert "SPARKSWARM_REDIS_MASTER_NAME" in wrong_name.stderr

    wrong_pw = lab.cli(
        "worker", env=lab.env(SPARKSWARM_REDIS_SENTINEL_PASSWORD="not-the-one"), timeout=60
    )
    assert wrong_pw.returncode == 2, wrong_pw.stdout + wrong_pw.stderr
    assert "refused the connection (the password was refused)" in wrong_pw.stderr
    assert "SPARKSWARM_REDIS_SENTINEL_PASSWORD" in wrong_pw.stderr
    assert "not-the-one" not in wrong_pw.stderr + wrong_pw.stdout


def test_beat_keeps_its_lock_and_schedules_on_the_primary_and_a_schedule_fires(
    lab: SentinelLab, replicated: ReplicatedRedis
) -> None:
    """RedBeat's own client (its Sentinel branch) and ours agree on the primary."""
    from sparkswarm.workers.schedules import ScheduleBook, ScheduleDefinition

    qc = lab.client()
    lab.start_worker(concurrency=1)
    beat = lab.start_beat()
    ScheduleBook(qc).add(
        ScheduleDefinition(name="tick", cron="* * * * *", op="test.sleep", params={"key": "tick"})
    )
    redbeat = f"{qc.settings.key_prefix}redbeat:"
    with replicated.client(replicated.primary) as direct:
        wait_for(lambda: direct.exists(f"{redbeat}:lock"), 30, "beat's lock", explain=beat.tail)
        assert direct.exists(f"{redbeat}tick")
    # The next minute tick (at most 60 s away) starts a run through the queue.
    fired = wait_for(
        lambda: [r for r in qc.list(schedule="tick") if r.state == "succeeded"],
        90,
        "the schedule to fire",
        interval=1,
        explain=beat.tail,
    )
    assert fired[0].requester == "schedule:tick"
