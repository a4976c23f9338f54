"""Recovering runs whose worker died, on every worker, every few seconds.

Redis hands an unacked message to another worker only after the visibility
timeout, which must outlast the longest operation (hours). Recovery does not
wait for it:

- a run a worker has taken keeps a heartbeat key alive (TTL ``heartbeat_ttl``,
  refreshed four times per TTL). A run in the active set whose heartbeat is
  missing on two passes ``heartbeat_ttl / 2`` apart is orphaned: it is
  re-queued (a fresh message; the claim makes any later copy a no-op and
  counts deliveries, so it finishes once and gives up after
  ``max_deliveries``). Leaving the active set and pushing that message are
  one script, so a recovering worker that dies midway leaves the run to the
  next pass instead of stranding it;
- a run still queued after ``lost_after`` whose message is nowhere (not on
  the queue, not parked, not freshly delivered) is re-queued too: its worker
  died, or its connection dropped, between taking the message and claiming;
- parked runs that nothing blocks any more (the run before them vanished
  without finishing) are put back on the queue;
- finished records beyond the retention are trimmed.

A worker recovers only runs of its own queue (the record names it): a run
of a queue nobody serves waits for that queue's workers, whose operations
and settings may differ. Records of older versions name no queue and are
recovered by any worker. A record whose operation is unknown here or
``local`` (written straight into Redis) is failed, never re-queued: no
worker may run it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.events import OperationFailedEvent, OperationRecovered
from sparkswarm.workers.run_record import RunRecord
from sparkswarm.workers.runner import WORKER_TOKEN, worker_client

log = logging.getLogger(__name__)


def recover_orphans(qc: QueueClient) -> list[str]:
    """One recovery pass: re-queue runs whose worker stopped heartbeating.

    A run counts as orphaned when its heartbeat was missing on two passes at
    least half a heartbeat TTL apart. Returns the ids re-queued.
    """
    recovered: list[str] = []
    grace = qc.settings.heartbeat_ttl / 2
    for run_id in qc.store.active_ids():
        if not qc.store.orphaned(run_id, grace):
            continue
        record = qc.store.find(run_id)
        if record is None or not ours(qc, record) or not runnable(qc, record):
            continue
        # Leaving the active set and the new message go together (one
        # script): if this worker dies here, the run is still active and
        # the next pass, on any worker of its queue, finds it again.
        requeued = qc.store.requeue_orphan(
            run_id,
            qc.settings.queue,
            qc.message_for(record.op, run_id, record.params),
            f"recovered after worker loss: heartbeat of {record.worker or 'its worker'} "
            f"expired (it died, or lost Redis); re-queued by {WORKER_TOKEN}",
        )
        if not requeued:
            continue  # another worker re-queued it, or it was claimed again
        qc.events.publish(
            OperationRecovered(
                run_id=run_id,
                op=record.op,
                target=record.target,
                delivery=record.deliveries,
                message="worker lost; re-queued",
            )
        )
        recovered.append(run_id)
        log.warning("re-queued run %s (%s) after its worker died", run_id, record.op)
    return recovered


def ours(qc: QueueClient, record: RunRecord) -> bool:
    """Whether ``record``'s run belongs to this worker's queue (a record of
    an older version, naming no queue, belongs to every queue)."""
    return not record.queue or record.queue == qc.settings.queue


def runnable(qc: QueueClient, record: RunRecord) -> bool:
    """False, after failing the run, when no worker may run ``record``: its
    operation is unknown here or ``local``. Such a record was not written by
    ``submit`` (which refuses them), so nothing of it is re-queued."""
    from sparkswarm.operations import all_operations

    op = all_operations().get(record.op)
    if op is not None and not op.local:
        return True
    why = "unknown here" if op is None else "local: it acts on the engine of the machine running it"
    reason = f"operation {record.op!r} is {why}; a worker never runs it (refused)"
    event = OperationFailedEvent(
        run_id=record.id,
        op=record.op,
        target=record.target,
        error=reason,
        error_type="InvalidRequest",
        message=reason,
    )
    qc.store.finish(
        record.id,
        "failed",
        event.model_dump_json(),
        error=reason,
        error_type="InvalidRequest",
        allowed_from=("queued", "running"),
        queue=qc.settings.queue,
    )
    log.error("run %s refused: %s", record.id, reason)
    return False


def requeue_lost_messages(qc: QueueClient) -> list[str]:
    """Re-queue queued runs whose message is nowhere: not on the queue, not
    parked on a lock, not recently delivered to a worker, and no worker has
    started them. That happens when a worker dies between taking a message
    and claiming its run, or its connection drops there. Looks at the newest 1,000 runs older than
    ``lost_after``. A message found missing while it moves between Redis
    lists only gives a duplicate, which the claim turns into a no-op.
    """
    s = qc.settings
    now = time.time()
    r: Any = qc.redis  # decode_responses=True: strings throughout
    ids: list[str] = r.zrevrangebyscore(
        qc.store.index_key, now - s.lost_after, "-inf", start=0, num=1000
    )
    if not ids:
        return []
    with r.pipeline(transaction=False) as pipe:
        for run_id in ids:
            pipe.hget(qc.store.run_key(run_id), "state")
        states = pipe.execute()
    active = r.smembers(qc.store.active_key)
    queued = [i for i, st in zip(ids, states, strict=True) if st == "queued" and i not in active]
    if not queued:
        return []
    # Where a queued run's message can be: the queue, a lock's waiting list,
    # or kombu's hash of messages delivered to workers and not yet acked, if
    # delivered recently. A worker starts what it takes at once (prefetch 1,
    # a slot per message), so an older delivery whose run is still queued was
    # lost with its worker, or with its connection when Redis restarted (kombu
    # would hand it out again only after the visibility timeout).
    places: list[str] = r.lrange(s.queue, 0, -1)
    places += qc.store.parked_messages()
    for lock_key in r.smembers(qc.store.waiting_key):  # the previous version's parking
        places += r.lrange(f"{lock_key}:waiting", 0, -1)
    recent_tags = r.zrangebyscore("unacked_index", now - s.lost_after, "+inf")
    if recent_tags:
        places += [m for m in r.hmget("unacked", recent_tags) if m]
    haystack = "\n".join(places)
    lost: list[str] = []
    for run_id in queued:
        if f'"{run_id}"' in haystack:
            continue
        record = qc.store.find(run_id)
        if record is None or record.state != "queued" or not ours(qc, record):
            continue
        if not runnable(qc, record):
            continue
        qc.store.note(run_id, "its message was lost (a worker died before starting it); re-queued")
        qc.publish(record.op, run_id, record.params)
        lost.append(run_id)
        log.warning("re-queued run %s (%s): its message was lost", run_id, record.op)
    return lost


def recovery_loop(stop: threading.Event) -> None:
    """Run recovery passes (lost messages, parked runs, record trimming too)
    until ``stop`` is set."""
    qc = worker_client()
    last_trim = last_sweep = 0.0
    while True:
        try:
            recover_orphans(qc)
            qc.store.sweep_parked(qc.settings.queue)
            if time.monotonic() - last_sweep > qc.settings.lost_after / 2:
                requeue_lost_messages(qc)
                last_sweep = time.monotonic()
            if time.monotonic() - last_trim > 60:
                qc.store.trim()
                last_trim = time.monotonic()
        except Exception as exc:
            log.warning("recovery pass failed: %s", exc)
        if stop.wait(qc.settings.recovery_interval):
            return
