"""Carrying out requests: one :class:`Executor` protocol, chosen once per process.

The CLI, the bot and the schedules hold an executor and never decide
themselves whether a request runs in this process or through the queue:

- :class:`LocalExecutor` (here) runs operations in this process against the
  engine (the CLI without a broker; nothing is recorded);
- the queue's executor (the queue package provides it) records a run and
  publishes it for a worker, and answers the queue's reads from Redis; given
  a local executor (the CLI, which has the engine) it runs engine reads and
  ``local`` operations (swarm init/join/leave) in this process through it.

Also where a recorded run comes from (its ``source``); its states are in
:mod:`sparkswarm.states`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, Unpack, get_args

from sparkswarm.errors import InvalidRequest

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn
    from sparkswarm.requests.model import Request

Source = Literal["cli", "slack", "schedule", "api"]
SOURCES: tuple[Source, ...] = get_args(Source)


@dataclass(frozen=True)
class Origin:
    """Who asks for a run, from where (recorded with it): ``requester`` is a
    Slack user id, ``user@host`` or ``schedule:<name>``; ``schedule`` names
    the schedule that fired it."""

    requester: str
    source: Source = "cli"
    schedule: str | None = None


@dataclass(frozen=True)
class Run:
    """What :meth:`Executor.submit` did.

    A recorded run (the queue) has a ``run_id``; ``created`` is False when
    the idempotency key named a run submitted before, and ``stream_id`` is
    where its events start. A run in this process has no id and is over:
    ``result`` holds its typed result.
    """

    run_id: str | None
    created: bool = True
    stream_id: str = ""
    result: Any = None

    @property
    def recorded(self) -> bool:
        """True when the run is recorded (and goes on without the caller)."""
        return self.run_id is not None


class SubmitOptions(TypedDict, total=False):
    """How :meth:`Executor.submit` runs a change: the same ``key`` twice runs
    once (recorded runs only); ``detach`` tells the operation not to wait for
    the swarm to converge (a recorded run never makes the caller wait); in
    this process ``progress`` is told what happens."""

    key: str | None
    detach: bool
    progress: ProgressFn | None


class Executor(Protocol):
    """Runs requests; see the module docstring."""

    def submit(self, request: Request, *, origin: Origin, **options: Unpack[SubmitOptions]) -> Run:
        """Carry out change ``request`` for ``origin`` (see SubmitOptions).
        Raises InvalidRequest for a request this executor cannot run, and
        (in this process) what the operation raises."""
        ...

    def read(self, request: Request) -> Any:
        """The typed result of read ``request``. Raises what the read raises."""
        ...


class LocalExecutor:
    """Runs every engine operation in this process; records nothing.

    ``gateway`` is called for the gateway on first use (a command that fails
    parsing never connects).
    """

    def __init__(self, gateway: Callable[[], Gateway]) -> None:
        self.gateway = gateway

    def submit(self, request: Request, *, origin: Origin, **options: Unpack[SubmitOptions]) -> Run:
        """Run ``request`` now; the Run holds its result. InvalidRequest with
        a ``key`` (only recorded runs have one) or for a queue read."""
        from sparkswarm.operations import call_operation

        if options.get("key") is not None:
            raise InvalidRequest(
                "--key needs the queue (SPARKSWARM_REDIS_URL): runs in this process are "
                "not recorded"
            )
        params = {**request.params}
        if options.get("detach"):
            params.setdefault("detach", True)
        result = call_operation(self.gateway(), request.op, params, options.get("progress"))
        return Run(run_id=None, result=result)

    def read(self, request: Request) -> Any:
        """Read from the engine; InvalidRequest for a read only the queue answers."""
        from sparkswarm.operations import call_operation, get_operation

        if get_operation(request.op).executor == "queue":
            raise InvalidRequest("no broker configured: set SPARKSWARM_REDIS_URL")
        return call_operation(self.gateway(), request.op, request.params)


def requester_name() -> str:
    """``user@host`` of this process: who asks, in the records of terminal runs."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
