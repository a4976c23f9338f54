"""Operations the queue itself provides (registered next to the core's).

``queue.noop`` touches nothing: it checks the whole path (CLI -> queue ->
worker -> record) without the swarm, and ``bench/queue_latency.py`` measures
the queue's own latency with it.
"""

from __future__ import annotations

import time
from typing import Any

from sparkswarm.progress import ProgressFn, no_progress


def noop(gw: Any, *, progress: ProgressFn = no_progress, **params: Any) -> dict[str, Any]:
    """Do nothing; return when it ran (``ran_at``, epoch seconds) and the params."""
    return {"ran_at": time.time(), "params": params}


def register_builtin_ops() -> None:
    """Add the queue's own operations to the registry (idempotent)."""
    from sparkswarm.operations import REGISTRY, register

    if "queue.noop" not in REGISTRY:
        register("queue.noop", "sparkswarm.workers.builtin_ops:noop")
