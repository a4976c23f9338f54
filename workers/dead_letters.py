"""Queue items a worker cannot run, moved aside instead of killing it.

Anything can land on the queue's Redis list (``redis-cli lpush``, a client
of another version, a bug): bytes that are not JSON, JSON that is not a
kombu envelope (``[1,2,3]``, ``42``, ``null``), a body that is not valid
base64, a task nobody registered, a message whose parameters do not match
its run's record. kombu raises on the first kinds inside the worker's event
loop, which Celery treats as unrecoverable: the worker exits. So the
worker's channel (``transport.py``), its consumer (``consumer.py``) and
the runner hand such items here instead: each is logged and pushed, with
the reason, onto the list ``<prefix>dead-letters`` (newest first, capped),
which ``sparkswarm runs dead-letters`` and ``swarm doctor`` show.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import TYPE_CHECKING

from sparkswarm.model_base import LazyModel

if TYPE_CHECKING:
    from sparkswarm.doctor import Check
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient

log = logging.getLogger(__name__)

#: At most this many dead letters are kept (the oldest go first): a flood of
#: garbage costs no more memory than it already did on the queue.
KEEP = 1000
#: How much of an item ``runs dead-letters`` shows.
PREVIEW = 200


class DeadLetter(LazyModel):
    """One item moved aside: when, from which queue, why, and its bytes."""

    at: float
    queue: str
    reason: str
    #: the item exactly as it was (base64: it may be any bytes)
    raw_b64: str
    #: its start, as text, for people
    preview: str


def dead_letters_key(prefix: str) -> str:
    """The Redis list of dead letters for key prefix ``prefix``."""
    return f"{prefix}dead-letters"


def as_bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")


def dead_letter(raw: bytes | str, queue: str, reason: str) -> DeadLetter:
    """The record of item ``raw`` taken off ``queue`` for ``reason``."""
    data = as_bytes(raw)
    preview = data[:PREVIEW].decode("utf-8", "replace")
    if len(data) > PREVIEW:
        preview += f"... ({len(data)} bytes)"
    return DeadLetter(
        at=time.time(),
        queue=queue,
        reason=reason,
        raw_b64=base64.b64encode(data).decode(),
        preview=preview,
    )


def store_dead_letter(client: RedisClient, prefix: str, letter: DeadLetter) -> None:
    """Push ``letter`` (newest first) and keep the list at :data:`KEEP`.
    Raises redis-py's errors (callers log and go on)."""
    key = dead_letters_key(prefix)
    with client.pipeline(transaction=True) as pipe:
        pipe.lpush(key, letter.model_dump_json())
        pipe.ltrim(key, 0, KEEP - 1)
        pipe.execute()


def move_aside(client: RedisClient, raw: bytes | str, queue: str, reason: str) -> None:
    """Log item ``raw`` of ``queue`` and store it as a dead letter on
    ``client`` (any redis-py client of the broker). Never raises: a worker
    must outlive the item, and Redis failing here only loses the copy."""
    from sparkswarm.config import get_settings

    letter = dead_letter(raw, queue, reason)
    log.error("moved a queue item aside (%s) from %s: %r", reason, queue, letter.preview)
    try:
        store_dead_letter(client, get_settings().key_prefix, letter)
    except Exception as exc:
        log.error("the dead letter could not be stored (%s); it is only in this log", exc)


def read_dead_letters(client: RedisClient, prefix: str, limit: int = 50) -> list[DeadLetter]:
    """The newest ``limit`` dead letters; unreadable entries are skipped."""
    letters: list[DeadLetter] = []
    for raw in client.lrange(dead_letters_key(prefix), 0, max(limit, 1) - 1):
        try:
            letters.append(DeadLetter.model_validate_json(raw))
        except ValueError:
            continue
    return letters


def count_dead_letters(client: RedisClient, prefix: str) -> int:
    return int(client.llen(dead_letters_key(prefix)))


def doctor_check(count: int | None, error: str = "") -> Check:
    """The doctor's verdict on the dead-letter list (``count`` None: not read)."""
    from sparkswarm.doctor import Check

    name = "queue"
    if count is None:
        return Check(name=name, status="warn", summary=f"dead letters not read: {error}")
    if count == 0:
        return Check(name=name, status="ok", summary="no queue item was moved aside")
    return Check(
        name=name,
        status="warn",
        summary=f"{count} queue item(s) could not be run and were moved aside",
        fix="see them with: sparkswarm runs dead-letters",
    )


def queue_check(client: QueueClient) -> Check:
    """The doctor's check of the queue that ``client`` reaches."""
    from sparkswarm.errors import SparkswarmError

    try:
        return doctor_check(client.dead_letter_count())
    except SparkswarmError as exc:
        return doctor_check(None, str(exc))
