"""The Celery tasks: one per registered operation, named like it.

Tasks are thin: they take a run id and JSON parameters, hand them to
:func:`sparkswarm.workers.runner.execute_run` and return a JSON summary. The
task list is generated from :func:`sparkswarm.operations.all_operations` when
the worker imports this module, so the worker knows every operation the core
and the queue registered (plus the modules named in
``SPARKSWARM_WORKER_IMPORTS``).
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

from celery import signals

from sparkswarm.config import get_settings
from sparkswarm.workers.app import app

OPERATION_TASKS: dict[str, Any] = {}


def _make_operation_task(op_name: str) -> Any:
    def run_op(self: Any, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
        from sparkswarm.workers.delivery_claim import CLAIM_HEADER, Claim
        from sparkswarm.workers.runner import execute_run

        claimed = Claim.from_header(self.request.get(CLAIM_HEADER))
        return execute_run(op_name, run_id, params, claimed)

    run_op.__doc__ = f"Run operation {op_name!r} for one operation record."
    return app.task(name=op_name, bind=True, acks_late=True, ignore_result=True)(run_op)


def register_operation_tasks() -> dict[str, Any]:
    """Create a task for every registered operation that has none yet."""
    from sparkswarm.operations import all_operations

    for module in get_settings().worker_imports:
        importlib.import_module(module)
    for name in sorted(all_operations()):
        if name not in OPERATION_TASKS:
            OPERATION_TASKS[name] = _make_operation_task(name)
    return OPERATION_TASKS


register_operation_tasks()


def fire_schedule(name: str, timezone: str = "UTC") -> dict[str, Any]:
    """A schedule's tick: submit its operation as an ordinary run (source ``schedule``)."""
    from sparkswarm.workers.schedules import fire

    return fire(name)


app.task(name="sparkswarm.schedule.fire", acks_late=True, ignore_result=True)(fire_schedule)


def bare_noop(mark_list: str) -> None:
    """A bare Celery task for bench/queue_latency.py: note when it started."""
    started = time.time()
    from sparkswarm.workers.runner import worker_client

    worker_client().redis.rpush(mark_list, repr(started))


app.task(name="sparkswarm.bench.bare_noop", ignore_result=True)(bare_noop)


_recovery_stop = threading.Event()


def _start_recovery(**_: Any) -> None:
    """At worker start, and every few seconds after: re-queue orphaned runs."""
    from sparkswarm.workers.recovery import recovery_loop

    threading.Thread(
        target=recovery_loop, args=(_recovery_stop,), daemon=True, name="sparkswarm-recovery"
    ).start()


def _stop_recovery(**_: Any) -> None:
    _recovery_stop.set()


def _start_spark_watcher(**_: Any) -> None:
    """At worker start: a Spark job watcher thread (active only while it holds the lock)."""
    if not get_settings().spark_watcher_in_worker:
        return
    from sparkswarm.workers.spark_watcher import watch_forever

    threading.Thread(
        target=watch_forever, args=(_recovery_stop,), daemon=True, name="sparkswarm-spark-watcher"
    ).start()


def _start_swarm_watcher(**_: Any) -> None:
    """At worker start: a swarm watcher thread (active only while it holds the lease)."""
    if not get_settings().swarm_watcher_in_worker:
        return
    from sparkswarm.workers.swarm_watch import watch_forever

    threading.Thread(
        target=watch_forever, args=(_recovery_stop,), daemon=True, name="sparkswarm-swarm-watcher"
    ).start()


signals.worker_ready.connect(_start_recovery, weak=False)
signals.worker_ready.connect(_start_swarm_watcher, weak=False)
signals.worker_ready.connect(_start_spark_watcher, weak=False)
signals.worker_shutdown.connect(_stop_recovery, weak=False)
