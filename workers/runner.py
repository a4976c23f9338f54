"""Executing one run on a worker.

The life of a delivery (``execute_run``):

1. in one round trip (``lua.CLAIM``): take the run's heartbeat
   (owner: this worker) and its target locks (owner: the run), and mark the
   run ``running``. A heartbeat held by another live worker means this
   message is a duplicate: it is acked and dropped. A finished run is never
   started again; a run started ``max_deliveries`` times on workers that
   all died is failed;
2. if the target is busy (its lock is held, or an older request for it is
   unfinished: requests for one target run in submission order, see
   ``lua._ORDER``), park the message and return: waiting holds no worker
   slot, and the run before it puts it back on the queue when it finishes
   (``lua.FINISH``);
3. run the core operation, retrying errors marked retryable with backoff;
4. record the outcome, release both locks and wake the parked runs, again
   in one script.

A thread refreshes the heartbeat and the target lock while 3 goes on; when
they stop being refreshed, ``recovery.py`` takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sparkswarm.config import retry_delays
from sparkswarm.errors import InvalidRequest, SparkswarmError
from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.events import (
    OperationFailedEvent,
    OperationRecovered,
    OperationRetrying,
    OperationStarted,
    OperationSucceeded,
    OperationWaiting,
    progress_event,
)
from sparkswarm.workers.locks import RedisLock, heartbeat_lock, target_lock
from sparkswarm.workers.sealing import unseal_params

log = logging.getLogger(__name__)

WORKER_TOKEN = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@lru_cache(maxsize=1)
def worker_client() -> QueueClient:
    """The worker process's queue client (one Redis connection pool)."""
    return QueueClient()


@dataclass
class DeliveryOutcome:
    """What a delivery did, returned as the Celery task's JSON result."""

    run_id: str
    outcome: str
    state: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "outcome": self.outcome, "state": self.state}


class _Refresher:
    """One thread per worker process that extends the heartbeat and target
    locks of every run this process holds, every quarter of their TTL.

    Shared rather than one thread per run: starting a thread costs as much as
    a Redis round trip, on every operation.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[RedisLock, RedisLock]] = {}
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, heartbeat: RedisLock, lock: RedisLock) -> None:
        with self._guard:
            self._held[run_id] = (heartbeat, lock)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, daemon=True, name="sparkswarm-heartbeat"
                )
                self._thread.start()

    def drop(self, run_id: str) -> None:
        with self._guard:
            self._held.pop(run_id, None)

    def _loop(self) -> None:
        interval = worker_client().settings.heartbeat_ttl / 4
        while True:
            time.sleep(interval)
            with self._guard:
                held = list(self._held.items())
            for run_id, (heartbeat, lock) in held:
                try:
                    if not heartbeat.extend():
                        log.warning("run %s: heartbeat now held by %s", run_id, heartbeat.holder())
                    if not lock.extend():
                        log.warning(
                            "run %s: target lock %s now held by %s", run_id, lock.key, lock.holder()
                        )
                except Exception as exc:
                    log.warning("heartbeat refresh of run %s failed: %s", run_id, exc)


_REFRESHER = _Refresher()


def execute_run(op_name: str, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Execute one delivery of run ``run_id`` (see the module docstring).

    Never raises for the operation's own failures: they are recorded. Redis
    errors propagate (the message is then not acked and comes back later).
    """
    from sparkswarm.operations import get_operation

    qc = worker_client()
    s = qc.settings
    op = get_operation(op_name)
    target = op.target(params)
    heartbeat = heartbeat_lock(qc.redis, s.key_prefix, run_id, WORKER_TOKEN, s.heartbeat_ttl)
    lock = target_lock(qc.redis, s.key_prefix, target, run_id, s.heartbeat_ttl * 3)
    started = OperationStarted(
        run_id=run_id,
        op=op_name,
        target=target,
        worker=WORKER_TOKEN,
        message=f"started on {WORKER_TOKEN}",
    ).model_dump_json()
    while True:
        outcome, delivery, holder, _busy = qc.store.claim(
            run_id,
            WORKER_TOKEN,
            lock.keys,
            started,
            heartbeat_ttl=s.heartbeat_ttl,
            lock_ttl=s.heartbeat_ttl * 3,
            max_deliveries=s.max_deliveries,
        )
        if outcome != "locked":
            break
        if _park(qc, op_name, run_id, target, params, holder, lock.keys):
            return DeliveryOutcome(run_id, "parked", "queued").as_dict()
        # The target was freed between the two scripts: claim again.
    if outcome in ("duplicate", "done", "missing"):
        # duplicate: another live worker is executing this run right now.
        return DeliveryOutcome(run_id, outcome).as_dict()
    _REFRESHER.hold(run_id, heartbeat, lock)
    try:
        if outcome == "exhausted":
            reason = (
                f"worker died {delivery} times while running this operation; not starting it again"
            )
            _finish_failed(qc, run_id, op_name, target, reason, "OperationFailed", lock)
            return DeliveryOutcome(run_id, "exhausted", "failed").as_dict()
        if delivery > 1:
            qc.store.note(
                run_id,
                f"recovered after worker loss: delivery {delivery} started on {WORKER_TOKEN}",
            )
            qc.events.publish(
                OperationRecovered(
                    run_id=run_id,
                    op=op_name,
                    target=target,
                    delivery=delivery,
                    message=f"recovered after worker loss (delivery {delivery})",
                )
            )
        try:
            params = _execution_params(qc, op_name, run_id, params)
        except InvalidRequest as exc:
            _finish_failed(qc, run_id, op_name, target, str(exc), "InvalidRequest", lock)
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        return _run_and_record(qc, op_name, run_id, target, params, lock)
    finally:
        _REFRESHER.drop(run_id)


def _execution_params(
    qc: QueueClient, op_name: str, run_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The parameters to run with: the message's, with the secret ones read
    from the run's parameters key and unsealed (the message has them masked).
    InvalidRequest if they are sealed with a key this worker lacks."""
    from sparkswarm.operations import get_operation

    if not get_operation(op_name).secret_params:
        return params
    stored = qc.store.execution_params(run_id)
    if stored is None:  # a message of the previous version: secrets in its body
        return params
    return unseal_params({**params, **stored}, qc.secret_key)


def _park(
    qc: QueueClient,
    op_name: str,
    run_id: str,
    target: str,
    params: dict[str, Any],
    holder: str,
    lock_keys: list[str],
) -> bool:
    """Park the run while its target is busy (no worker slot is held while it
    waits); the run before it re-queues it when done. False if nothing blocks
    it now."""
    message = qc.message_for(op_name, run_id, params)
    if not qc.store.park(run_id, WORKER_TOKEN, lock_keys, message):
        return False
    qc.events.publish(
        OperationWaiting(
            run_id=run_id,
            op=op_name,
            target=target,
            holder=holder,
            message=f"waiting for {target}: run {holder} goes first",
        )
    )
    return True


def _run_and_record(
    qc: QueueClient,
    op_name: str,
    run_id: str,
    target: str,
    params: dict[str, Any],
    lock: RedisLock,
) -> dict[str, Any]:
    from sparkswarm.gateway import Gateway
    from sparkswarm.operations import run_operation

    s = qc.settings

    def progress(message: str, /, **details: Any) -> None:
        try:
            qc.events.publish(progress_event(run_id, op_name, target, message, details))
        except Exception as exc:
            log.warning("progress event lost: %s", exc)

    delays = retry_delays(s.retry_attempts, s.retry_backoff, s.retry_backoff_max)
    attempt = 0
    while True:
        attempt += 1
        gw = Gateway.from_settings()
        try:
            result = run_operation(gw, op_name, params, progress)
        except SparkswarmError as exc:
            if exc.retryable and attempt <= len(delays):
                delay = delays[attempt - 1]
                qc.store.note(
                    run_id,
                    f"attempt {attempt} failed ({type(exc).__name__}: {exc}); "
                    f"retrying in {delay:g}s",
                    count="retries",
                )
                qc.events.publish(
                    OperationRetrying(
                        run_id=run_id,
                        op=op_name,
                        target=target,
                        attempt=attempt,
                        delay=delay,
                        error=str(exc),
                        message=f"attempt {attempt} failed, retrying in {delay:g}s",
                    )
                )
                time.sleep(delay)
                continue
            reason = str(exc)
            if exc.retryable:
                reason = f"{exc} (gave up after {attempt} attempts)"
            _finish_failed(qc, run_id, op_name, target, reason, type(exc).__name__, lock)
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        except Exception as exc:
            log.exception("operation %s (run %s) crashed", op_name, run_id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            _finish_failed(qc, run_id, op_name, target, reason, "InternalError", lock)
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        finally:
            gw.close()
        event = OperationSucceeded(
            run_id=run_id, op=op_name, target=target, result=result, message="succeeded"
        )
        state = qc.store.finish(
            run_id,
            "succeeded",
            event.model_dump_json(),
            result=result,
            allowed_from=("running",),
            worker=WORKER_TOKEN,
            lock_keys=lock.keys,
            queue=s.queue,
        )
        return DeliveryOutcome(
            run_id, "finished" if state == "ok" else f"late:{state}", "succeeded"
        ).as_dict()


def _finish_failed(
    qc: QueueClient,
    run_id: str,
    op_name: str,
    target: str,
    reason: str,
    error_type: str,
    lock: RedisLock,
) -> None:
    event = OperationFailedEvent(
        run_id=run_id,
        op=op_name,
        target=target,
        error=reason,
        error_type=error_type,
        message=reason,
    )
    qc.store.finish(
        run_id,
        "failed",
        event.model_dump_json(),
        error=reason,
        error_type=error_type,
        allowed_from=("queued", "running"),
        worker=WORKER_TOKEN,
        lock_keys=lock.keys,
        queue=qc.settings.queue,
    )
