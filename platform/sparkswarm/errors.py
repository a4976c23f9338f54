"""The one error tree of sparkswarm.

Every layer raises these and only these; third-party errors (docker,
requests, redis) are converted at the I/O boundary with ``raise ... from exc``
so callers never need to know which library failed::

    SparkswarmError                 root: catch this to catch everything of ours
    ├── InvalidRequest              the caller's fault (bad name, bad flag, bad file);
    │                               never retried; the message is usage text
    ├── NotFound                    the named service/node/network/stack does not exist
    ├── Conflict                    the world changed under us (update out of
    │                               sequence, name taken); retry a bounded number of times
    ├── Unavailable                 engine, manager or broker unreachable;
    │                               retry with backoff
    ├── Forbidden                   the requester may not do this (permission check)
    └── OperationFailed             the engine accepted the request but the outcome
                                    was bad (update paused or rolled back, job failed)

The CLI maps InvalidRequest/NotFound/Forbidden to exit code 2 and everything
else to exit code 1.
"""

from __future__ import annotations


class SparkswarmError(Exception):
    """Root of every error sparkswarm raises on purpose."""

    retryable: bool = False


class InvalidRequest(SparkswarmError):
    """The request is malformed or makes no sense; nothing was changed."""


class NotFound(SparkswarmError):
    """A named object (service, node, network, stack, run) does not exist."""


class Conflict(SparkswarmError):
    """The object changed or exists already; a bounded retry may succeed."""

    retryable = True


class Unavailable(SparkswarmError):
    """The engine, a manager or the broker could not be reached."""

    retryable = True


class Forbidden(SparkswarmError):
    """The requester is not allowed to perform this operation."""


class OperationFailed(SparkswarmError):
    """The operation ran but its outcome is a failure (paused, rolled back, job failed)."""
