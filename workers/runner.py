"""Executing one run on a worker.

The life of a delivery (``execute_run``):

1. in one script (``lua.CLAIM``): take the run's heartbeat (owner: this
   delivery's token) and its target locks (owner: the run), and mark the
   run ``running``. The worker runs that script on the round trip that
   delivers the message (delivery_claim.py); a message that comes without
   its claim is claimed here. A heartbeat held by another delivery means
   this message is a duplicate: it is acked and dropped. A finished run is never
   started again; a run started ``max_deliveries`` times on workers that
   all died is failed;
2. if the target is busy (its lock is held, or an older request for it is
   unfinished: requests for one target run in submission order, see
   ``lua._ORDER``), park the message and return: waiting holds no worker
   slot, and the run before it puts it back on the queue when it finishes
   (``lua.FINISH``);
3. run the core operation, retrying errors marked retryable with backoff;
4. record the outcome, release both locks and wake the parked runs, again
   in one script.

A thread refreshes the heartbeat and the target lock while 3 goes on; when
they stop being refreshed, ``recovery.py`` takes over.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, SparkswarmError
from sparkswarm.retry import retry_delays
from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.delivery_claim import (
    WORKER_TOKEN,
    Claim,
    ClaimRequest,
    delivery_token,
)
from sparkswarm.workers.events import (
    OperationFailedEvent,
    OperationRecovered,
    OperationRetrying,
    OperationSucceeded,
    OperationWaiting,
    progress_event,
)
from sparkswarm.workers.held_runs import HeldRuns
from sparkswarm.workers.sealing import unseal_params

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

__all__ = ["WORKER_TOKEN", "DeliveryOutcome", "execute_run", "worker_client"]

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def worker_client() -> QueueClient:
    """The worker process's queue client (one Redis connection pool)."""
    return QueueClient()


@dataclass
class DeliveryOutcome:
    """What a delivery did, returned as the Celery task's JSON result."""

    run_id: str
    outcome: str
    state: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "outcome": self.outcome, "state": self.state}


# The runs this process executes: their heartbeats and locks are refreshed.
HELD_RUNS = HeldRuns(worker_client)


def execute_run(
    op_name: str, run_id: str, params: dict[str, Any], claimed: Claim | None = None
) -> dict[str, Any]:
    """Execute one delivery of run ``run_id`` (see the module docstring);
    ``claimed`` is the claim the worker took on delivery (see
    delivery_claim.py), None to claim here.

    The record decides, not the message: a message whose operation or
    parameters are not its record's is refused (moved aside, the record left
    alone), and an operation that is ``local`` is never run here (its run
    fails). Never raises for the operation's own failures: they are
    recorded. Redis errors propagate (the message is then not acked and
    comes back later).
    """
    from sparkswarm.operations import get_operation

    qc = worker_client()
    op = get_operation(op_name)
    if not isinstance(run_id, str) or not isinstance(params, dict):
        return _refuse_message(
            qc, op_name, run_id, params, "its run id or parameters are malformed"
        )
    if op.local:
        return _refuse_local(qc, op_name, run_id, params)
    if not HELD_RUNS.reserve(run_id):
        return DeliveryOutcome(run_id, "duplicate").as_dict()
    try:
        return _deliver(qc, op_name, run_id, params, claimed)
    finally:
        HELD_RUNS.release(run_id)


def _deliver(
    qc: QueueClient, op_name: str, run_id: str, params: dict[str, Any], claimed: Claim | None
) -> dict[str, Any]:
    """A delivery that no other thread of this process is executing."""
    token = claimed.token if claimed else delivery_token()
    request = ClaimRequest(run_id, op_name, params, token, qc.settings.key_prefix)
    target, lock_keys = request.target, request.lock_keys
    params_json: str | None = None  # compare the parameters' JSON with the record's
    while True:
        claim = claimed or request.claim(qc, params_json=params_json)
        claimed = None
        outcome, delivery, holder, busy = claim.outcome, claim.delivery, claim.holder, claim.busy
        if outcome == "mismatch":
            if holder == op_name and params_json != "" and _same_json(busy, params):
                params_json = ""  # the same values, spelled otherwise: claim without
                continue
            why = (
                f"its record is of operation {holder!r}"
                if holder != op_name
                else f"its parameters are not its record's ({busy})"
            )
            return _refuse_message(qc, op_name, run_id, params, why)
        if outcome != "locked":
            break
        if _park(qc, request, params, holder):
            return DeliveryOutcome(run_id, "parked", "queued").as_dict()
        # The target was freed between the two scripts: claim again.
    if outcome in ("duplicate", "done", "missing"):
        # duplicate: another live worker is executing this run right now.
        return DeliveryOutcome(run_id, outcome).as_dict()
    HELD_RUNS.hold(run_id, token, lock_keys)
    try:
        if outcome == "exhausted":
            reason = (
                f"worker died {delivery} times while running this operation; not starting it again"
            )
            _finish_failed(qc, request, reason, "OperationFailed")
            return DeliveryOutcome(run_id, "exhausted", "failed").as_dict()
        first_started: float | None = None
        if delivery > 1:
            first_started = _first_started(qc, run_id)
            qc.store.note(
                run_id,
                f"recovered after worker loss: delivery {delivery} started on {token}",
            )
            qc.events.publish(
                OperationRecovered(
                    run_id=run_id,
                    op=op_name,
                    target=target,
                    delivery=delivery,
                    message=f"recovered after worker loss (delivery {delivery})",
                )
            )
        try:
            params = _execution_params(qc, op_name, run_id, params)
        except InvalidRequest as exc:
            _finish_failed(qc, request, str(exc), "InvalidRequest")
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        return _run_and_record(qc, request, params, first_started)
    finally:
        HELD_RUNS.drop(run_id)


def _same_json(recorded: str, params: dict[str, Any]) -> bool:
    """True if the recorded parameters' JSON holds the values ``params`` holds."""
    try:
        return bool(json.loads(recorded) == params)
    except ValueError:
        return False


def _refuse_message(
    qc: QueueClient, op_name: str, run_id: Any, params: Any, why: str
) -> dict[str, Any]:
    """Move a message that does not match its run's record aside, leaving the
    record alone: the run still runs as recorded, from its own message or
    from the one recovery writes from the record."""
    from sparkswarm.workers.dead_letters import move_aside

    body = {"task": op_name, "kwargs": {"run_id": run_id, "params": params}}
    try:
        raw = json.dumps(body)
    except (TypeError, ValueError):
        raw = repr(body)
    move_aside(qc.redis, raw, qc.settings.queue, f"refused: {why}")
    return DeliveryOutcome(str(run_id), "refused").as_dict()


def _refuse_local(
    qc: QueueClient, op_name: str, run_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """A ``local`` operation acts on the engine of the machine that runs it
    (leaving or joining a swarm): a worker never runs one, whatever Redis
    says. Its run, if recorded as this operation and still queued, fails."""
    reason = (
        f"{op_name} acts on the engine of the machine that runs it: "
        "a worker never runs it (refused)"
    )
    record = qc.store.find(run_id)
    if record is not None and record.op == op_name and not record.done:
        unclaimed = ClaimRequest(run_id, op_name, params, "", qc.settings.key_prefix)
        _finish_failed(qc, unclaimed, reason, "InvalidRequest", target=record.target)
        log.error("run %s: %s", run_id, reason)
        return DeliveryOutcome(run_id, "refused", "failed").as_dict()
    return _refuse_message(qc, op_name, run_id, params, reason)


def _first_started(qc: QueueClient, run_id: str) -> float | None:
    """When the run's first delivery started (a recovered run's record keeps it)."""
    raw = qc.redis.hget(qc.store.run_key(run_id), "started_at")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _execution_params(
    qc: QueueClient, op_name: str, run_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The parameters to run with: the record's (``params``, which the claim
    checked against it), with the secret ones read from the run's parameters
    key and unsealed (the record has them masked). InvalidRequest if that key
    is gone or does not match the record, or is sealed with a key this
    worker lacks."""
    from sparkswarm.operations import get_operation, mask_secrets

    op = get_operation(op_name)
    if not op.secret_params:
        return params
    stored = qc.store.execution_params(run_id)
    if stored is None:
        raise InvalidRequest("the run's secret parameters are gone (it ended or expired)")
    if mask_secrets(op, stored) != params:
        raise InvalidRequest("the run's stored parameters do not match its record (refused)")
    return unseal_params(stored, qc.secret_key)


def _park(qc: QueueClient, request: ClaimRequest, params: dict[str, Any], holder: str) -> bool:
    """Park the run while its target is busy (no worker slot is held while it
    waits); the run before it re-queues it when done. False if nothing blocks
    it now."""
    run_id, target = request.run_id, request.target
    message = qc.message_for(request.op_name, run_id, params)
    if not qc.store.park(run_id, request.token, request.lock_keys, message):
        return False
    qc.events.publish(
        OperationWaiting(
            run_id=run_id,
            op=request.op_name,
            target=target,
            holder=holder,
            message=f"waiting for {target}: run {holder} goes first",
        )
    )
    return True


def _run_and_record(
    qc: QueueClient,
    request: ClaimRequest,
    params: dict[str, Any],
    first_started: float | None = None,
) -> dict[str, Any]:
    from sparkswarm.gateway import Gateway
    from sparkswarm.operations import run_operation

    s = qc.settings
    op_name, run_id, target = request.op_name, request.run_id, request.target

    def progress(message: str, /, **details: Any) -> None:
        try:
            qc.events.publish(progress_event(run_id, op_name, target, message, details))
        except Exception as exc:
            log.warning("progress event lost: %s", exc)

    attempt = 0
    while True:
        attempt += 1
        gw = Gateway.from_settings()
        try:
            result = run_operation(gw, op_name, params, progress, run_id=run_id)
        except SparkswarmError as exc:
            delays = retry_delays(s.retry_attempts, s.retry_backoff, s.retry_backoff_max)
            if exc.retryable and attempt <= len(delays):
                delay = delays[attempt - 1]
                qc.store.note(
                    run_id,
                    f"attempt {attempt} failed ({type(exc).__name__}: {exc}); "
                    f"retrying in {delay:g}s",
                    count="retries",
                )
                qc.events.publish(
                    OperationRetrying(
                        run_id=run_id,
                        op=op_name,
                        target=target,
                        attempt=attempt,
                        delay=delay,
                        error=str(exc),
                        message=f"attempt {attempt} failed, retrying in {delay:g}s",
                    )
                )
                time.sleep(delay)
                continue
            reason = str(exc)
            if exc.retryable:
                reason = f"{exc} (gave up after {attempt} attempts)"
            _finish_failed(qc, request, reason, type(exc).__name__)
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        except Exception as exc:
            log.exception("operation %s (run %s) crashed", op_name, run_id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            _finish_failed(qc, request, reason, "InternalError")
            return DeliveryOutcome(run_id, "finished", "failed").as_dict()
        else:
            if first_started is not None:
                result = _credit_earlier_delivery(qc, run_id, gw, result, first_started)
        finally:
            gw.close()
        event = OperationSucceeded(
            run_id=run_id, op=op_name, target=target, result=result, message="succeeded"
        )
        state = qc.store.finish(
            run_id,
            "succeeded",
            event.model_dump_json(),
            result=result,
            allowed_from=("running",),
            worker=request.token,
            lock_keys=request.lock_keys,
            queue=s.queue,
        )
        return DeliveryOutcome(
            run_id, "finished" if state == "ok" else f"late:{state}", "succeeded"
        ).as_dict()


def _finish_failed(
    qc: QueueClient,
    request: ClaimRequest,
    reason: str,
    error_type: str,
    *,
    target: str | None = None,
) -> None:
    """Record the run failed, releasing what its delivery holds (nothing for
    a request whose token is ""); ``target`` for the event if not the
    request's."""
    run_id = request.run_id
    event = OperationFailedEvent(
        run_id=run_id,
        op=request.op_name,
        target=request.target if target is None else target,
        error=reason,
        error_type=error_type,
        message=reason,
    )
    qc.store.finish(
        run_id,
        "failed",
        event.model_dump_json(),
        error=reason,
        error_type=error_type,
        allowed_from=("queued", "running"),
        worker=request.token,
        lock_keys=request.lock_keys,
        queue=qc.settings.queue,
    )


def _credit_earlier_delivery(
    qc: QueueClient, run_id: str, gw: Gateway, result: Any, since: float
) -> Any:
    """A recovered run's result, with what its earlier delivery did put back.

    The delivery that found a service already as asked reports it
    ``unchanged``, though the delivery whose worker died made that change.
    The engine says when: a service created or updated after the run first
    started (its ``CreatedAt``/``UpdatedAt``, against the run's
    ``started_at``; the clocks of workers and managers must agree) was
    changed by this run. Such outcomes become ``changed`` (``created`` or
    ``completed``), with a note. Anything the engine cannot answer is left
    as it was.
    """
    notes: list[str] = []

    def credited(outcome: Any) -> Any:
        if not isinstance(outcome, dict) or outcome.get("changed") is not False:
            return outcome
        name = outcome.get("id") or outcome.get("service")
        if not isinstance(name, str) or not name:
            return outcome
        try:
            service = gw.inspect_service(name)
        except SparkswarmError:
            return outcome
        created, updated = (_engine_time(service.get(k)) for k in ("CreatedAt", "UpdatedAt"))
        if created is not None and created >= since:
            what = "created"
        elif updated is not None and updated >= since:
            what = "completed"
        else:
            return outcome
        done = "created" if what == "created" else "updated"
        notes.append(
            f"service {outcome.get('service') or name} was {done} by an earlier delivery "
            "of this run (the engine's timestamps are after the run started)"
        )
        kept = outcome.get("outcome")
        return {**outcome, "changed": True, "outcome": what if kept == "unchanged" else kept}

    if isinstance(result, dict) and isinstance(result.get("services"), list):
        result = {**result, "services": [credited(o) for o in result["services"]]}
    elif isinstance(result, dict):
        result = credited(result)
    for note in notes:
        qc.store.note(run_id, note)
    return result


def _engine_time(value: Any) -> float | None:
    """An engine timestamp (RFC 3339, nanoseconds) as epoch seconds, or None."""
    from datetime import datetime

    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
