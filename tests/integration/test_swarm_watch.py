"""The swarm watcher against the real engine and a real redis-server (AOF on).

A service whose container exits at once opens one flapping incident, which
is updated (never opened twice) while it keeps failing and resolved when
the service is removed; a watcher restart or a Redis restart in between
loses nothing and opens nothing twice. The watcher runs in a worker process
(one active across workers) and alone as ``sparkswarm watch``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.config import Settings
from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.incidents import Incident, IncidentStore, incident_store
from sparkswarm.workers.swarm_watch import SwarmWatcher
from tests.support.queue_harness import Process, RedisServer, has_redis_server, queue_lab
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

WATCH_SETTINGS = {
    "swarm_watch_interval": 1.0,
    "swarm_watcher_ttl": 4.0,
    "alert_flap_failures": 2,
    "alert_flap_quiet": 5.0,
}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    from tests.conftest import unavailable

    if not has_redis_server():
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path, aof=True)
    server.start()
    yield server
    server.stop()


def client(url: str) -> QueueClient:
    return QueueClient(Settings(redis_url=url, **WATCH_SETTINGS))  # type: ignore[arg-type]


class Running:
    """A watcher in a thread of this process (stopped by the test or at teardown)."""

    def __init__(self, url: str, gw: Any) -> None:
        from sparkswarm.gateway import Gateway

        # Its own gateway: the watcher's long polls must not share a connection.
        self.watcher = SwarmWatcher(client(url), Gateway(timeout=10))
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop_event,))
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def watchers(redis_server: RedisServer, gw: Any) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for running in started:
        running.stop_event.set()
    for running in started:
        running.thread.join(30)


def crashing_service(gw: Any, name: str, image: str) -> str:
    """A service whose container exits with code 3 at once, restarted after 1 s."""
    return str(
        gw.create_service(
            {
                "Name": name,
                "TaskTemplate": {
                    "ContainerSpec": {"Image": image},
                    "RestartPolicy": {"Condition": "any", "Delay": 1_000_000_000},
                },
                "Mode": {"Replicated": {"Replicas": 1}},
            }
        )
    )


def opened(store: IncidentStore, key: str) -> list[dict[str, Any]]:
    return [e for e in store.history(key) if e["what"] in ("opened", "reopened")]


def incident(store: IncidentStore, key: str, state: str) -> Incident | None:
    found = store.get(key)
    return found if found is not None and found.state == state else None


def test_a_crash_loop_is_one_incident_updated_then_resolved_across_restarts(
    gw: Any,
    name: Any,
    web_images: dict[str, str],
    redis_server: RedisServer,
    watchers: list[Running],
) -> None:
    store = incident_store(client(redis_server.url))
    watchers.append(Running(redis_server.url, gw))
    service = name("crash")
    key = f"flapping:{service}"
    crashing_service(gw, service, web_images["broken"])

    first = wait_for(lambda: incident(store, key, "open"), 60, "the flapping incident")
    assert first.detail["exit_code"] == 3
    assert "non-zero exit" in first.detail["last_error"]

    # The watcher restarts (a new one takes the lease once the old one let it
    # go), then Redis restarts; the service keeps failing meanwhile.
    watchers[0].stop()
    watchers.append(Running(redis_server.url, gw))
    wait_for(
        lambda: (store.get(key) or first).detail["failures"] > first.detail["failures"],
        60,
        "more failures counted by the new watcher",
    )
    redis_server.stop()
    redis_server.start()
    wait_for(lambda: store.get(key) is not None, 30, "the incident after Redis restarted")
    wait_for(
        lambda: (
            watchers[1].watcher.redis.get(watchers[1].watcher.since_key) is not None
            and store.get(key) is not None
        ),
        30,
        "the watcher back on Redis",
    )

    gw.remove_service(service)
    resolved = wait_for(lambda: incident(store, key, "resolved"), 30, "the incident resolved")
    assert resolved.generation == 1
    assert len(opened(store, key)) == 1, store.history(key)
    whats = [e["what"] for e in store.history(key)]
    assert whats[0] == "opened" and whats[-1] == "resolved"
    assert [i.key for i in store.listing()] == [k for k in store.open_keys() if k != key]
    assert key in [i.key for i in store.listing(include_resolved=True)]


def test_a_second_watcher_stands_by_until_the_first_goes(
    gw: Any, redis_server: RedisServer, watchers: list[Running]
) -> None:
    watchers.append(Running(redis_server.url, gw))
    first = watchers[0].watcher
    wait_for(lambda: first.redis.get(first.since_key), 20, "the first watcher active")
    watchers.append(Running(redis_server.url, gw))
    second = watchers[1].watcher
    holder = first.redis.get(first.lease.keys[0])
    assert holder == first.token
    watchers[0].stop()  # releases the lease
    wait_for(lambda: second.redis.get(second.lease.keys[0]) == second.token, 20, "takeover")


def test_the_watcher_runs_in_a_worker_and_as_sparkswarm_watch(
    gw: Any, name: Any, web_images: dict[str, str], tmp_path: Path
) -> None:
    with queue_lab(tmp_path) as lab:
        env = {
            "SPARKSWARM_SWARM_WATCHER_IN_WORKER": "true",
            "SPARKSWARM_SWARM_WATCH_INTERVAL": "1",
            "SPARKSWARM_ALERT_FLAP_FAILURES": "2",
        }
        lab.start_worker(**env)
        service = name("crash")
        crashing_service(gw, service, web_images["broken"])
        store = incident_store(lab.client())
        wait_for(lambda: incident(store, f"flapping:{service}", "open"), 60, "incident")
        lab.stop_all()
        # alone: `sparkswarm watch` takes over once the worker's lease is gone
        watch = Process(["watch"], lab.env(**env), tmp_path / "watch.log")
        lab.processes.append(watch)
        watch.wait_ready("swarm watcher started", 30)
        gw.remove_service(service)
        wait_for(lambda: incident(store, f"flapping:{service}", "resolved"), 60, "resolved")
        listed = lab.cli("alerts", "--all")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0].split("\t") == ["KEY", "STATE", "OPENED", "UPDATED", "TITLE"]
        assert any(line.startswith(f"flapping:{service}\tresolved\t") for line in lines)
        shown = lab.cli("alerts", "show", f"flapping:{service}")
        assert shown.returncode == 0, shown.stderr
        assert "opened" in shown.stdout and "resolved" in shown.stdout
        missing = lab.cli("alerts", "show", "flapping:nothing-here")
        assert missing.returncode == 2 and "no incident" in missing.stderr


def test_events_are_a_bounded_long_poll_that_replays_from_since(
    gw: Any, name: Any, web_images: dict[str, str]
) -> None:
    import time

    from sparkswarm.gateway import Gateway

    since = time.time()
    service = name("evt")
    maker = threading.Timer(
        0.5,
        gw.create_service,
        [
            {
                "Name": service,
                "TaskTemplate": {"ContainerSpec": {"Image": web_images["v1"]}},
                "Mode": {"Replicated": {"Replicas": 0}},
            }
        ],
    )
    maker.start()
    started = time.time()
    seen = list(Gateway().events(since=since, until=since + 3, filters={"type": ["service"]}))
    maker.join()
    assert 2 <= time.time() - started < 10  # it waited for `until`, and then ended
    mine = [e for e in seen if e["Actor"]["Attributes"].get("name") == service]
    assert [e["Action"] for e in mine] == ["create"]
    # asked again later from the same point, the engine replays it at once
    started = time.time()
    again = Gateway().events(since=since, until=time.time(), filters={"type": ["service"]})
    assert any(e["Actor"]["Attributes"].get("name") == service for e in again)
    assert time.time() - started < 5


def test_a_failed_spark_job_recorded_by_the_spark_watcher_is_an_incident(
    gw: Any, redis_server: RedisServer
) -> None:
    import time

    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.job_record import JobAsk, JobRecord
    from sparkswarm.workers.spark_jobs import JobStore

    qc = client(redis_server.url)
    jobs = JobStore.for_client(qc)
    record = JobRecord(
        id="jobfail1",
        stack="spark",
        service="spark_job-x",
        name="pi",
        script="pi.py",
        ask=JobAsk(cores=1, executor_memory_mb=512),
    )
    assert jobs.create(record)
    changes = {
        "state": "FAILED",
        "reason": "driver exited",
        "exit_code": 1,
        "finished_at": time.time(),
    }
    assert jobs.update("jobfail1", changes, expect=("SUBMITTED",)) is not None
    watcher = SwarmWatcher(qc, Gateway(timeout=10))
    changed = watcher.look()
    (found,) = [i for i in changed if i.key == "spark_job:jobfail1"]
    assert found.title == "Spark job jobfail1 (pi on spark) failed (exit code 1): driver exited"
