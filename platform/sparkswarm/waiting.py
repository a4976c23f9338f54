"""The one way to wait: poll a check until it has an answer or time runs out.

Everything that waits for the swarm (services converging, an update ending,
a job's task ending, a node draining, a stack's networks freeing) is a
:func:`poll` of a small check function; the caller decides what a timeout
means (an OperationFailed with its own words, or a result that says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Answer = TypeVar("Answer")


def poll(
    check: Callable[[], Answer | None],
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer | None:
    """Call ``check`` every ``interval`` s until it returns something other than None.

    Returns that answer, or None when a check made after ``timeout`` s still
    had none (``check`` runs at least once). Errors raised by ``check``
    propagate at once. A caller that needs the last state for its timeout
    message keeps it in the closure.
    """
    deadline = clock() + timeout
    while True:
        answer = check()
        if answer is not None:
            return answer
        if clock() > deadline:
            return None
        sleep(interval)


def remove_when_free(
    remove: Callable[[], object],
    *,
    busy: type[Exception],
    timeout: float,
    interval: float,
) -> bool:
    """Call ``remove`` until it stops failing with ``busy`` (an object still in
    use while the tasks that use it stop).

    True once removed, False when it was gone already (NotFound). Raises the
    last ``busy`` error when it is still in use after ``timeout`` s.
    """
    from sparkswarm.errors import NotFound

    failures: list[Exception] = []

    def removed() -> bool | None:
        try:
            remove()
        except NotFound:
            return False
        except busy as exc:
            failures.append(exc)
            return None
        return True

    done = poll(removed, timeout=timeout, interval=interval)
    if done is None:
        raise failures[-1]
    return done
