"""Celery's worker consumer, moving aside what it would only log and drop.

Celery survives a message without a task name, a task nobody registered,
an invalid task message or a body that does not decode, but only logs and
acks it: the item is gone. This consumer also keeps it as a dead letter
(:mod:`.dead_letters`). ``app.py`` selects it with ``worker_consumer``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from celery.worker.consumer import Consumer as CeleryConsumer

from sparkswarm.workers.dead_letters import move_aside

if TYPE_CHECKING:
    from kombu import Message

log = logging.getLogger(__name__)


def _raw_of(message: Message) -> bytes:
    """The item as it was on the Redis list (kombu's virtual messages keep it)."""
    raw = getattr(message, "_raw", None)
    if raw is not None:
        try:
            return json.dumps(raw).encode()
        except (TypeError, ValueError):
            pass
    body = message.body
    return body if isinstance(body, bytes) else str(body).encode()


class Consumer(CeleryConsumer):  # type: ignore[misc]
    """Celery's consumer that also moves aside the messages it drops."""

    def _move_aside(self, message: Message, reason: str) -> None:
        queue = (getattr(message, "delivery_info", None) or {}).get("routing_key") or "?"
        # The channel the message came on: kombu's Redis channel, whose
        # pool reaches the same broker.
        with message.channel.conn_or_acquire() as client:
            move_aside(client, _raw_of(message), str(queue), reason)

    def on_unknown_message(self, body: Any, message: Message) -> None:
        self._safely(message, "not a task message")
        super().on_unknown_message(body, message)

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        self._safely(message, f"unknown task: {exc}")
        super().on_unknown_task(body, message, exc)

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        self._safely(message, f"invalid task message: {exc}")
        super().on_invalid_task(body, message, exc)

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        self._safely(message, f"body does not decode: {type(exc).__name__}: {exc}")
        super().on_decode_error(message, exc)

    def _safely(self, message: Message, reason: str) -> None:
        try:
            self._move_aside(message, reason)
        except Exception as exc:
            log.error("could not move a bad message aside (%s): %s", reason, exc)
