"""How often the bot may call each Slack Web API method. Pure (a clock is passed in).

Slack meters "per API method per app per workspace" in tiers (tier 2: 20+
calls a minute, tier 3: 50+, tier 4: 100+, bursts tolerated) and
``chat.postMessage`` at about one message a second per channel. One 429
says nothing about the other methods: its ``Retry-After`` holds back that
method (for ``chat.postMessage``, that channel) only. :class:`Budgets` keeps
a token bucket per method (per channel for posts) at the documented floor
of its tier, so the bot stays under the limit instead of learning it from
429s; :meth:`Budgets.limited` takes a 429's ``Retry-After`` into the same
bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Calls a minute of each tier (Slack's documented floors).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
# The tiers of the methods the bot calls, from each method's page on
# api.slack.com; a method not listed is treated as tier 2 (most methods).
METHOD_TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "chat.delete": 3,
    "usergroups.users.list": 2,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "conversations.info": 3,
    "conversations.join": 3,
    "auth.test": 4,
    "files.info": 4,
    "views.open": 4,
}
POST = "chat.postMessage"
POSTS_PER_SECOND = 1.0  # chat.postMessage, per channel
# "Short bursts >1 allowed"; one less than Slack's burst (as the double
# meters it) so that network jitter never turns the last of a burst into a 429.
POST_BURST = 2.0


@dataclass
class _Bucket:
    rate: float  # tokens a second
    capacity: float
    tokens: float
    at: float
    blocked_until: float = 0.0


def _shape(method: str) -> tuple[float, float]:
    """(tokens a second, capacity) of ``method``'s bucket."""
    if method == POST:
        return POSTS_PER_SECOND, POST_BURST
    per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, 2)]
    # A quarter of a minute's calls at once, less one: Slack tolerates
    # bursts but does not say how large (the double allows a quarter).
    return per_minute / 60.0, max(1.0, per_minute / 4 - 1)


class Budgets:
    """Token buckets per Web API method (per channel for ``chat.postMessage``).

    Thread-safe: the listeners' threads and the notifier share one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(method: str, channel: str = "") -> str:
        return f"{method} {channel}" if method == POST else method

    def _bucket(self, method: str, channel: str, now: float) -> _Bucket:
        key = self.key(method, channel)
        bucket = self._buckets.get(key)
        if bucket is None:
            rate, capacity = _shape(method)
            bucket = self._buckets[key] = _Bucket(rate, capacity, capacity, now)
        if now > bucket.at:  # (after a 429, ``at`` is when the method may go again)
            gained = (now - bucket.at) * bucket.rate
            bucket.tokens = min(bucket.capacity, bucket.tokens + gained)
            bucket.at = now
        return bucket

    def take(self, method: str, channel: str = "", *, reserve: float = 0.0) -> float:
        """Take one call of ``method`` (in ``channel``) if its budget allows it
        now, leaving ``reserve`` calls for others (progress edits leave some
        for outcomes): 0.0. Else the seconds until it would, and nothing is taken."""
        with self._guard:
            now = self.clock()
            bucket = self._bucket(method, channel, now)
            if now < bucket.blocked_until:
                return bucket.blocked_until - now
            need = 1.0 + min(reserve, bucket.capacity - 1.0)
            if bucket.tokens >= need:
                bucket.tokens -= 1.0
                return 0.0
            return (need - bucket.tokens) / bucket.rate

    def limited(self, method: str, channel: str, retry_after: float) -> None:
        """Slack answered 429 with ``Retry-After``: hold ``method`` (in
        ``channel`` for posts) back that long, and start it again with one
        call in its bucket (a burst is what Slack just refused)."""
        with self._guard:
            now = self.clock()
            bucket = self._bucket(method, channel, now)
            bucket.blocked_until = max(bucket.blocked_until, now + retry_after)
            bucket.tokens = 1.0
            bucket.at = bucket.blocked_until


def retry_after(headers: dict[str, str | list[str]]) -> float:
    """The seconds of a 429's ``Retry-After`` header (1 when missing or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list) else value
            try:
                seconds = float(text)
            except ValueError:
                return 1.0
            return seconds if math.isfinite(seconds) and seconds >= 0 else 1.0
    return 1.0
