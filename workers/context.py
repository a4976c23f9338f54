"""Which run the current thread is executing (set by the task, read by operations).

Operations are plain functions of their params; the few that keep records
of their own (a Spark job records who asked for it) read the run they serve
from here instead of trusting a requester passed in the params.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_RUN: ContextVar[str | None] = ContextVar("sparkswarm_run", default=None)


@contextmanager
def running(run_id: str) -> Iterator[None]:
    """Mark ``run_id`` as the run this thread executes inside the block."""
    token = _RUN.set(run_id)
    try:
        yield
    finally:
        _RUN.reset(token)


def current_run_id() -> str | None:
    """The run being executed by this thread, or None (in-process CLI, tests)."""
    return _RUN.get()
