"""Redis locks with expiry and an owner check.

Two locks guard every run:

- the *target lock* ``ssw:lock:<target>`` (owner: the run id) keeps operations
  on the same service, stack or node from interleaving. It belongs to the run,
  not to a worker, so a run recovered on another worker can take it back at
  once while other runs still wait;
- the *heartbeat* ``ssw:run:<id>:hb`` (owner: one worker's token) says "a
  live worker is executing this run". Its short expiry is what lets the
  recovery pass find runs whose worker died.

Runs take, refresh and release these keys inside their own state changes
(``lua.CLAIM``, ``lua.REFRESH``, ``lua.FINISH``: one round trip each, and a
finished run's lock is never re-taken), with the owner rules of
:class:`RedisLock`: ``SET NX PX``, and extend and release as Lua
compare-and-act scripts, so nobody extends or deletes a lock someone else
holds now. The class serves other single-holder locks (the Spark watcher's).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.workers.redis_api import RedisClient, RedisPipeline, RedisScript

# All-or-nothing over KEYS; ARGV[1] owner, ARGV[2] ttl ms. Re-entrant for the
# same owner, so a recovered run takes back the locks its dead worker held.
_ACQUIRE = """
for _, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder ~= false and holder ~= ARGV[1] then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""

# Extend only our own locks; one that expired meanwhile is taken back if free.
# Returns 0 if any key is held by another owner now.
_EXTEND = """
local kept = 1
for _, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  elseif holder == false then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else
    kept = 0
  end
end
return kept
"""

_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
"""


@lru_cache(maxsize=16)
def _scripts(client: RedisClient) -> tuple[RedisScript, RedisScript, RedisScript]:
    # Registered once per client: a lock is made for every run.
    return (
        client.register_script(_ACQUIRE),
        client.register_script(_EXTEND),
        client.register_script(_RELEASE),
    )


class RedisLock:
    """A lock on one or more ``keys`` held by ``owner`` for ``ttl`` seconds
    unless extended. Several keys are taken all together or not at all.

    All methods raise redis-py's ``RedisError`` when Redis is unreachable;
    callers in the worker treat that like any lost connection.
    """

    def __init__(self, client: RedisClient, keys: str | list[str], owner: str, ttl: float) -> None:
        self.client = client
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        self.owner = owner
        self.ttl_ms = max(int(ttl * 1000), 1)
        self._acquire, self._extend, self._release = _scripts(client)

    @property
    def key(self) -> str:
        return ",".join(self.keys)

    def acquire(self, pipe: RedisPipeline | None = None) -> bool:
        """Take the lock if it is free or already ours; False if someone holds it.

        With ``pipe`` (a redis pipeline) the call is only queued there; the
        pipeline's ``execute()`` returns its 1 or 0.
        """
        return bool(self._acquire(keys=self.keys, args=[self.owner, self.ttl_ms], client=pipe))

    def extend(self, pipe: RedisPipeline | None = None) -> bool:
        """Push the expiry out again; False if another owner holds the lock now.

        A lock that expired (e.g. Redis restarted without it) and is free is
        taken back, since the work it guards is still going on.
        """
        return bool(self._extend(keys=self.keys, args=[self.owner, self.ttl_ms], client=pipe))

    def release(self) -> bool:
        """Delete the lock's keys that are still ours; False if none was."""
        return bool(self._release(keys=self.keys, args=[self.owner]))

    def holder(self) -> str | None:
        """Who holds (one of) the keys now, or None."""
        for key in self.keys:
            value = self.client.get(key)
            if value is not None:
                return value.decode() if isinstance(value, bytes) else str(value)
        return None


def target_keys(prefix: str, target: str) -> list[str]:
    """Lock keys of a target: ``service:a,b`` locks ``service:a`` and ``service:b``."""
    kind, sep, names = target.partition(":")
    if not sep:
        return [f"{prefix}lock:{kind}"]
    return [f"{prefix}lock:{kind}:{name}" for name in sorted(set(names.split(",")))]


def heartbeat_key(prefix: str, run_id: str) -> str:
    """The key of run ``run_id``'s heartbeat (the scripts of records.py take it too)."""
    return f"{prefix}run:{run_id}:hb"
