"""The bot's work off the listeners' threads: a bounded pool, and its loops.

``ThreadPoolExecutor`` queues without end: a burst of slow commands would
pile up behind each other, and the user would wait minutes for a bot that
has long said "OK". :class:`BoundedPool` counts what it holds (running and
queued) and refuses more than ``max_pending``, so the caller can answer
"busy, try again" at once and nothing runs. :func:`every_second` is the
loop of the bot's posters and sweeper (alerts, outcomes, expiries).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class BoundedPool:
    """``threads`` workers; at most ``max_pending`` tasks held (running + queued)."""

    def __init__(self, threads: int, max_pending: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(max(max_pending, threads))

    def submit(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run ``fn(*args)`` on the pool; False (nothing scheduled) when full."""
        if not self._slots.acquire(blocking=False):
            return False
        try:
            future = self._pool.submit(fn, *args)
        except RuntimeError:  # shut down
            self._slots.release()
            return False
        future.add_done_callback(self._done)
        return True

    def _done(self, _: Future[Any]) -> None:
        self._slots.release()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def every_second(stop: threading.Event, step: Callable[[], object], what: str) -> None:
    """``step()`` once a second until ``stop`` is set; Redis or Slack trouble
    is logged (``what`` names the loop) and the loop goes on."""
    while not stop.is_set():
        try:
            step()
        except Exception as exc:
            log.warning("%s: %s: %s", what, type(exc).__name__, exc)
        stop.wait(1.0)
