"""Submitting operations to the queue and following them: what the CLI, the
Slack bot and the scheduler call.

``submit`` records the run (atomically, keyed by the idempotency key) and
publishes one message to the task named like the operation. ``follow``
yields the run's events until it is finished.
"""

from __future__ import annotations

import builtins
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from sparkswarm.config import Settings, get_settings
from sparkswarm.errors import Conflict, InvalidRequest, NotFound, OperationFailed, Unavailable
from sparkswarm.executor import SOURCES
from sparkswarm.model_base import LazyModel
from sparkswarm.workers.attachment_waits import AttachmentWaits
from sparkswarm.workers.events import (
    TERMINAL_TYPES,
    Event,
    EventStream,
    OperationCancelled,
    OperationQueued,
)
from sparkswarm.workers.records import RunStore
from sparkswarm.workers.redis_api import RedisClient
from sparkswarm.workers.run_record import RunRecord
from sparkswarm.workers.sealing import seal_params

if TYPE_CHECKING:
    from sparkswarm.workers.dead_letters import DeadLetter

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


@contextmanager
def broker_errors(what: str = "redis") -> Iterator[None]:
    """Turn redis-py and kombu errors into ours: :class:`Unavailable` when
    Redis could not be reached, :class:`OperationFailed` when it answered with
    an error (a script error, WRONGTYPE, OOM): that is no "unreachable"."""
    import kombu.exceptions
    import redis

    try:
        yield
    except redis.ResponseError as exc:
        raise OperationFailed(f"{what}: Redis refused the command: {exc}") from exc
    except (redis.RedisError, kombu.exceptions.OperationalError, ConnectionError) as exc:
        raise Unavailable(f"{what}: broker unreachable: {exc}") from exc


@dataclass(frozen=True)
class Submission:
    """What ``submit`` did: the run id, whether this call created it, and the
    stream id of its ``queued`` event (follow from there)."""

    run_id: str
    created: bool
    stream_id: str


class Refusal(LazyModel):
    """A request refused before anything was queued: who, what, why, when."""

    at: float
    requester: str
    source: str
    words: str
    reason: str


class QueueClient:
    """A connection to the queue's Redis: records, events and publishing."""

    def __init__(self, settings: Settings | None = None, url: str | None = None) -> None:
        from sparkswarm.workers.redis_connect import connect

        self.settings = settings or get_settings()
        self.url = url or self.settings.redis_url
        if not self.url:
            raise InvalidRequest("no broker configured: set SPARKSWARM_REDIS_URL")
        # decode_responses=True: every reply is str; redis-py's types cannot say
        # so, RedisClient does (see redis_api.py). A sentinel:// URL gives a
        # client of the current primary (see redis_connect.py).
        self.redis = cast(
            RedisClient,
            connect(
                self.settings,
                self.url,
                decode_responses=True,
                socket_connect_timeout=5,
                health_check_interval=30,
            ),
        )
        prefix = self.settings.key_prefix
        self.store = RunStore.for_client(self)
        self.events = EventStream(self.redis, prefix, self.settings.events_maxlen)
        # Chat users waiting to attach the script of a ``/spark submit`` form.
        self.attachment_waits = AttachmentWaits(self.redis, prefix)
        key = self.settings.secret_key
        self.secret_key: str | None = key.get_secret_value() if key is not None else None

    def message_for(self, op_name: str, run_id: str, params: dict[str, Any]) -> str:
        """The Celery message (as kombu writes it) that runs ``run_id`` on this
        client's queue. Secret parameters are masked in it: the worker reads
        them from the run's parameters key (see sealing.py)."""
        from sparkswarm.operations import get_operation, mask_secrets
        from sparkswarm.workers.app import app
        from sparkswarm.workers.task_message import task_envelope

        shown = mask_secrets(get_operation(op_name), params)
        return task_envelope(
            app,
            op_name,
            run_id,
            {"run_id": run_id, "params": shown},
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
        for an unknown or ``local`` operation, an unknown source or a
        malformed key, Unavailable when Redis cannot be reached (nothing was
        recorded or queued then).
        """
        from sparkswarm.operations import get_operation, mask_secrets

        op = get_operation(op_name)
        if op.local:
            # A worker would apply it to its own engine (join it to another
            # swarm, take its node out of this one).
            raise InvalidRequest(
                f"{op_name} acts on the engine of the machine that runs it: it is never "
                "queued or scheduled; run it with the CLI on that machine"
            )
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
            queue=self.settings.queue,
        )
        event = OperationQueued(
            run_id=run_id,
            op=op_name,
            target=target,
            requester=requester,
            source=source,
            message=f"queued by {requester} ({source})",
        )
        from sparkswarm.workers.locks import target_keys

        # Secrets travel masked in the message and sealed (with a key) in the
        # parameters key, which the run's end deletes: see sealing.py.
        message = self.message_for(op_name, run_id, params)
        stored = seal_params(op.secret_params, params, self.secret_key)
        with broker_errors("submit"):
            created, sid = self.store.create(
                record,
                stored,
                event.model_dump_json(),
                queue_key=self.settings.queue,
                message=message,
                lock_keys=target_keys(self.settings.key_prefix, target),
            )
        if not created:
            self._check_same_request(run_id, op_name, record.params)
            return Submission(run_id, False, "")
        return Submission(run_id, True, sid)

    def _check_same_request(self, run_id: str, op_name: str, shown: dict[str, Any]) -> None:
        """Conflict unless run ``run_id`` (an idempotency key seen before) asked
        for ``op_name`` with the same parameters (secrets compared masked)."""
        import json

        with broker_errors("submit"):
            earlier = self.store.find(run_id)
        if earlier is None:
            return  # expired since: nothing to compare with
        if earlier.op != op_name or earlier.params != json.loads(json.dumps(shown)):
            raise Conflict(
                f"idempotency key {run_id!r} was used for another request "
                f"({earlier.op} {json.dumps(earlier.params)}); use a new key"
            )

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

    def dead_letters(self, limit: int = 50) -> builtins.list[DeadLetter]:
        """The newest queue items workers moved aside (see dead_letters.py);
        Unavailable without Redis."""
        from sparkswarm.workers.dead_letters import read_dead_letters

        with broker_errors():
            return read_dead_letters(self.redis, self.settings.key_prefix, limit)

    def dead_letter_count(self) -> int:
        """How many dead letters are kept; Unavailable without Redis."""
        from sparkswarm.workers.dead_letters import count_dead_letters

        with broker_errors():
            return count_dead_letters(self.redis, self.settings.key_prefix)

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
                queue=self.settings.queue,
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
        grace: float = 0.0,
        on_lost: Callable[[Unavailable], None] | None = None,
        on_back: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        """The events of ``run_id`` from stream id ``after`` until it is finished.

        The record is checked whenever the stream is quiet, so a trimmed or
        missed final event still ends the loop (``on_quiet`` gets that record).
        When Redis goes away, following resumes where it was if Redis is back
        within ``grace`` seconds (``on_lost`` is told when it went, ``on_back``
        when it is back). Unavailable once that grace is over; TimeoutError
        after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor = after
        lost_at: float | None = None
        while True:
            try:
                with broker_errors("events"):
                    for item in self.events.follow(cursor, run_id=run_id, block_ms=1000):
                        if lost_at is not None:
                            lost_at = None
                            if on_back is not None:
                                on_back()
                        if item is not None:
                            cursor = item[0]
                            yield item[1]
                            if item[1].type in TERMINAL_TYPES:
                                return
                            continue
                        record = self.store.get(run_id)
                        if record.done:
                            return
                        if on_quiet is not None:
                            on_quiet(record)
                        if deadline is not None and time.monotonic() > deadline:
                            raise TimeoutError(f"run {run_id} still not finished after {timeout}s")
            except Unavailable as exc:
                now = time.monotonic()
                if lost_at is None:
                    lost_at = now
                    if on_lost is not None:
                        on_lost(exc)
                if now - lost_at >= grace:
                    raise
                time.sleep(min(1.0, max(grace - (now - lost_at), 0.05)))

    def refuse(self, *, requester: str, source: str, words: str, reason: str) -> None:
        """Log a request that was refused before it was queued (no role, not
        offered, nowhere to answer) in the refusal log: a stream capped at
        ``refusals_maxlen`` entries, apart from the run records, so a flood of
        refusals never evicts a real run's record. Unavailable without Redis."""
        refusal = Refusal(
            at=time.time(), requester=requester, source=source, words=words, reason=reason
        )
        with broker_errors("refusal log"):
            self.redis.xadd(
                f"{self.settings.key_prefix}refusals",
                {"refusal": refusal.model_dump_json()},
                maxlen=self.settings.refusals_maxlen,
                approximate=False,
            )

    def refusals(self, limit: int = 50) -> builtins.list[Refusal]:
        """The newest ``limit`` refusals, newest first. Unavailable without Redis."""
        with broker_errors("refusal log"):
            entries = self.redis.xrevrange(f"{self.settings.key_prefix}refusals", count=limit)
        return [Refusal.model_validate_json(fields["refusal"]) for _, fields in entries]

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
