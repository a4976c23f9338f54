"""kombu's Redis transport, with one guard so a worker rides out a Redis restart.

What goes wrong without it (kombu 5.7, celery 5.7): when the broker
connection drops, the worker's consumer calls ``connection.collect()``, which
detaches the transport from its connection (``transport.client = None``),
and then ``connection.close()``. Closing the channel restores its unacked
messages (our run in flight), and that needs a Redis client, built from
``transport.client.hostname``: an ``AttributeError`` instead of a connection
error. Celery only ignores connection errors there, so the worker logs
``Unrecoverable error: AttributeError("'NoneType' object has no attribute
'hostname'")`` and shuts down once the running operation ends (its ack, on
the same dead channel, fails the same way).

The guard makes a detached channel say what it is: a connection error.
Celery then ignores the failed restore, logs the failed ack, reconnects and
keeps serving. Nothing is lost: the run's outcome is in its record already,
and the message left unacked is redelivered after the visibility timeout and
dropped by the claim (the run is finished).

``app.py`` selects this class with ``broker_transport``.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    """A channel that raises ``redis.ConnectionError`` once its transport was
    detached from its connection, where kombu raises ``AttributeError``."""

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("the broker connection was closed (reconnecting)")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[no-untyped-call]


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel
