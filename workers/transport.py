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

It also keeps a worker alive whatever bytes are on its queue. kombu decodes
each item it pops inside the worker's event loop; an item that is not a
kombu envelope (``not json``, ``[1,2,3]``, ``42``, ``null``, a body that is
not base64) raises there, and Celery stops the worker as for any
unrecoverable error. :meth:`Channel._brpop_read` is kombu's with the
decoding of the item checked first: a poison item is moved aside
(:mod:`.dead_letters`) and the loop goes on. It copies kombu 5.7's private
method, which is why ``pyproject.toml`` pins kombu to that minor version;
``tests/integration/test_poison.py`` fails if the method changes shape.

``app.py`` selects this class with ``broker_transport``, or
:class:`SentinelTransport` (the same channel over kombu's Sentinel channel)
for ``sentinel://`` URLs, with :func:`stay_on_first_sentinel` as the
failover strategy: kombu's ``Connection.switch`` re-parses the next
``;``-separated URL and takes its scheme for the transport (kombu 5.7
``connection.py``: "parse_url() sets transport to the raw URL scheme,
overriding any transport given at construction time"), which would swap our
transport for kombu's after the first failed connect. Sentinels need no
client-side switching: kombu's Sentinel channel hands the whole list to
redis-py's ``Sentinel``, which asks each in turn.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from sparkswarm.workers import lua
from sparkswarm.workers.dead_letters import move_aside


def poison_reason(channel: Any, payload: Any) -> str:
    """Why ``payload`` (a decoded queue item) cannot be delivered by kombu,
    or "" if it can: what kombu's ``Message`` and Redis QoS read from it."""
    if not isinstance(payload, dict):
        return f"not a kombu envelope (a JSON {type(payload).__name__})"
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return "envelope without properties"
    if not isinstance(properties.get("delivery_tag"), str):
        return "envelope without a delivery tag"
    info = properties.get("delivery_info")
    if not isinstance(info, dict) or not all(
        isinstance(info.get(k), str) for k in ("exchange", "routing_key")
    ):
        return "envelope without delivery info"
    if not isinstance(payload.get("headers", {}), dict):
        return "envelope whose headers are not an object"
    try:
        channel.Message(payload, channel=channel)  # decodes the body as kombu will
    except Exception as exc:
        return f"body does not decode: {type(exc).__name__}: {exc}"
    return ""


class QoS(kombu_redis.QoS):
    """kombu's Redis QoS, which also claims a run on the round trip that
    records its message as unacked (see delivery_claim.py)."""

    def append(self, message: Any, delivery_tag: str) -> None:
        from sparkswarm.workers.delivery_claim import CLAIM_HEADER, request_for_message
        from sparkswarm.workers.runner import worker_client

        if CLAIM_HEADER in message.headers:  # only this worker's claim may be there
            message.headers = {k: v for k, v in message.headers.items() if k != CLAIM_HEADER}
        qc = worker_client()
        request = request_for_message(qc, message)
        if request is None:
            super().append(message, delivery_tag)
            return
        if not getattr(self, "_claim_loaded", False):  # the first claim, or after NOSCRIPT
            qc.redis.script_load(lua.CLAIM)
            self._claim_loaded = True
        # kombu 5.7's QoS.append (tests/unit/test_kombu_copies.py), with the
        # claim in its pipeline and the pipeline's errors raised as kombu
        # raises them, except the claim's (the pool then claims the run).
        delivery = message.delivery_info
        EX, RK = delivery["exchange"], delivery["routing_key"]
        with self.pipe_or_acquire() as pipe:  # type: ignore[no-untyped-call]
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()}).hset(
                self.unacked_key, delivery_tag, dumps([message._raw, EX, RK])
            )
            request.queue_on(qc, pipe)
            replies = pipe.execute(raise_on_error=False)
            for reply in replies[:2]:
                if isinstance(reply, Exception):
                    raise reply
            virtual.QoS.append(self, message, delivery_tag)
        claim = request.answer(replies[2])
        if claim is None:
            self._claim_loaded = False  # a restarted Redis forgot the script
        else:
            message.headers = {**message.headers, CLAIM_HEADER: claim.as_header()}


class Channel(kombu_redis.Channel):
    """A channel that raises ``redis.ConnectionError`` once its transport was
    detached from its connection, where kombu raises ``AttributeError``;
    its QoS claims runs on delivery (:class:`QoS`)."""

    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("the broker connection was closed (reconnecting)")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[no-untyped-call]

    def _brpop_read(self, **options: Any) -> bool:
        # kombu 5.7's Channel._brpop_read, except that the item goes through
        # _deliver_item (checked before delivery) instead of straight to
        # ``self.connection._deliver(loads(...))``.
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if dest__item:
                dest, item = dest__item
                dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]  # type: ignore[no-untyped-call]
                self._queue_cycle.rotate(dest)
                self._deliver_item(item, dest)
                return True
            else:
                raise Empty()
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        # kombu's, skipping (and moving aside) poison items.
        while True:
            with self.conn_or_acquire() as client:
                item = None
                for pri in self.priority_steps:
                    item = client.rpop(self._q_for_pri(queue, pri))  # type: ignore[no-untyped-call]
                    if item:
                        break
                self._maybe_update_queues_expire(client, queue)  # type: ignore[no-untyped-call]
                if not item:
                    raise Empty()
                payload, reason = self._decode(item)
                if not reason:
                    return payload
                move_aside(client, item, queue, reason)

    def _decode(self, item: bytes) -> tuple[Any, str]:
        """The envelope in ``item``, and why it cannot be delivered ("" if it can)."""
        try:
            payload = loads(bytes_to_str(item))  # type: ignore[no-untyped-call]
        except (ValueError, UnicodeDecodeError) as exc:
            return None, f"not JSON: {type(exc).__name__}: {exc}"
        return payload, poison_reason(self, payload)

    def _deliver_item(self, item: bytes, queue: str) -> None:
        payload, reason = self._decode(item)
        if not reason:
            try:
                self.connection._deliver(payload, queue)
                return
            except self.connection_errors:
                raise
            except Exception as exc:  # the last resort: the worker outlives any item
                reason = f"delivery failed: {type(exc).__name__}: {exc}"
        with self.conn_or_acquire() as client:
            move_aside(client, item, queue, reason)


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


class SentinelChannel(Channel, kombu_redis.SentinelChannel):
    """Our channel's guards over kombu's Sentinel channel, which connects to
    the primary the sentinels name (``master_name``)."""


class SentinelTransport(kombu_redis.SentinelTransport):
    """kombu's Sentinel transport with :class:`SentinelChannel`."""

    Channel = SentinelChannel


def stay_on_first_sentinel(urls: list[str]) -> Iterator[str]:
    """kombu failover strategy for ``sentinel://a;sentinel://b``: always the
    first sentinel's host name, so ``Connection.switch`` keeps the transport
    and the parameters given at construction (a bare host name is no URL)."""
    from kombu.utils.url import parse_url

    return itertools.repeat(str(parse_url(urls[0])["hostname"]))
