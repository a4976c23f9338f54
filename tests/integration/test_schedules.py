"""Schedules through RedBeat: real beat processes (two, one on standby), a real
worker and redis-server, and a real swarm service for the CLI-added one.

The module sets everything up once and waits for two minute ticks; the tests
then look at what happened: fired on time, once per tick, `forbid` skipped
the tick that came while its previous run was still going.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.conftest import unavailable
from tests.support.queue_harness import (
    Process,
    QueueLab,
    RedisServer,
    has_redis_server,
    wait_for,
)

pytestmark = pytest.mark.integration


@dataclass
class Scheduled:
    lab: QueueLab
    qc: Any
    beats: list[Process]
    service: str
    added_at: float
    observed_at: float


# Seconds the two schedule adds may take (CLI subprocess included, on a
# loaded machine): they start at least this long before a minute boundary.
ADD_MARGIN = 20.0


def minute_ticks(start: float, end: float) -> list[float]:
    """The minute boundaries in (start, end]."""
    first = math.floor(start / 60) * 60 + 60
    return [float(t) for t in range(int(first), int(end) + 1, 60)]


@pytest.fixture(scope="module")
def scheduled(
    tmp_path_factory: pytest.TempPathFactory, gw: Any, web_images: dict[str, str]
) -> Iterator[Scheduled]:
    from tests.conftest import SESSION_ID
    from tests.support.engine import remove_prefixed

    if not has_redis_server():
        unavailable("redis-server is not installed")
    folder = tmp_path_factory.mktemp("schedules")
    server = RedisServer(folder)
    server.start()
    lab = QueueLab(folder, server)
    service = f"{SESSION_ID}sched-web"
    try:
        lab.start_worker(concurrency=4)
        beats = [lab.start_beat(), lab.start_beat()]
        qc = lab.client()
        created = qc.submit(
            "service.create",
            {"name": service, "image": web_images["v1"], "replicas": 1},
            requester="t",
            source="api",
        )
        assert qc.wait(created.run_id, 120).state == "succeeded"

        # Ticks are counted from `added_at`, before the first add. A minute
        # that began while the (slow, CLI) adds went on would fire one
        # schedule and not the other, depending on how far they had got: so
        # the adds start well clear of a minute boundary.
        if 60 - time.time() % 60 < ADD_MARGIN:
            boundary = math.floor(time.time() / 60) * 60 + 60
            wait_for(lambda: time.time() > boundary + 1, 70, "a fresh minute", interval=0.5)
        added_at = time.time()
        added = lab.cli(
            "schedule",
            "add",
            "every-minute",
            "--cron",
            "* * * * *",
            "--timezone",
            "Asia/Seoul",
            "--",
            "service",
            "scale",
            f"{service}=1",
        )
        assert added.returncode == 0, added.stderr
        from sparkswarm.workers.schedules import ScheduleBook, ScheduleDefinition

        ScheduleBook(qc).add(
            ScheduleDefinition(
                name="slow",
                cron="* * * * *",
                concurrency="forbid",
                op="test.sleep",
                params={"key": "slow", "seconds": 100},
                command=["(test)"],
            )
        )
        assert not minute_ticks(added_at, time.time()), "a minute began while adding schedules"
        # Two ticks; then until both schedules have handled the second (the
        # beat sends a fire task, a worker submits the run or skips), with
        # time to spare before a third.
        second_tick = minute_ticks(added_at, added_at + 130)[1]
        wait_for(lambda: time.time() > second_tick, 140, "two minute ticks", interval=1)
        wait_for(
            lambda: all(
                int(qc.redis.hget(f"{qc.settings.key_prefix}schedule:{name}", "fires") or 0) >= 2
                for name in ("every-minute", "slow")
            ),
            40,
            "both schedules to handle the second tick",
            interval=0.5,
            explain=lambda: "\n".join(p.tail() for p in lab.processes),
        )
        yield Scheduled(lab, qc, beats, service, added_at, time.time())
    finally:
        lab.stop_all()
        server.stop()
        remove_prefixed(gw, service)


def test_a_schedule_fires_on_time_once_per_tick_with_two_beats(scheduled: Scheduled) -> None:
    qc = scheduled.qc
    ticks = minute_ticks(scheduled.added_at, scheduled.observed_at)
    runs = sorted(qc.list(schedule="every-minute"), key=lambda r: r.created_at)
    status = qc.redis.hgetall(f"{qc.settings.key_prefix}schedule:every-minute")

    assert len(ticks) == 2
    assert int(status["fires"]) == len(ticks)  # the standby beat never fired
    assert len(runs) == len(ticks)
    for run, tick in zip(runs, ticks, strict=True):
        assert tick <= run.created_at < tick + 5, (run.created_at, tick)
        assert run.source == "schedule" and run.requester == "schedule:every-minute"
        assert run.op == "service.scale"
        assert run.params["replicas"] == {scheduled.service: 1}
    assert qc.wait(runs[-1].id, 60).state == "succeeded"
    holders = [b for b in scheduled.beats if "beat: Acquired lock" in b.output()]
    assert len(holders) == 1


def test_forbid_skips_a_tick_while_the_previous_run_is_still_running(
    scheduled: Scheduled,
) -> None:
    qc = scheduled.qc
    runs = qc.list(schedule="slow")
    status = qc.redis.hgetall(f"{qc.settings.key_prefix}schedule:slow")

    assert len(runs) == 1 and runs[0].state == "running"
    assert int(status["fires"]) == 2 and int(status["skipped"]) == 1
    assert runs[0].id in status["last_skip_reason"]
    skipped = [
        e for _sid, e in qc.events.read("0-0", count=100_000) if e.type == "schedule.skipped"
    ]
    assert [e.schedule for e in skipped] == ["slow"]
    starts = [x for x in qc.redis.lrange("test:exec:slow", 0, -1) if x.startswith("start")]
    assert len(starts) == 1


def test_schedules_are_listed_paused_resumed_and_removed(scheduled: Scheduled) -> None:
    lab = scheduled.lab
    listed = {s["name"]: s for s in json.loads(lab.cli("schedule", "ls", "--json").stdout)}
    minute = listed["every-minute"]
    assert minute["next_run"].endswith(":00+09:00")
    assert minute["last_state"] == "succeeded"
    assert minute["command"] == f"service scale {scheduled.service}=1"
    assert listed["slow"]["skipped"] == 1 and listed["slow"]["last_state"] == "running"

    assert lab.cli("schedule", "pause", "every-minute").returncode == 0
    paused = {s["name"]: s for s in json.loads(lab.cli("schedule", "ls", "--json").stdout)}
    assert paused["every-minute"]["paused"] is True
    assert paused["every-minute"]["next_run"] is None
    assert lab.cli("schedule", "resume", "every-minute").returncode == 0
    resumed = {s["name"]: s for s in json.loads(lab.cli("schedule", "ls", "--json").stdout)}
    assert resumed["every-minute"]["next_run"] is not None

    assert lab.cli("schedule", "rm", "slow").returncode == 0
    remaining = [s["name"] for s in json.loads(lab.cli("schedule", "ls", "--json").stdout)]
    assert remaining == ["every-minute"]
    again = lab.cli("schedule", "rm", "slow")
    assert again.returncode == 2 and "no schedule" in again.stderr
    duplicate = lab.cli(
        "schedule",
        "add",
        "every-minute",
        "--cron",
        "0 * * * *",
        "--",
        "service",
        "scale",
        f"{scheduled.service}=1",
    )
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr


def test_reads_and_local_operations_are_refused_without_running_anything(
    scheduled: Scheduled,
) -> None:
    """The command is parsed, never run: with the engine pointed at a closed
    port, a read that ran would fail with 'unreachable' (exit 1), not be
    refused (exit 2). Local operations would act on the worker's engine."""
    lab = scheduled.lab
    dead_engine = {**lab.env(), "SPARKSWARM_MANAGERS": "tcp://127.0.0.1:9"}
    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    cases = [
        (["service", "ls"], "does not change anything"),
        (["spark", "status"], "does not change anything"),
        (["swarm", "join", "10.77.0.9:2377", "--token", token], "cannot be scheduled"),
        (["swarm", "leave", "--force"], "cannot be scheduled"),
        (["service", "logs", "web"], "not a request"),
    ]
    for words, message in cases:
        refused = lab.cli(
            "schedule", "add", "nope", "--cron", "0 3 * * *", "--", *words,
            env=dead_engine, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 2, (words, refused.stderr)
        assert message in refused.stderr, (words, refused.stderr)
        assert "Traceback" not in refused.stderr
    names = [s["name"] for s in json.loads(lab.cli("schedule", "ls", "--json").stdout)]
    assert "nope" not in names
