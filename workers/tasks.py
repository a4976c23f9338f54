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
from collections.abc import Callable
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


_background_stop = threading.Event()


def _start_background_threads(**_: Any) -> None:
    """At worker start: the recovery of orphaned runs (every few seconds), and
    as the settings say the swarm and Spark job watchers (each active only
    while it holds its lease or lock); all stop when the worker shuts down."""
    from sparkswarm.workers.recovery import recovery_loop

    settings = get_settings()
    loops: list[tuple[str, Callable[[threading.Event], None]]] = [("recovery", recovery_loop)]
    if settings.swarm_watcher_in_worker:
        from sparkswarm.workers import swarm_watch

        loops.append(("swarm-watcher", swarm_watch.watch_forever))
    if settings.spark_watcher_in_worker:
        from sparkswarm.workers import spark_watcher

        loops.append(("spark-watcher", spark_watcher.watch_forever))
    for name, loop in loops:
        threading.Thread(
            target=loop, args=(_background_stop,), daemon=True, name=f"sparkswarm-{name}"
        ).start()


def _stop_background_threads(**_: Any) -> None:
    _background_stop.set()


signals.worker_ready.connect(_start_background_threads, weak=False)
signals.worker_shutdown.connect(_stop_background_threads, weak=False)
