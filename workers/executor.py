"""The queue's :class:`~sparkswarm.executor.Executor`, and the one choice of executor.

:func:`executor_for` is where a process decides, once, from its settings,
how requests run; the CLI, the bot and the schedules are handed what it
returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Unpack

from sparkswarm.errors import InvalidRequest
from sparkswarm.executor import Executor, LocalExecutor, Origin, Run, SubmitOptions

if TYPE_CHECKING:
    from sparkswarm.config import Settings
    from sparkswarm.requests.model import Request
    from sparkswarm.workers.client import QueueClient


class QueueExecutor:
    """Changes become recorded runs on the queue; queue reads are answered
    from Redis.

    Engine reads and ``local`` operations (which act on the engine of the
    machine that runs them) go to ``local`` when given (the CLI has the
    engine). Without it (the bot never holds the Docker socket) an engine
    read is submitted as a run like a change, and a local operation is
    refused (InvalidRequest, from the queue client).
    """

    def __init__(
        self,
        client: QueueClient | None = None,
        *,
        connect: Callable[[], QueueClient] | None = None,
        local: LocalExecutor | None = None,
    ) -> None:
        """On ``client``, or on the one ``connect()`` returns when first needed
        (the CLI's engine reads never need Redis); one of the two is given."""
        if (client is None) == (connect is None):
            raise TypeError("QueueExecutor takes a client or a connect function, not both")
        self._client = client
        self._connect = connect
        self.local = local

    @property
    def client(self) -> QueueClient:
        """The queue client (connected on first use when made with ``connect``)."""
        if self._client is None:
            assert self._connect is not None  # __init__ took one of the two
            self._client = self._connect()
        return self._client

    def submit(self, request: Request, *, origin: Origin, **options: Unpack[SubmitOptions]) -> Run:
        """Record and enqueue ``request`` (see :meth:`QueueClient.submit`); a
        ``local`` operation runs in this process when a local executor is set.
        Raises InvalidRequest, Conflict (a key reused for other params) and
        Unavailable (no broker) from the queue client."""
        from sparkswarm.operations import get_operation

        if self.local is not None and get_operation(request.op).local:
            return self.local.submit(request, origin=origin, **options)
        sub = self.client.submit(
            request.op,
            dict(request.params),
            requester=origin.requester,
            source=origin.source,
            key=options.get("key"),
            schedule=origin.schedule,
        )
        return Run(run_id=sub.run_id, created=sub.created, stream_id=sub.stream_id)

    def read(self, request: Request) -> Any:
        """A queue read, from Redis; an engine read, through the local executor.

        Raises what the read raises, Unavailable without Redis, and
        InvalidRequest for an engine read without a local executor (submit
        it: a worker answers it as a run).
        """
        from sparkswarm.operations import get_operation
        from sparkswarm.workers.client import broker_errors

        op = get_operation(request.op)
        if op.executor == "queue":
            with broker_errors(request.op):
                return op.resolve()(self.client, **request.params)
        if self.local is None:
            raise InvalidRequest(f"{request.op} needs the engine: submit it for a worker")
        return self.local.read(request)


def executor_for(settings: Settings, *, local: LocalExecutor | None = None) -> Executor:
    """The executor for a process with ``settings``: the queue's when a
    broker is configured (SPARKSWARM_REDIS_URL), else ``local``.

    ``local`` is the process's own engine (the CLI's); a process without one
    (the bot, the scheduler) needs the broker: InvalidRequest naming the
    setting otherwise.
    """
    if settings.redis_url:
        return QueueExecutor(connect=lambda: _client_for(settings), local=local)
    if local is None:
        raise InvalidRequest("no broker configured: set SPARKSWARM_REDIS_URL")
    return local


def _client_for(settings: Settings) -> QueueClient:
    """The process-wide queue client when ``settings`` are the process's own."""
    from sparkswarm.config import get_settings
    from sparkswarm.workers.client import QueueClient, queue_client

    return queue_client() if settings is get_settings() else QueueClient(settings)
