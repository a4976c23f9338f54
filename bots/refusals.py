"""How many refused requests a user gets answered: a budget per minute.

A refusal (no role, not offered in chat) costs a Slack call and a line in
the refusal log; someone scripting requests they may not make must not turn
that into a flood. Within the budget a refusal is answered and logged; the
first one over it gets one notice ("wait a minute"); the rest are dropped
until the minute has passed. Pure and in memory (per bot process); at most
``users`` users are remembered, the least recent forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Literal

Verdict = Literal["answer", "notice", "drop"]


class RefusalBudget:
    """At most ``per_minute`` answered refusals per user in any 60 s."""

    def __init__(self, per_minute: int, *, users: int = 10_000) -> None:
        self.per_minute = per_minute
        self.users = users
        self._recent: OrderedDict[str, deque[float]] = OrderedDict()
        self._hushed: set[str] = set()
        self._lock = threading.Lock()

    def take(self, user: str, now: float | None = None) -> Verdict:
        """Count one refusal of ``user``: answer it, notice once, or drop it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent.pop(user, deque())
            while recent and now - recent[0] >= 60:
                recent.popleft()
            self._recent[user] = recent  # the most recent user: forgotten last
            while len(self._recent) > self.users:
                forgotten, _ = self._recent.popitem(last=False)
                self._hushed.discard(forgotten)
            if len(recent) < self.per_minute:
                recent.append(now)
                self._hushed.discard(user)
                return "answer"
            if user in self._hushed:
                return "drop"
            self._hushed.add(user)
            return "notice"
