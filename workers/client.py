"""Submitting operations to the queue and following them: what the CLI, the
Slack bot and the scheduler call.

``submit`` records the run (atomically, keyed by the idempotency key) and
publishes one message to the task named like the operation. ``follow``
yields the run's events until it is finished.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sparkswarm.config import Settings, get_settings
from sparkswarm.errors import Conflict, InvalidRequest, NotFound, Unavailable
from sparkswarm.workers import builtin_ops
from sparkswarm.workers.events import Event, EventStream, OperationCancelled, OperationQueued
from sparkswarm.workers.records import SOURCES, RunRecord, RunStore

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
builtin_ops.register_builtin_ops()


@contextmanager
def broker_errors(what: str = "redis") -> Iterator[None]:
    """Turn redis-py and kombu connection errors into :class:`Unavailable`."""
    import kombu.exceptions
    import redis

    try:
        yield
    except (redis.RedisError, kombu.exceptions.OperationalError, ConnectionError) as exc:
        raise Unavailable(f"{what}: broker unreachable: {exc}") from exc


@dataclass(frozen=True)
class Submission:
    """What ``submit`` did: the run id, whether this call created it, and the
    stream id of its ``queued`` event (follow from there)."""

    run_id: str
    created: bool
    stream_id: str


class QueueClient:
    """A connection to the queue's Redis: records, events and publishing."""

    def __init__(self, settings: Settings | None = None, url: str | None = None) -> None:
        import redis

        self.settings = settings or get_settings()
        self.url = url or self.settings.redis_url
        if not self.url:
            raise InvalidRequest("no broker configured: set SPARKSWARM_REDIS_URL")
        # decode_responses=True: every reply is str (redis-py types cannot say so).
        self.redis: Any = redis.Redis.from_url(
            self.url, decode_responses=True, socket_connect_timeout=5, health_check_interval=30
        )
        prefix = self.settings.key_prefix
        self.store = RunStore(
            self.redis,
            prefix,
            retention_days=self.settings.run_retention_days,
            retention_count=self.settings.run_retention_count,
            events_maxlen=self.settings.events_maxlen,
        )
        self.events = EventStream(self.redis, prefix, self.settings.events_maxlen)

    def message_for(self, op_name: str, run_id: str, params: dict[str, Any]) -> str:
        """The Celery message (as kombu writes it) that runs ``run_id`` on this
        client's queue; secrets masked in its header, not in its body."""
        from sparkswarm.operations import get_operation, mask_secrets
        from sparkswarm.workers.app import app
        from sparkswarm.workers.wire import task_envelope

        shown = mask_secrets(get_operation(op_name), params)
        return task_envelope(
            app,
            op_name,
            run_id,
            {"run_id": run_id, "params": params},
            self.settings.queue,
            kwargs_shown={"run_id": run_id, "params": shown},
        )

    def publish(self, op_name: str, run_id: str, params: dict[str, Any]) -> None:
        """Push another message for an existing run (recovery, re-queue) onto
        this client's queue; Unavailable without Redis."""
        message = self.message_for(op_name, run_id, params)
        with broker_errors("publish"):
            self.redis.lpush(self.settings.queue, message)

    def submit(
        self,
        op_name: str,
        params: dict[str, Any],
        *,
        requester: str,
        source: str = "cli",
        key: str | None = None,
        schedule: str | None = None,
    ) -> Submission:
        """Record and enqueue operation ``op_name``; the same ``key`` twice runs once.

        The record and the task message are written in one atomic script: a
        run is either recorded and queued, or neither. Raises InvalidRequest
        for an unknown operation, source or malformed key, Unavailable when
        Redis cannot be reached (nothing was recorded or queued then).
        """
        from sparkswarm.operations import get_operation, mask_secrets

        op = get_operation(op_name)
        if source not in SOURCES:
            raise InvalidRequest(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
        if key is not None and not _KEY_PATTERN.match(key):
            raise InvalidRequest(
                "an idempotency key is 1-128 letters, digits and . _ : @ - "
                "(starting with a letter or digit)"
            )
        run_id = key or uuid.uuid4().hex
        target = op.target(params)
        record = RunRecord(
            id=run_id,
            op=op_name,
            target=target,
            requester=requester,
            source=source,
            params=mask_secrets(op, params),
            created_at=time.time(),
            schedule=schedule,
        )
        event = OperationQueued(
            run_id=run_id,
            op=op_name,
            target=target,
            requester=requester,
            source=source,
            message=f"queued by {requester} ({source})",
        )
        from sparkswarm.workers.app import app
        from sparkswarm.workers.wire import task_envelope

        message = task_envelope(
            app,
            op_name,
            run_id,
            {"run_id": run_id, "params": params},
            self.settings.queue,
            kwargs_shown={"run_id": run_id, "params": record.params},
        )
        with broker_errors("submit"):
            created, sid = self.store.create(
                record,
                params,
                event.model_dump_json(),
                queue_key=self.settings.queue,
                message=message,
            )
        if not created:
            return Submission(run_id, False, "")
        return Submission(run_id, True, sid)

    def get(self, run_id: str) -> RunRecord:
        """The record of ``run_id`` or of the one recent run whose id starts
        with it (as ``runs ls`` shows them). NotFound; InvalidRequest if the
        prefix is ambiguous; Unavailable without Redis."""
        with broker_errors():
            record = self.store.find(run_id)
            if record is not None:
                return record
            if len(run_id) >= 4:
                recent = self.redis.zrevrange(self.store.index_key, 0, 4999)
                matches = [i for i in recent if i.startswith(run_id)]
                if len(matches) > 1:
                    raise InvalidRequest(f"run id prefix {run_id!r} is ambiguous")
                if matches:
                    return self.store.get(matches[0])
            return self.store.get(run_id)

    def list(self, **filters: Any) -> list[RunRecord]:
        """Records, newest first; see :meth:`RunStore.list`."""
        with broker_errors():
            return self.store.list(**filters)

    def cancel(self, run_id: str, *, requester: str) -> RunRecord:
        """Cancel a queued run. Conflict if it started or ended already; NotFound."""
        record = self.get(run_id)
        run_id = record.id
        event = OperationCancelled(
            run_id=run_id, op=record.op, target=record.target, message=f"cancelled by {requester}"
        )
        with broker_errors():
            outcome = self.store.finish(
                run_id,
                "cancelled",
                event.model_dump_json(),
                error=f"cancelled by {requester}",
                error_type="Cancelled",
                allowed_from=("queued",),
            )
        if outcome == "missing":
            raise NotFound(f"no operation run {run_id!r}")
        if outcome != "ok":
            raise Conflict(f"run {run_id} is {outcome}; only queued runs can be cancelled")
        return self.get(run_id)

    def follow(
        self,
        run_id: str,
        *,
        after: str = "0-0",
        timeout: float | None = None,
        on_quiet: Callable[[RunRecord], None] | None = None,
    ) -> Iterator[Event]:
        """The events of ``run_id`` from stream id ``after`` until it is finished.

        The record is checked whenever the stream is quiet, so a trimmed or
        missed final event still ends the loop (``on_quiet`` gets that record).
        Unavailable without Redis; TimeoutError after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with broker_errors("events"):
            for item in self.events.follow(after, run_id=run_id, block_ms=1000):
                if item is not None:
                    yield item[1]
                    if item[1].type in (
                        "operation.succeeded",
                        "operation.failed",
                        "operation.cancelled",
                    ):
                        return
                    continue
                record = self.store.get(run_id)
                if record.done:
                    return
                if on_quiet is not None:
                    on_quiet(record)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"run {run_id} still not finished after {timeout}s")

    def wait(self, run_id: str, timeout: float = 600.0) -> RunRecord:
        """Block until ``run_id`` is finished; its record. TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.get(run_id)
            if record.done:
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {record.state} after {timeout}s")
            time.sleep(0.1)


@lru_cache(maxsize=1)
def queue_client() -> QueueClient:
    """The process-wide client for the configured broker."""
    return QueueClient()


def requester_name() -> str:
    """``user@host`` of this process, for records of CLI submissions."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
