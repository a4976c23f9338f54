"""Operations that exist only for the queue's tests.

The worker imports this module (``SPARKSWARM_WORKER_IMPORTS``) and so does
the test process, so both know the names. Each op records what it did in the
worker's Redis (``SPARKSWARM_REDIS_URL``), so tests can count executions.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from typing import Any

from sparkswarm.operations import REGISTRY, register
from sparkswarm.progress import ProgressFn, no_progress


def _redis() -> Any:
    from sparkswarm.config import get_settings
    from sparkswarm.workers.redis_connect import connect

    # The settings' URL: it carries SPARKSWARM_REDIS_PASSWORD when one is set;
    # with sentinels, the current primary.
    return connect(get_settings(), decode_responses=True)


def sleep_op(
    gw: Any,
    *,
    progress: ProgressFn = no_progress,
    key: str,
    seconds: float = 0.0,
    password: str = "",
) -> dict[str, Any]:
    """Record a start in ``test:exec:<key>``, sleep, record the end."""
    client = _redis()
    started = time.time()
    client.rpush(f"test:exec:{key}", f"start {started!r} {os.getpid()}")
    if password:  # what the op was given, without writing the secret itself
        digest = hashlib.sha256(password.encode()).hexdigest()
        client.rpush(f"test:exec:{key}:password", digest)
    progress("sleeping", seconds=seconds)
    time.sleep(seconds)
    finished = time.time()
    client.rpush(f"test:exec:{key}", f"end {finished!r} {os.getpid()}")
    return {"key": key, "started": started, "finished": finished}


def crash_op(gw: Any, *, progress: ProgressFn = no_progress, key: str) -> dict[str, Any]:
    """Kill the whole worker process, every time (a worker that always dies)."""
    _redis().rpush(f"test:exec:{key}", f"start {time.time()!r} {os.getpid()}")
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


if "test.sleep" not in REGISTRY:
    register(
        "test.sleep",
        "tests.support.queue_ops:sleep_op",
        target_param="key",
        secret_params=("password",),
    )
    register("test.crash", "tests.support.queue_ops:crash_op", target_param="key")
