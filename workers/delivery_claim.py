"""A run's claim, taken on the Redis round trip that delivers its message.

Before Celery hands a message to a pool thread or process, the worker pays
one Redis round trip for it: kombu's Redis QoS records it as unacked
(``ZADD`` and ``HSET`` in one pipeline) so it comes back if the worker dies.
A bare Celery task pays that too. A run must also be claimed before its
operation starts (``lua.CLAIM``: heartbeat, target locks, ``running``, the
``started`` event), and a claim of its own from the pool was a second round
trip that only runs paid. So the worker's QoS (``transport.py``) adds the
claim to kombu's pipeline: one round trip for both, in the same order (the
message is unacked in Redis before its run is marked running). The outcome
travels to the pool with the message, in the header :data:`CLAIM_HEADER`,
and ``runner.execute_run`` acts on it as on a claim of its own. A message
without that header (another transport, or a restarted Redis that forgot
the script) is claimed by the pool in a round trip of its own.

Each delivery claims with a token of its own (:func:`delivery_token`):
two copies of one run's message
never both start it, even in one worker (the second finds the heartbeat
held by another token), and a copy redelivered after its worker died finds
the dead delivery's heartbeat until it expires, as a copy on another
worker would.

A claim can be taken for a message the worker then never starts (it stops
between the delivery and the start): kombu gives the message back to the
queue, and the run's heartbeat, which nobody refreshes, expires; the run
is then started again by that message or re-queued by the recovery pass,
as after a worker's death.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

from sparkswarm.operations import get_operation
from sparkswarm.workers.events import OperationStarted
from sparkswarm.workers.locks import target_keys

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.records import ClaimArgs

log = logging.getLogger(__name__)

_HOST = socket.gethostname()

#: The worker process: host, pid and a random part (pids are reused).
WORKER_TOKEN = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

#: The message header that carries the claim taken on delivery to the pool.
CLAIM_HEADER = "sparkswarm_claim"

_deliveries = itertools.count(1)


def delivery_token() -> str:
    """The heartbeat owner of one delivery of a run by this process: its
    worker's token, this process's pid (a pool process forked from the
    worker shares its token) and a number."""
    return f"{WORKER_TOKEN}:{os.getpid()}-{next(_deliveries)}"


class Claim(NamedTuple):
    """What ``lua.CLAIM`` answered for one delivery (see ``RunStore.claim``),
    and the token it claimed with. A named tuple: one is made for every
    delivered run, on the worker's event loop."""

    token: str
    outcome: str
    delivery: int = 0
    holder: str = ""
    busy: str = ""

    def as_header(self) -> list[Any]:
        return list(self)

    @classmethod
    def from_header(cls, value: Any) -> Claim | None:
        """The claim a header carries, or None if it carries none that this
        process took: the token must be of this worker process (a thread
        pool) or of its parent (a process pool)."""
        if not isinstance(value, list) or len(value) != 5:
            return None
        token, outcome, delivery, holder, busy = value
        if not (
            isinstance(token, str)
            and isinstance(outcome, str)
            and isinstance(holder, str)
            and isinstance(busy, str)
            and type(delivery) is int  # not a bool either
            and token.count(":") >= 3
        ):
            return None
        host, pid, _random, _delivery = token.rsplit(":", 3)
        if host != _HOST or pid not in (str(os.getpid()), str(os.getppid())):
            return None
        return cls(token, outcome, delivery, holder, busy)


class ClaimRequest:
    """Everything one claim of run ``run_id`` needs (``RunStore.claim``), by
    delivery ``token``, for ``params`` as the message gives them; ``key_prefix``
    is the queue client's (its settings name the lock keys).

    A plain class whose target and lock keys are computed once, when it is
    made: it is made for every delivered run, on the worker's event loop.
    """

    __slots__ = ("key_prefix", "lock_keys", "op_name", "params", "run_id", "target", "token")

    def __init__(
        self, run_id: str, op_name: str, params: dict[str, Any], token: str, key_prefix: str
    ) -> None:
        self.run_id = run_id
        self.op_name = op_name
        self.params = params
        self.token = token
        self.key_prefix = key_prefix
        self.target = get_operation(op_name).target(params)
        self.lock_keys = target_keys(key_prefix, self.target)

    def params_json(self) -> str:
        """The parameters' JSON, as the claim compares it with the record's."""
        return json.dumps(self.params)

    def started_json(self) -> str:
        """The ``started`` event the claim writes."""
        return OperationStarted(
            run_id=self.run_id,
            op=self.op_name,
            target=self.target,
            worker=self.token,
            message=f"started on {self.token}",
        ).model_dump_json()

    def claim(self, qc: QueueClient, *, params_json: str | None = None) -> Claim:
        """Claim the run now, in a round trip of its own; ``params_json`` ""
        skips the comparison of the parameters (see ``RunStore.claim``)."""
        if params_json is None:
            params_json = self.params_json()
        outcome, delivery, holder, busy = qc.store.claim(**self._claim_args(qc, params_json))
        return Claim(self.token, outcome, delivery, holder, busy)

    def queue_on(self, qc: QueueClient, pipe: Any) -> None:
        """Add this claim to redis-py pipeline ``pipe`` (read its reply
        with :meth:`answer`)."""
        keys, args = qc.store.claim_call(**self._claim_args(qc, self.params_json()))
        pipe.evalsha(qc.store.claim_sha, len(keys), *keys, *args)

    def _claim_args(self, qc: QueueClient, params_json: str) -> ClaimArgs:
        """The arguments of ``RunStore.claim`` (and ``claim_call``) for this run."""
        return {
            "run_id": self.run_id,
            "worker": self.token,
            "lock_keys": self.lock_keys,
            "event_json": self.started_json(),
            "heartbeat_ttl": qc.settings.heartbeat_ttl,
            "lock_ttl": qc.settings.heartbeat_ttl * 3,
            "max_deliveries": qc.settings.max_deliveries,
            "op": self.op_name,
            "params_json": params_json,
        }

    def answer(self, reply: Any) -> Claim | None:
        """The claim in the pipeline's ``reply``; None if the script failed
        (then the pool claims the run itself)."""
        if isinstance(reply, Exception):
            # NOSCRIPT: a restarted Redis forgot the script (loaded again
            # for the next delivery); nothing to say about that one.
            level = logging.DEBUG if "NOSCRIPT" in str(reply) else logging.WARNING
            log.log(
                level, "run %s: no claim on delivery (%s); the pool claims it", self.run_id, reply
            )
            return None
        outcome, delivery, holder, busy = (v.decode() if isinstance(v, bytes) else v for v in reply)
        return Claim(self.token, str(outcome), int(delivery), str(holder), str(busy))


def request_for_message(qc: QueueClient, message: Any) -> ClaimRequest | None:
    """The claim to take on delivery of kombu ``message``: None unless it is
    a run of an operation this worker has a task for, with a run id and
    parameters; never for a ``local`` operation (``execute_run`` refuses
    those, and a malformed message, without claiming anything)."""
    from sparkswarm.workers.tasks import OPERATION_TASKS

    name = message.headers.get("task")
    if not isinstance(name, str) or name not in OPERATION_TASKS or get_operation(name).local:
        return None
    if message.content_type != "application/json":
        return None  # Celery decides what to do with it
    try:
        # The body as Celery will read it (protocol 2: args, kwargs, embed);
        # run messages are plain JSON (task_message.py), so the standard parser.
        _args, kwargs, _embed = json.loads(message.body)
    except (TypeError, ValueError):
        return None
    if not isinstance(kwargs, dict):
        return None
    run_id, params = kwargs.get("run_id"), kwargs.get("params")
    if not isinstance(run_id, str) or not isinstance(params, dict):
        return None
    return ClaimRequest(run_id, name, params, delivery_token(), qc.settings.key_prefix)
