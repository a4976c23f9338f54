"""Retrying: the one read-modify-write retry, and the queue's backoff.

A change made on a stale version is resent (:func:`update_with_retry`).
The Engine replaces a service's, node's or swarm's whole spec on update and
takes the version the change was made on; if someone changed the object in
between, it answers "update out of sequence" (:class:`~sparkswarm.errors.OutOfSequence`).
The cure is always the same: read the object again, make the change again on
what was read, send it again, a bounded number of times with a growing pause.

A worker retries an operation that failed with a retryable error after the
pauses of :func:`retry_delays` (doubling up to a cap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sparkswarm.errors import OutOfSequence

Current = TypeVar("Current")
Result = TypeVar("Result")

UPDATE_ATTEMPTS = 5
BACKOFF_SECONDS = 0.2


def update_with_retry(
    read: Callable[[], Current],
    modify_and_send: Callable[[Current], Result],
    *,
    attempts: int = UPDATE_ATTEMPTS,
    backoff: float | None = None,
    on_retry: Callable[[int], None] | None = None,
) -> Result:
    """``modify_and_send(read())``, again on a fresh ``read()`` after each OutOfSequence.

    ``modify_and_send`` may decide to send nothing (the object is already as
    wanted) and just return. Between attempts it sleeps ``backoff`` (default
    :data:`BACKOFF_SECONDS`) times the attempt number and calls
    ``on_retry(attempt)``. Raises the last OutOfSequence after ``attempts``
    tries; any other error at once.
    """
    attempt = 1
    while True:
        try:
            return modify_and_send(read())
        except OutOfSequence:
            if attempt >= attempts:
                raise
        if on_retry is not None:
            on_retry(attempt)
        time.sleep((BACKOFF_SECONDS if backoff is None else backoff) * attempt)
        attempt += 1


def retry_delays(attempts: int, first: float, cap: float) -> list[float]:
    """Delays between ``attempts`` tries: ``first``, doubling, at most ``cap``
    (a worker takes them from the ``retry_*`` settings).

    >>> retry_delays(4, 1.0, 3.0)
    [1.0, 2.0, 3.0]
    """
    return [min(first * 2**n, cap) for n in range(max(attempts - 1, 0))]
