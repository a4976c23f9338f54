"""Counts of what happened, kept in Redis for the metrics exporter.

Most metrics are read from what Redis holds anyway (run records, the
queue, incidents); a few things leave no record of their own, so the
process where they happen counts them in a Redis hash (one ``HINCRBY``), and
every process of the platform adds to the same numbers:

- Slack Web API calls and 429 answers, by method (the bot's
  :class:`~sparkswarm.bots.slack_out.SlackOut` counts through
  :class:`SlackCallCounts`, flushed to Redis every second);
- runs that waited for a target lock and the seconds they waited, by
  operation: counted by the run scripts themselves (``lua.PARK`` and
  ``lua.CLAIM``, in the hashes ``RunStore.lock_waits_key`` and
  ``lock_wait_seconds_key``).

The counts only grow (Redis persistence keeps them across restarts;
``rate()`` in Prometheus copes with a reset anyway).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient

log = logging.getLogger(__name__)


class SlackCallCounts:
    """Slack Web API calls and 429s by method, in two Redis hashes.

    Counting never waits on Redis: counts gather in memory and a daemon
    thread adds them to Redis every ``flush_interval`` seconds (one
    pipeline), so a slow or unreachable Redis never delays a message to
    Slack; counts that could not be written are kept for the next flush.
    """

    def __init__(self, client: RedisClient, prefix: str, flush_interval: float = 1.0) -> None:
        self.client = client
        self.calls_key = f"{prefix}metrics:slack_calls"
        self.limited_key = f"{prefix}metrics:slack_429s"
        self.flush_interval = flush_interval
        self._pending: Counter[tuple[str, str]] = Counter()
        self._guard = threading.Lock()
        self._flusher: threading.Thread | None = None

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
        with self._guard:
            self._pending[(key, method)] += 1
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_forever, daemon=True, name="slack-call-counts"
                )
                self._flusher.start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_interval)
            self.flush()

    def flush(self) -> None:
        """Add the counts gathered so far to Redis (kept for later if Redis fails)."""
        with self._guard:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for (key, method), count in pending.items():
                pipe.hincrby(key, method, count)
            pipe.execute()
        except Exception as exc:  # redis down: keep the counts for the next flush
            log.debug("slack calls not counted yet: %s", type(exc).__name__)
            with self._guard:
                self._pending.update(pending)

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
