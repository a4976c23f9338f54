"""Typed events about operations, on one Redis stream.

Producers (the submitting client, the worker, the scheduler) append with
``XADD ... MAXLEN ~ N``; consumers (``sparkswarm events``, the CLI's progress
display, the Slack notifier) read with ``XREAD``. Each entry has one field,
``event``, holding the JSON of one of the models below; ``type`` tells them
apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from sparkswarm.model_base import LazyModel

if TYPE_CHECKING:
    from sparkswarm.workers.redis_api import RedisClient

TERMINAL_TYPES = frozenset({"operation.succeeded", "operation.failed", "operation.cancelled"})


class _Event(LazyModel):
    run_id: str
    op: str = ""
    target: str = ""
    at: float = Field(default_factory=time.time)
    message: str = ""


class OperationQueued(_Event):
    type: Literal["operation.queued"] = "operation.queued"
    requester: str = ""
    source: str = ""


class OperationWaiting(_Event):
    """The run's target is locked by another run; it waits (bounded) or re-queues."""

    type: Literal["operation.waiting"] = "operation.waiting"
    holder: str = ""


class OperationStarted(_Event):
    type: Literal["operation.started"] = "operation.started"
    worker: str = ""


class OperationRecovered(_Event):
    """A run whose worker died was re-queued, or started again on a new worker."""

    type: Literal["operation.recovered"] = "operation.recovered"
    delivery: int = 0


class OperationProgress(_Event):
    type: Literal["operation.progress"] = "operation.progress"
    details: dict[str, Any] = Field(default_factory=dict)


class TaskStateChanged(_Event):
    """A swarm task changed state during the operation (e.g. a rolling update)."""

    type: Literal["task.state"] = "task.state"
    service: str = ""
    task: str = ""
    state: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class OperationRetrying(_Event):
    type: Literal["operation.retrying"] = "operation.retrying"
    attempt: int = 0
    delay: float = 0.0
    error: str = ""


class OperationSucceeded(_Event):
    type: Literal["operation.succeeded"] = "operation.succeeded"
    # A list for reads that return rows (service.ls, node.ls, ...).
    result: dict[str, Any] | list[Any] = Field(default_factory=dict)


class OperationFailedEvent(_Event):
    """The run ended with an error (the exception ``errors.OperationFailed`` is
    one kind of it; ``error_type`` names which)."""

    type: Literal["operation.failed"] = "operation.failed"
    error: str = ""
    error_type: str = ""


class OperationCancelled(_Event):
    type: Literal["operation.cancelled"] = "operation.cancelled"


class ScheduleSkipped(_Event):
    """A schedule's tick did not submit a run (``--concurrency forbid``)."""

    type: Literal["schedule.skipped"] = "schedule.skipped"
    schedule: str = ""


class SparkJobChanged(_Event):
    """A Spark job moved to another state (or its reason for waiting changed).

    ``run_id`` is the ``spark.submit`` run that started the job (the bot posts
    in that run's thread); ``job_id`` names the job record.
    """

    type: Literal["spark.job"] = "spark.job"
    job_id: str = ""
    stack: str = ""
    state: str = ""
    previous: str = ""
    reason: str | None = None
    requester: str = ""
    source: str = ""
    app_id: str | None = None


Event = Annotated[
    OperationQueued
    | OperationWaiting
    | OperationStarted
    | OperationRecovered
    | OperationProgress
    | TaskStateChanged
    | OperationRetrying
    | OperationSucceeded
    | OperationFailedEvent
    | OperationCancelled
    | ScheduleSkipped
    | SparkJobChanged,
    Field(discriminator="type"),
]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: str | bytes) -> Event:
    """One event from its JSON; pydantic's ValidationError if it is not one."""
    return _EVENT_ADAPTER.validate_json(raw)


def progress_event(
    run_id: str, op: str, target: str, message: str, details: dict[str, Any]
) -> OperationProgress | TaskStateChanged:
    """The event for one call of a core ``progress`` callback.

    A report that names a task and its state (``task=..., state=...``) is a
    task state change; anything else is plain progress.
    """
    task = details.get("task") or details.get("task_id")
    state = details.get("state") or details.get("task_state")
    if task and isinstance(state, str):
        rest = {k: v for k, v in details.items() if k not in ("task", "task_id", "state")}
        return TaskStateChanged(
            run_id=run_id,
            op=op,
            target=target,
            message=message,
            service=str(details.get("service", "")),
            task=str(task),
            state=state,
            details=_jsonable(rest),
        )
    return OperationProgress(
        run_id=run_id, op=op, target=target, message=message, details=_jsonable(details)
    )


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out


class EventStream:
    """The stream ``<prefix>events`` on one Redis client."""

    def __init__(self, client: RedisClient, prefix: str, maxlen: int = 10_000) -> None:
        self.client = client
        self.key = f"{prefix}events"
        self.maxlen = maxlen

    def publish(self, event: _Event) -> str:
        """Append ``event``; returns its stream id. Raises redis errors as they come."""
        return self.client.xadd(
            self.key, {"event": event.model_dump_json()}, maxlen=self.maxlen, approximate=True
        )

    def read(
        self, after: str = "0-0", *, block_ms: int | None = None, count: int = 500
    ) -> list[tuple[str, Event]]:
        """Events after stream id ``after`` (``$``: only new ones), oldest first."""
        reply = self.client.xread({self.key: after}, count=count, block=block_ms)
        out: list[tuple[str, Event]] = []
        for _stream, entries in reply or []:
            for sid, fields in entries:
                raw = fields.get("event")
                if raw is not None:
                    out.append((sid, parse_event(raw)))
        return out

    def last(self, count: int) -> list[tuple[str, Event]]:
        """The newest ``count`` events, oldest first."""
        entries = self.client.xrevrange(self.key, count=count)
        out: list[tuple[str, Event]] = []
        for sid, fields in reversed(entries):
            raw = fields.get("event")
            if raw is not None:
                out.append((sid, parse_event(raw)))
        return out

    def follow(
        self, after: str = "$", *, run_id: str | None = None, block_ms: int = 1000
    ) -> Iterator[tuple[str, Event] | None]:
        """Events after ``after`` forever, filtered to ``run_id`` if given.

        Yields None after each quiet ``block_ms`` so callers can check other
        things (the run record, a deadline) between events.
        """
        cursor = after
        if cursor == "$":
            newest = self.client.xrevrange(self.key, count=1)
            cursor = newest[0][0] if newest else "0-0"
        while True:
            batch = self.read(cursor, block_ms=block_ms)
            if not batch:
                yield None
                continue
            for sid, event in batch:
                cursor = sid
                if run_id is None or event.run_id == run_id:
                    yield sid, event
