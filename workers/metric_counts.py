"""Counts of what happened, kept in Redis for the metrics exporter.

Most metrics are read from what Redis holds anyway (run records, the
queue, incidents); a few things leave no record of their own, so the
process where they happen counts them in a Redis hash (one ``HINCRBY``), and
every process of the platform adds to the same numbers:

- Slack Web API calls and 429 answers, by method (the bot's
  :class:`~sparkswarm.bots.slack_out.SlackOut` counts through
  :class:`SlackCallCounts`);
- runs that waited for a target lock and the seconds they waited, by
  operation: counted by the run scripts themselves (``lua.PARK`` and
  ``lua.CLAIM``, in the hashes ``RunStore.lock_waits_key`` and
  ``lock_wait_seconds_key``).

The counts only grow (Redis persistence keeps them across restarts;
``rate()`` in Prometheus copes with a reset anyway).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient

log = logging.getLogger(__name__)


class SlackCallCounts:
    """Slack Web API calls and 429s by method, in two Redis hashes.

    Counting never raises: a Redis that cannot be reached costs a count
    (logged), never a message to Slack.
    """

    def __init__(self, client: RedisClient, prefix: str) -> None:
        self.client = client
        self.calls_key = f"{prefix}metrics:slack_calls"
        self.limited_key = f"{prefix}metrics:slack_429s"

    @classmethod
    def for_client(cls, qc: QueueClient) -> SlackCallCounts:
        return cls(qc.redis, qc.settings.key_prefix)

    def call(self, method: str) -> None:
        """Count one request of ``method`` sent to Slack (a retry included)."""
        self._count(self.calls_key, method)

    def limited(self, method: str) -> None:
        """Count one HTTP 429 answer to ``method``."""
        self._count(self.limited_key, method)

    def _count(self, key: str, method: str) -> None:
        try:
            self.client.hincrby(key, method, 1)
        except Exception as exc:  # redis down: the count is lost, the call is not
            log.debug("slack call not counted: %s", type(exc).__name__)

    def calls(self) -> dict[str, int]:
        """Calls by method. Raises redis-py's errors when Redis is unreachable."""
        return _counts(self.client, self.calls_key)

    def limits(self) -> dict[str, int]:
        """429 answers by method. Raises redis-py's errors when Redis is unreachable."""
        return _counts(self.client, self.limited_key)


def _counts(client: RedisClient, key: str) -> dict[str, int]:
    return {name: int(value) for name, value in client.hgetall(key).items()}


def lock_waits(qc: QueueClient) -> tuple[dict[str, int], dict[str, float], int]:
    """Runs that waited for a target lock and the seconds they waited, by
    operation, and how many runs are parked waiting now. Raises redis-py's
    errors when Redis is unreachable."""
    store = qc.store
    pipe = qc.redis.pipeline()
    pipe.hgetall(store.lock_waits_key)
    pipe.hgetall(store.lock_wait_seconds_key)
    pipe.hlen(store.parked_key)
    waits, seconds, parked = pipe.execute()
    return (
        {op: int(n) for op, n in waits.items()},
        {op: float(s) for op, s in seconds.items()},
        int(parked),
    )
