"""Chat users waiting to attach a script: the bot's memory of "the file you
attach next", kept in the queue's Redis so any bot process (and a restarted
one) knows it.

The ``/spark submit`` form can name no file (a modal cannot take one), so
choosing "the file you attach next" stores an :class:`AttachmentWait`: the
``spark submit`` words without their script, for one user in one channel,
until it expires (setting ``bot_attach_wait``). The user's next message with
a ``.py`` attachment in that channel takes it (:meth:`AttachmentWaits.take`)
and runs with those words. A wait ends exactly once, as taken, cancelled,
replaced by a newer one or expired: each end claims the wait's ``end`` marker
(``SET NX``), so a file arriving as the wait expires either runs or is told
it expired, never both. Expired waits are found by :meth:`AttachmentWaits.due`
(a sorted set by deadline) so the user can be told.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from pydantic import Field

from sparkswarm.model_base import LazyModel
from sparkswarm.workers.redis_api import RedisClient

End = Literal["taken", "cancelled", "replaced", "expired"]


class AttachmentWait(LazyModel):
    """Who waits where, with which words, until when (epoch seconds)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    team: str = ""
    user: str
    channel: str
    words: list[str]  # ``spark submit`` words; the script's place holds a placeholder
    expires: float
    response_url: str = ""  # the form's command: answers that work in any channel


class AttachmentWaits:
    """The waits, under ``{prefix}bot:attach:`` in Redis. Unavailable (via the
    caller's ``broker_errors``) when Redis cannot be reached."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self.redis = redis
        self.base = f"{prefix}bot:attach:"

    def _key(self, team: str, user: str, channel: str) -> str:
        return f"{self.base}wait:{team}:{user}:{channel}"

    def _end(self, wait: AttachmentWait, how: End) -> bool:
        """Claim the end of ``wait`` as ``how``; False if it already ended."""
        ttl = max(60, int(wait.expires - time.time()) + 3600)
        claimed = self.redis.set(f"{self.base}end:{wait.id}", how, nx=True, ex=ttl)
        self.redis.zrem(f"{self.base}due", wait.model_dump_json())
        return bool(claimed)

    def start(self, wait: AttachmentWait) -> AttachmentWait | None:
        """Keep ``wait`` until it expires; the user's earlier wait in that
        channel, which it replaces (ended as ``replaced``), if any."""
        key = self._key(wait.team, wait.user, wait.channel)
        earlier = self._pop(key)
        replaced = earlier if earlier is not None and self._end(earlier, "replaced") else None
        ttl = max(1, round(wait.expires - time.time()))
        self.redis.zadd(f"{self.base}due", {wait.model_dump_json(): wait.expires})
        self.redis.set(key, wait.model_dump_json(), ex=ttl)
        return replaced

    def _pop(self, key: str) -> AttachmentWait | None:
        raw = self.redis.getdel(key)
        return AttachmentWait.model_validate_json(raw) if raw else None

    def peek(self, team: str, user: str, channel: str) -> AttachmentWait | None:
        """The user's wait in ``channel``, if one is running (nothing changes)."""
        raw = self.redis.get(self._key(team, user, channel))
        return AttachmentWait.model_validate_json(raw) if raw else None

    def take(self, team: str, user: str, channel: str) -> AttachmentWait | None:
        """End the user's wait in ``channel`` as taken (a file came); None
        when there is none, or it ended (expired, cancelled) just before."""
        wait = self._pop(self._key(team, user, channel))
        if wait is None or wait.expires < time.time() or not self._end(wait, "taken"):
            return None
        return wait

    def cancel(self, team: str, user: str, channel: str, wait_id: str) -> AttachmentWait | None:
        """End the wait ``wait_id`` as cancelled; None if it is not the user's
        running wait in ``channel`` (over already, or replaced)."""
        key = self._key(team, user, channel)
        wait = self.peek(team, user, channel)
        if wait is None or wait.id != wait_id:
            return None
        wait = self._pop(key)
        if wait is None or wait.id != wait_id or not self._end(wait, "cancelled"):
            return None
        return wait

    def due(self, now: float | None = None) -> list[AttachmentWait]:
        """The waits past their deadline that nothing else ended, each ended
        as ``expired`` by this call (to be told once)."""
        now = time.time() if now is None else now
        expired: list[AttachmentWait] = []
        for raw in self.redis.zrangebyscore(f"{self.base}due", "-inf", now):
            wait = AttachmentWait.model_validate_json(raw)
            if self._end(wait, "expired"):
                key = self._key(wait.team, wait.user, wait.channel)
                current = self.peek(wait.team, wait.user, wait.channel)
                if current is not None and current.id == wait.id:  # Redis's TTL not yet due
                    self.redis.delete(key)
                expired.append(wait)
        return expired
