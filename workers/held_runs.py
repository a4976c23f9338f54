"""The runs a worker process holds, and the thread that keeps them held.

A run being executed owns its heartbeat and its target locks (locks.py) for
as long as they are refreshed; :class:`HeldRuns` refreshes them for every
run of the process, and tells two threads of one process apart that got
copies of the same message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient

__all__ = ["HeldRuns"]

log = logging.getLogger(__name__)


class HeldRuns:
    """One thread per worker process that extends the heartbeat and target
    locks of every run this process holds, every quarter of their TTL.

    Shared rather than one thread per run: starting a thread costs as much as
    a Redis round trip, on every operation.
    """

    def __init__(self, client: Callable[[], QueueClient]) -> None:
        self._client = client
        self._held: dict[str, tuple[str, list[str]]] = {}
        self._reserved: set[str] = set()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, token: str, lock_keys: list[str]) -> None:
        """Keep run ``run_id``'s heartbeat (owner ``token``) and target
        ``lock_keys`` alive."""
        with self._guard:
            self._held[run_id] = (token, lock_keys)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, daemon=True, name="sparkswarm-heartbeat"
                )
                self._thread.start()

    def drop(self, run_id: str) -> None:
        with self._guard:
            self._held.pop(run_id, None)

    def reserve(self, run_id: str) -> bool:
        """Mark ``run_id`` as executed by a thread of this process; False if
        one is already at it. The heartbeat cannot tell: its owner is the
        delivery that claimed (each has its own token), and two copies of
        one message (a recovery race) may reach two threads of the same
        worker, the second before the first claimed."""
        with self._guard:
            if run_id in self._reserved:
                return False
            self._reserved.add(run_id)
            return True

    def release(self, run_id: str) -> None:
        with self._guard:
            self._reserved.discard(run_id)

    def refresh_all(self) -> None:
        """One refresh of every run held. A run that finished meanwhile is
        left alone (``lua.REFRESH`` checks its state in the same script):
        re-taking its target lock would hold up the target's next runs."""
        qc = self._client()
        ttl = qc.settings.heartbeat_ttl
        with self._guard:
            held = list(self._held.items())
        for run_id, (token, lock_keys) in held:
            try:
                kept = qc.store.refresh(
                    run_id, token, lock_keys, heartbeat_ttl=ttl, lock_ttl=ttl * 3
                )
                if kept == 0:
                    log.warning(
                        "run %s: its heartbeat or target lock has another owner now", run_id
                    )
            except Exception as exc:
                log.warning("heartbeat refresh of run %s failed: %s", run_id, exc)

    def _loop(self) -> None:
        interval = self._client().settings.heartbeat_ttl / 4
        while True:
            time.sleep(interval)
            self.refresh_all()
