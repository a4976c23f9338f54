"""The one error tree of sparkswarm.

Every layer raises these and only these; third-party errors (docker,
requests, redis) are converted at the I/O boundary with ``raise ... from exc``
so callers never need to know which library failed::

    SparkswarmError                 root: catch this to catch everything of ours
    ├── InvalidRequest              the caller's fault (bad name, bad flag, bad file);
    │   │                           never retried; the message is usage text
    │   └── InUse                   a network/config/secret still used by a service
    │                               or container: removable once they are gone
    ├── NotFound                    the named service/node/network/stack does not exist
    ├── Conflict                    the world changed under us (HTTP 409: name taken);
    │   │                           retry a bounded number of times
    │   └── OutOfSequence           an update sent with a stale version ("update out
    │                               of sequence"): re-read, re-apply, resend
    ├── Unavailable                 engine, manager or broker unreachable;
    │                               retry with backoff
    ├── Forbidden                   the requester may not do this (permission check)
    ├── Refused                     the engine refused for good (a 4xx other than
    │                               400/404/409, gRPC ResourceExhausted): never retried
    └── OperationFailed             the engine accepted the request but the outcome
                                    was bad (update paused or rolled back, job failed)

Engine answers are classified in one place,
:func:`sparkswarm.gateway.engine_errors.classify`: by HTTP status first, by text
only where the engine gives no better signal (swarmkit's "update out of
sequence" and ResourceExhausted both arrive as HTTP 500).

The CLI maps InvalidRequest/NotFound/Forbidden to exit code 2 and everything
else to exit code 1.
"""

from __future__ import annotations


class SparkswarmError(Exception):
    """Root of every error sparkswarm raises on purpose."""

    retryable: bool = False


class InvalidRequest(SparkswarmError):
    """The request is malformed or makes no sense; nothing was changed."""


class InUse(InvalidRequest):
    """The object is still used (a network with endpoints, a config a service mounts)."""


class NotFound(SparkswarmError):
    """A named object (service, node, network, stack, run) does not exist."""


class Conflict(SparkswarmError):
    """The object changed or exists already; a bounded retry may succeed."""

    retryable = True


class OutOfSequence(Conflict):
    """An update carried a version that is no longer current; re-read and resend."""


class Unavailable(SparkswarmError):
    """The engine, a manager or the broker could not be reached."""

    retryable = True


class Forbidden(SparkswarmError):
    """The requester is not allowed to perform this operation."""


class OperationFailed(SparkswarmError):
    """The operation ran but its outcome is a failure (paused, rolled back, job failed)."""


class Refused(SparkswarmError):
    """The engine refused the request for a reason a retry will not change."""
