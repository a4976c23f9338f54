"""Runs whose outcome somebody asked to hear about (``schedule add --notify``).

When a schedule with ``notify`` fires, its run is noted here; the bot (which
holds the Slack token) posts the outcome to the channel once the run ended:
always, or only when it did not succeed. Keys (prefix ``ssw:``):
``notify:pending`` (set of run ids) and ``notify:run:<id>`` (channel, when,
what). Taking a run out of the pending set is the claim: one bot process
posts each outcome, once (a bot that dies right after the claim loses that
one notice rather than posting it twice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.workers.redis_api import RedisClient

KEEP = 7 * 86400


class OutcomeNotices:
    """The notices on one Redis client (``decode_responses=True``); Redis errors propagate."""

    def __init__(self, client: RedisClient, prefix: str = "ssw:") -> None:
        self.redis = client
        self.pending_key = f"{prefix}notify:pending"
        self.prefix = prefix

    def _key(self, run_id: str) -> str:
        return f"{self.prefix}notify:run:{run_id}"

    def expect(self, run_id: str, *, channel: str, on: str, what: str) -> None:
        """Post ``run_id``'s outcome to ``channel`` when it ends (``on``: failure | always)."""
        pipe = self.redis.pipeline()
        pipe.hset(self._key(run_id), mapping={"channel": channel, "on": on, "what": what})
        pipe.expire(self._key(run_id), KEEP)
        pipe.sadd(self.pending_key, run_id)
        pipe.execute()

    def pending(self) -> list[str]:
        """Run ids whose outcome is still to be told."""
        return sorted(self.redis.smembers(self.pending_key))

    def claim(self, run_id: str) -> dict[str, str] | None:
        """Take ``run_id`` out of the pending set; its notice if this caller took it."""
        if not self.redis.srem(self.pending_key, run_id):
            return None
        notice = dict(self.redis.hgetall(self._key(run_id)))
        self.redis.delete(self._key(run_id))
        return notice or None
