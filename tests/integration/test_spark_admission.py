"""The waiting line on a real redis-server and the real engine (no Spark
cluster): places are updated and announced, a waiting job that cannot start
(its stack is gone) fails with the reason, one cancelled while waiting never
starts, and deciders exclude each other through the admission lock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sparkswarm.spark.quota import Quota, QuotaBook
from sparkswarm.workers.spark_admission import FairShare
from sparkswarm.workers.spark_jobs import JobStore
from tests.integration.test_spark_job_store import events, new_record

pytestmark = pytest.mark.integration


@pytest.fixture
def share(redis_url: str) -> Iterator[FairShare]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"ssw-test-{uuid.uuid4().hex[:8]}:"
    yield FairShare(JobStore(client, prefix), QuotaBook(Quota(1, 4)))
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def queued(share: FairShare, job_id: str, owner: str, at: float, stack: str) -> None:
    record = new_record(
        job_id, state="QUEUED", requester=owner, created_at=at, stack=stack, reason="new"
    )
    assert share.store.create(record)
    share.keep_params(job_id, {"stack": stack, "script": "print(1)\n", "script_name": "a.py"})


def test_places_are_updated_and_a_job_that_cannot_start_fails_with_the_reason(
    share: FairShare, gw: Any, name: Any
) -> None:
    gone = name("gone")  # no such stack on the engine
    now = time.time()
    assert share.store.create(new_record("run00001", requester="UA", created_at=now - 9))
    queued(share, "wait0001", "UA", now - 5, gone)
    queued(share, "wait0002", "UA", now - 4, gone)
    queued(share, "wait0003", "UB", now - 3, gone)

    changed = {r.id: r for r in share.start_waiting(gw)}
    # UB's job had its turn (UA's one running job fills UA's quota): no stack, so it failed.
    failed = changed["wait0003"]
    assert failed.state == "FAILED" and "could not start" in (failed.reason or "")
    assert gone in (failed.reason or "") and failed.cleaned_at is not None
    assert share.take_params("wait0003") is None
    # UA's wait in order, with their places, each change announced.
    assert changed["wait0001"].reason == "0 ahead of you (your quota: 1 job and 4 cores at once)"
    assert (changed["wait0002"].reason or "").startswith("1 ahead of you")
    announced = [(e.job_id, e.reason) for e in events(share.store) if e.state == "QUEUED"]
    assert ("wait0002", changed["wait0002"].reason) in announced
    # Nothing changed: nothing is written or announced again.
    before = len(events(share.store))
    assert share.start_waiting(gw) == []
    assert len(events(share.store)) == before


def test_a_job_cancelled_while_waiting_never_starts(share: FairShare, gw: Any, name: Any) -> None:
    queued(share, "wait0004", "UC", time.time(), name("gone"))
    record = share.store.get("wait0004")
    cancelled = share.cancel_waiting(record, "UC")
    assert cancelled is not None and cancelled.state == "CANCELLED"
    assert share.take_params("wait0004") is None
    assert share.start_waiting(gw) == []
    assert [e.state for e in events(share.store) if e.job_id == "wait0004"] == [
        "QUEUED",
        "CANCELLED",
    ]
    assert share.cancel_waiting(share.store.get("wait0004"), "UC") is None


def test_a_second_decider_waits_its_turn(share: FairShare, gw: Any, name: Any) -> None:
    queued(share, "wait0005", "UD", time.time(), name("gone"))
    holder = share.lock()
    assert holder.acquire()
    try:
        assert share.start_waiting(gw) == []  # the lock is taken: this pass does nothing
        assert share.store.get("wait0005").state == "QUEUED"
    finally:
        holder.release()
    assert [r.state for r in share.start_waiting(gw)] == ["FAILED"]
