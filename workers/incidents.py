"""Incidents in Redis: one per condition (``kind:object``), with its history.

The swarm watcher applies each :class:`~sparkswarm.health_judge.Observation`
here; the bot reads incidents and posts them (the watcher never talks to
Slack); ``sparkswarm alerts`` lists them. Keys (prefix ``ssw:``):

- ``incident:<key>``: the incident as JSON (written by the watcher only);
- ``incident:<key>:history``: what happened to it, newest last (capped);
- ``incident:<key>:slack``: the bot's message of it (channel, ts, the version
  and generation posted) (written by the bot only);
- ``incident:<key>:silence``: who silenced it, expiring with the silence;
- ``incidents:open`` (set) and ``incidents:index`` (zset by last change);
- ``incidents:outbox`` (zset key -> version): incidents whose message is
  behind; the bot drains it, so a bot that was down catches up.

Life of an incident: a condition that holds opens it (``generation`` 1);
while it holds, a change of what it shows (``detail``) updates it; when it
clears it is resolved. If it comes back within ``cooldown`` seconds the same
incident reopens (same message); later, a new generation starts (a new
message). Every change bumps ``version`` and lands in the outbox.
Writes are WATCH/MULTI transactions: two watchers overlapping after a
takeover cannot interleave one incident's history.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from sparkswarm.errors import NotFound
from sparkswarm.health_judge import Observation
from sparkswarm.model_base import LazyModel

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient

HISTORY_KEEP = 100
# Out of the outbox only if the watcher recorded nothing newer meanwhile.
_DELIVERED = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""
INDEX_KEEP = 2000


class Incident(LazyModel):
    """One condition of the swarm, as recorded."""

    key: str
    kind: str
    object: str
    title: str
    state: Literal["open", "resolved"] = "open"
    detail: dict[str, Any] = Field(default_factory=dict)
    generation: int = 1
    opened_at: float
    updated_at: float
    resolved_at: float | None = None
    updates: int = 0
    reopened: int = 0
    version: int = 1


class IncidentStore:
    """Incidents on one Redis client (``decode_responses=True``).

    Methods raise redis-py's errors when Redis is unreachable.
    """

    def __init__(
        self, client: RedisClient, prefix: str = "ssw:", *, cooldown: float = 600.0
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.cooldown = cooldown
        self.open_key = f"{prefix}incidents:open"
        self.index_key = f"{prefix}incidents:index"
        self.outbox_key = f"{prefix}incidents:outbox"

    def _key(self, key: str, part: str = "") -> str:
        return f"{self.prefix}incident:{key}" + (f":{part}" if part else "")

    # --- reading -------------------------------------------------------------

    def get(self, key: str) -> Incident | None:
        """The incident ``key`` (``kind:object``), or None."""
        raw = self.redis.get(self._key(key))
        return Incident.model_validate_json(raw) if raw else None

    def require(self, key: str) -> Incident:
        """The incident ``key``; NotFound (with the open keys) if there is none."""
        incident = self.get(key)
        if incident is None:
            known = ", ".join(sorted(self.redis.smembers(self.open_key))[:10]) or "none open"
            raise NotFound(f"no incident {key!r} (open: {known})")
        return incident

    def listing(self, *, include_resolved: bool = False) -> list[Incident]:
        """Open incidents (with resolved ones: all kept), newest change first."""
        keys = self.redis.zrevrange(self.index_key, 0, -1)
        if not include_resolved:
            still = set(self.redis.smembers(self.open_key))
            keys = [k for k in keys if k in still]
        raws = self.redis.mget([self._key(k) for k in keys]) if keys else []
        return [Incident.model_validate_json(raw) for raw in raws if raw]

    def open_keys(self) -> set[str]:
        """The keys of the incidents open now."""
        return set(self.redis.smembers(self.open_key))

    def history(self, key: str) -> list[dict[str, Any]]:
        """What happened to ``key``, oldest first."""
        return [json.loads(e) for e in self.redis.lrange(self._key(key, "history"), 0, -1)]

    # --- the watcher's writes -------------------------------------------------

    def apply(self, observation: Observation, now: float | None = None) -> Incident | None:
        """Record ``observation``; the incident if it changed, None if nothing did."""
        now = time.time() if now is None else now
        key = observation.key
        changed: list[Incident] = []

        def write(pipe: Any) -> None:
            changed.clear()
            raw = pipe.get(self._key(key))
            current = Incident.model_validate_json(raw) if raw else None
            step = self._next(current, observation, now)
            if step is None:
                return
            incident, what = step
            pipe.multi()
            pipe.set(self._key(key), incident.model_dump_json())
            entry = {"at": now, "what": what, "title": incident.title, "detail": incident.detail}
            pipe.rpush(self._key(key, "history"), json.dumps(entry))
            pipe.ltrim(self._key(key, "history"), -HISTORY_KEEP, -1)
            if incident.state == "open":
                pipe.sadd(self.open_key, key)
            else:
                pipe.srem(self.open_key, key)
            pipe.zadd(self.index_key, {key: now})
            pipe.zadd(self.outbox_key, {key: incident.version})
            changed.append(incident)

        self.redis.transaction(write, self._key(key))
        self._trim()
        return changed[0] if changed else None

    def _next(
        self, current: Incident | None, seen: Observation, now: float
    ) -> tuple[Incident, str] | None:
        """The incident after ``seen``, and what happened; None when nothing changes."""
        if not seen.active:
            if current is None or current.state == "resolved":
                return None
            return current.model_copy(
                update={
                    "state": "resolved",
                    "resolved_at": now,
                    "updated_at": now,
                    "version": current.version + 1,
                }
            ), "resolved"
        if current is None or (
            current.state == "resolved" and now - (current.resolved_at or 0) > self.cooldown
        ):
            generation = current.generation + 1 if current else 1
            fresh = Incident(
                key=seen.key,
                kind=seen.kind,
                object=seen.object,
                title=seen.title,
                detail=seen.detail,
                generation=generation,
                opened_at=now,
                updated_at=now,
                version=(current.version + 1) if current else 1,
            )
            return fresh, "opened"
        if current.state == "resolved":
            return current.model_copy(
                update={
                    "state": "open",
                    "resolved_at": None,
                    "title": seen.title,
                    "detail": seen.detail,
                    "updated_at": now,
                    "reopened": current.reopened + 1,
                    "version": current.version + 1,
                }
            ), "reopened"
        if seen.title == current.title and seen.detail == current.detail:
            return None
        return current.model_copy(
            update={
                "title": seen.title,
                "detail": seen.detail,
                "updated_at": now,
                "updates": current.updates + 1,
                "version": current.version + 1,
            }
        ), "updated"

    def _trim(self) -> None:
        """Forget the oldest resolved incidents beyond INDEX_KEEP."""
        extra = self.redis.zcard(self.index_key) - INDEX_KEEP
        if extra <= 0:
            return
        for key in self.redis.zrange(self.index_key, 0, extra - 1):
            if not self.redis.sismember(self.open_key, key):
                self.redis.delete(
                    self._key(key), self._key(key, "history"), self._key(key, "slack")
                )
                self.redis.zrem(self.index_key, key)

    # --- the bot's side --------------------------------------------------------

    def outbox(self) -> list[tuple[str, int]]:
        """Incidents whose message is behind: (key, version), oldest change first."""
        return [(k, int(v)) for k, v in self.redis.zrange(self.outbox_key, 0, -1, withscores=True)]

    def delivered(self, key: str, version: int) -> None:
        """The message shows ``version``: out of the outbox unless a newer one came."""
        self.redis.eval(_DELIVERED, 1, self.outbox_key, key, version)

    def message(self, key: str) -> dict[str, str]:
        """The bot's message of ``key``: channel, ts, version, generation (empty if none)."""
        return dict(self.redis.hgetall(self._key(key, "slack")))

    def set_message(self, key: str, **fields: str | int) -> None:
        """Record (part of) the bot's message of ``key``."""
        self.redis.hset(self._key(key, "slack"), mapping={k: str(v) for k, v in fields.items()})

    def silence(self, key: str, who: str, seconds: float) -> None:
        """Keep ``key`` out of the channel for ``seconds`` (its history notes who)."""
        self.require(key)
        self.redis.set(self._key(key, "silence"), who, px=int(seconds * 1000))
        entry = {"at": time.time(), "what": "silenced", "by": who, "seconds": seconds}
        self.redis.rpush(self._key(key, "history"), json.dumps(entry))
        self.redis.zadd(self.outbox_key, {key: self.require(key).version})

    def silenced_by(self, key: str) -> str | None:
        """Who silenced ``key``, while the silence lasts."""
        who = self.redis.get(self._key(key, "silence"))
        return str(who) if who else None


def incident_store(qc: QueueClient) -> IncidentStore:
    """The incident store of a queue client's Redis and settings."""
    return IncidentStore(qc.redis, qc.settings.key_prefix, cooldown=qc.settings.alert_cooldown)
