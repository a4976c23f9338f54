"""The time index both record stores keep: a sorted set of ids scored by creation time.

Run records (:mod:`.records`) and Spark job records (:mod:`.spark_jobs`)
page through it newest first and trim it by age and count the same way;
what a record is, and which ones must stay, is theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Self, TypedDict, Unpack

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient


class Retention(TypedDict, total=False):
    """How long a store keeps records (``retention_days``, default 30; at most
    ``retention_count``, default 5000) and how long the event stream it
    writes to grows (``events_maxlen``, default 10,000)."""

    retention_days: int
    retention_count: int
    events_maxlen: int


class IndexedStore:
    """What both record stores hold: the Redis client, where their keys live
    (under ``prefix``), how long records are kept, and the event stream they
    write to.

    ``index`` names the store's keys: ``<prefix><index>`` is the time index,
    ``<prefix><index>:active`` the set of records still under way.
    """

    index: ClassVar[str]

    def __init__(
        self, client: RedisClient, prefix: str = "ssw:", **retention: Unpack[Retention]
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.index_key = f"{prefix}{self.index}"
        self.active_key = f"{prefix}{self.index}:active"
        self.stream_key = f"{prefix}events"
        self.retention_seconds = retention.get("retention_days", 30) * 86400
        self.retention_count = retention.get("retention_count", 5000)
        self.events_maxlen = retention.get("events_maxlen", 10_000)

    @classmethod
    def for_client(cls, qc: QueueClient) -> Self:
        """The store on ``qc``'s Redis, with its prefix and retention settings."""
        s = qc.settings
        return cls(
            qc.redis,
            s.key_prefix,
            retention_days=s.run_retention_days,
            retention_count=s.run_retention_count,
            events_maxlen=s.events_maxlen,
        )


def newest_first(client: RedisClient, index_key: str, page: int) -> Iterator[list[str]]:
    """Pages of ``page`` ids from the index, the newest first, until it runs out."""
    start = 0
    while ids := client.zrevrange(index_key, start, start + page - 1):
        yield ids
        start += page


def past_retention(
    client: RedisClient, index_key: str, now: float, retention_seconds: float, retention_count: int
) -> set[str]:
    """Ids older than the retention age, or beyond the retention count (oldest first)."""
    doomed = set(client.zrangebyscore(index_key, 0, now - retention_seconds))
    excess = client.zcard(index_key) - retention_count
    if excess > 0:
        doomed.update(client.zrange(index_key, 0, excess - 1))
    return doomed
