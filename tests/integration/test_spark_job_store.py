"""Job records on a real redis-server: created once, moved by compare-and-set,
each state change announced once on the events stream, trimmed like runs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sparkswarm.spark.job_record import JobAsk, JobRecord
from sparkswarm.workers.events import EventStream
from sparkswarm.workers.spark_jobs import JobStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis_url: str) -> Iterator[JobStore]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"ssw-test-{uuid.uuid4().hex[:8]}:"
    yield JobStore(client, prefix, retention_days=1, retention_count=3)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def new_record(job_id: str, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": job_id,
        "stack": "lab",
        "service": f"lab-job-{job_id}",
        "name": "pi",
        "script": "pi.py",
        "ask": JobAsk(cores=1, executor_memory_mb=512),
        "run_id": "run1",
    }
    values.update(changes)
    return JobRecord(**values)


def events(store: JobStore) -> list[Any]:
    stream = EventStream(store.client, store.prefix)
    return [e for _, e in stream.read("0-0", count=1000)]


def test_a_record_is_created_once_with_its_event(store: JobStore) -> None:
    assert store.create(new_record("aaaa1111"))
    assert not store.create(new_record("aaaa1111", name="other"))
    assert store.get("aaaa1111").name == "pi"
    assert store.get("aaaa").id == "aaaa1111"  # a unique prefix will do
    assert store.active_ids() == ["aaaa1111"]
    (event,) = events(store)
    assert event.type == "spark.job" and event.state == "SUBMITTED" and event.run_id == "run1"


def test_racing_watchers_record_the_end_once(store: JobStore) -> None:
    store.create(new_record("bbbb2222", state="RUNNING"))
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def finish(n: int) -> None:
        barrier.wait()
        results.append(
            store.update(
                "bbbb2222",
                {"state": "SUCCEEDED", "output": [f"from {n}"]},
                expect=("RUNNING",),
            )
        )

    threads = [threading.Thread(target=finish, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    assert [e.state for e in events(store)] == ["RUNNING", "SUCCEEDED"]
    assert store.active_ids() == [] and store.unclean_ids() == ["bbbb2222"]
    # A late watcher's change of a final record is refused.
    assert store.update("bbbb2222", {"state": "FAILED"}, expect=("RUNNING",)) is None


def test_a_reason_change_is_recorded_without_an_event(store: JobStore) -> None:
    store.create(new_record("cccc3333"))
    updated = store.update("cccc3333", {"reason": "waiting for cores"}, expect=("SUBMITTED",))
    assert updated is not None and updated.reason == "waiting for cores"
    assert len(events(store)) == 1


def test_list_filters_and_trim_keeps_active_jobs(store: JobStore) -> None:
    for n in range(5):
        state = "RUNNING" if n == 0 else "SUCCEEDED"
        store.create(new_record(f"dddd000{n}", state=state, created_at=1000.0 + n))
    assert [r.id for r in store.list(state="SUCCEEDED", limit=2)] == ["dddd0004", "dddd0003"]
    removed = store.trim(now=1000.0 + 2 * 86400)
    assert removed == 4  # all ended ones are past the retention; the running one stays
    assert [r.id for r in store.list()] == ["dddd0000"]
