"""Operation records in Redis: who asked for what, and what became of it
(:class:`~sparkswarm.workers.run_record.RunRecord`), and the store of them.

A record is the hash ``ssw:run:<id>``; ``ssw:runs`` indexes them by creation
time and ``ssw:runs:active`` holds the runs a worker has picked up. Records
outlive Celery's own results and are trimmed by age and count (settings).
State changes are Lua scripts, so each transition is atomic and checks the
state it leaves: a finished run is never started or finished again, which is
what makes a redelivered message harmless.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``;
``queued`` -> ``cancelled``.
"""

from __future__ import annotations

import json
import time
from typing import Any, NotRequired, TypedDict, Unpack

from sparkswarm.errors import NotFound
from sparkswarm.states import RunState
from sparkswarm.workers import lua
from sparkswarm.workers.locks import heartbeat_key
from sparkswarm.workers.record_index import IndexedStore, Retention, newest_first, past_retention
from sparkswarm.workers.redis_api import RedisClient
from sparkswarm.workers.run_record import RunRecord, hash_value


class ClaimArgs(TypedDict):
    """The arguments of one claim (:meth:`RunStore.claim`, ``claim_call``):
    run ``run_id`` for delivery token ``worker``, the target's ``lock_keys``,
    the ``started`` event to write, the heartbeat's and locks' lifetimes in
    seconds, how many deliveries a run may have, and what the record must
    hold: operation ``op`` and (unless "") exactly ``params_json``."""

    run_id: str
    worker: str
    lock_keys: list[str]
    event_json: str
    heartbeat_ttl: float
    lock_ttl: float
    max_deliveries: int
    op: NotRequired[str]
    params_json: NotRequired[str]


class RunStore(IndexedStore):
    """Operation records on one Redis client (``decode_responses=True``).

    Every method raises redis-py's errors when Redis is unreachable, and
    :class:`NotFound` for an unknown run id where it says so.
    """

    index = "runs"

    def __init__(
        self, client: RedisClient, prefix: str = "ssw:", **retention: Unpack[Retention]
    ) -> None:
        super().__init__(client, prefix, **retention)
        self._create = client.register_script(lua.CREATE)
        self._claim = client.register_script(lua.CLAIM)
        self._park = client.register_script(lua.PARK)
        self._sweep = client.register_script(lua.SWEEP)
        self.waiting_key = f"{prefix}locks:waiting"  # the previous version's parking
        self.parked_key = f"{prefix}parked"
        self.fifos_key = f"{prefix}locks:fifos"
        self.seq_key = f"{prefix}seq"
        self.run_prefix = f"{prefix}run:"
        # Counted by the scripts (op -> runs that waited for a target lock, and
        # the seconds they waited): the metrics exporter reads them.
        self.lock_waits_key = f"{prefix}metrics:lock_waits"
        self.lock_wait_seconds_key = f"{prefix}metrics:lock_wait_seconds"
        self._finish = client.register_script(lua.FINISH)
        self._note = client.register_script(lua.NOTE)
        self._orphaned = client.register_script(lua.ORPHANED)
        self._requeue_orphan = client.register_script(lua.REQUEUE_ORPHAN)
        self._refresh = client.register_script(lua.REFRESH)
        self._claim_constants = tuple(
            str(v).encode()
            for v in (
                self.active_key,
                self.stream_key,
                self.parked_key,
                self.events_maxlen,
                self.run_prefix,
                self.lock_wait_seconds_key,
            )
        )

    def create(
        self,
        record: RunRecord,
        params: dict[str, Any],
        event_json: str,
        *,
        queue_key: str = "",
        message: str = "",
        lock_keys: list[str] | tuple[str, ...] = (),
    ) -> tuple[bool, str]:
        """Store a new queued record unless its id exists (atomic ``SET NX``)
        and, in the same script, push ``message`` onto list ``queue_key``,
        number the run (``seq``) and append it to the FIFO of each of its
        ``lock_keys`` (it starts only when it is first in all of them).

        ``params`` are the unmasked parameters, kept only until the run ends so
        a recovered run can be re-queued. Returns (created, stream id of the
        queued event); (False, "") when the id was taken: the same idempotency
        key submitted again (nothing is pushed then).
        """
        fields: list[str] = []
        for key, value in record.model_dump(mode="json").items():
            if value is not None:
                fields += [key, hash_value(key, value)]
        created, sid = self._create(
            keys=[
                self.run_key(record.id),
                self.params_key(record.id),
                self.index_key,
                self.stream_key,
                queue_key or f"{self.prefix}unused",
                self.seq_key,
                self.fifos_key,
                *lock_keys,
            ],
            args=[
                record.id,
                record.created_at,
                json.dumps(params),
                event_json,
                self.events_maxlen,
                self.retention_seconds,
                message,
                " ".join(lock_keys),
                json.dumps(fields, ensure_ascii=False),
            ],
        )
        return bool(created), str(sid)

    def heartbeat_key(self, run_id: str) -> str:
        return heartbeat_key(self.prefix, run_id)

    def claim(self, **claim: Unpack[ClaimArgs]) -> tuple[str, int, str, str]:
        """Take run ``run_id`` for ``worker`` and mark it running, in one round trip,
        if its record is of operation ``op`` and (unless ``params_json`` is
        "") has exactly these parameters.

        Returns (outcome, delivery number, lock holder, busy lock key).
        Outcomes: ``started``; ``locked`` (heartbeat taken; the run named third
        holds the lock key fourth, or is an older unfinished run of that
        target: park the run); ``duplicate`` (another live worker has the
        heartbeat); ``done`` (finished or cancelled already); ``missing``
        (expired); ``exhausted`` (started ``max_deliveries`` times already, on
        workers that all died; heartbeat and locks are held, finish it);
        ``mismatch`` (nothing taken: the record's operation is third, and its
        parameters' JSON fourth if they were what differed).
        """
        keys, args = self.claim_call(**claim)
        outcome, deliveries, holder, busy = self._claim(keys=keys, args=args)
        return str(outcome), int(deliveries), str(holder), str(busy)

    @property
    def claim_sha(self) -> str:
        """The SHA1 of ``lua.CLAIM`` (for ``EVALSHA`` in another client's pipeline)."""
        return str(self._claim.sha)

    def claim_call(self, **claim: Unpack[ClaimArgs]) -> tuple[list[bytes], list[bytes]]:
        """The KEYS and ARGV of :meth:`claim` (same arguments), encoded: a
        worker claims every run it is delivered on its event loop, and
        redis-py's encoder would convert each argument there again (those
        that are the same for every claim are encoded once per store)."""
        run_id = claim["run_id"]
        active, stream, parked, maxlen, run_prefix, waits = self._claim_constants
        keys = [
            f"{self.run_prefix}{run_id}".encode(),
            heartbeat_key(self.prefix, run_id).encode(),
            active,
            stream,
            parked,
            *(key.encode() for key in claim["lock_keys"]),
        ]
        args = [
            run_id.encode(),
            claim["worker"].encode(),
            b"%d" % int(claim["heartbeat_ttl"] * 1000),
            b"%d" % int(claim["lock_ttl"] * 1000),
            b"%d" % claim["max_deliveries"],
            repr(time.time()).encode(),
            claim["event_json"].encode(),
            maxlen,
            run_prefix,
            claim.get("op", "").encode(),
            claim.get("params_json", "").encode(),
            waits,
        ]
        return keys, args

    def refresh(
        self,
        run_id: str,
        worker: str,
        lock_keys: list[str],
        *,
        heartbeat_ttl: float,
        lock_ttl: float,
    ) -> int:
        """Extend a running run's heartbeat and target locks (see
        ``lua.REFRESH``): 1, 0 if another owner holds one of them now, -1
        (nothing touched) if the run is no longer running."""
        return int(
            self._refresh(
                keys=[self.run_key(run_id), self.heartbeat_key(run_id), *lock_keys],
                args=[worker, run_id, int(heartbeat_ttl * 1000), int(lock_ttl * 1000)],
            )
        )

    def park(
        self, run_id: str, worker: str, lock_keys: list[str] | tuple[str, ...], message: str
    ) -> bool:
        """Park a run's ``message`` until the run that blocks it ends, and let
        go of the run (heartbeat, active set). False if nothing blocks it now."""
        return bool(
            self._park(
                keys=[self.heartbeat_key(run_id), self.active_key, self.parked_key, *lock_keys],
                args=[
                    run_id,
                    worker,
                    message,
                    self.run_prefix,
                    self.lock_waits_key,
                    time.time(),
                ],
            )
        )

    def sweep_parked(self, queue: str) -> int:
        """Put parked runs that nothing blocks any more back on ``queue`` (their
        predecessor expired without finishing); how many. See ``lua.SWEEP``."""
        return int(
            self._sweep(
                keys=[self.fifos_key, self.parked_key, queue, self.waiting_key],
                args=[self.run_prefix],
            )
        )

    def parked_messages(self) -> list[str]:
        """The messages of the runs parked now."""
        return list(self.client.hvals(self.parked_key))

    def blocker(self, record: RunRecord) -> str | None:
        """The run that ``record``'s run waits for (it holds the target, or is
        an older unfinished request for it), or None."""
        from sparkswarm.workers.locks import target_keys

        for key in target_keys(self.prefix, record.target):
            holder = self.client.get(key)
            if holder and holder != record.id:
                return str(holder)
            for head in self.client.lrange(f"{key}:fifo", 0, 20):
                if head == record.id:
                    break
                if self.client.hget(self.run_key(head), "state") in ("queued", "running"):
                    return str(head)
        return None

    def finish(
        self,
        run_id: str,
        state: RunState,
        event_json: str,
        *,
        result: dict[str, Any] | list[Any] | None = None,
        error: str = "",
        error_type: str = "",
        allowed_from: tuple[str, ...] = ("queued", "running"),
        worker: str = "",
        lock_keys: tuple[str, ...] | list[str] = (),
        queue: str = "",
    ) -> str:
        """Move a run to a final state; ``ok`` or the state that prevented it.

        Also releases the heartbeat (if ``worker`` still owns it) and the
        ``lock_keys`` (if the run still owns them); a run that is over leaves
        its targets' FIFOs and the parked runs now first are put on ``queue``.
        """
        return str(
            self._finish(
                keys=[
                    self.run_key(run_id),
                    self.params_key(run_id),
                    self.active_key,
                    self.stream_key,
                    self.heartbeat_key(run_id),
                    queue or f"{self.prefix}unused",
                    self.parked_key,
                    self.fifos_key,
                    *lock_keys,
                ],
                args=[
                    run_id,
                    state,
                    time.time(),
                    json.dumps(result) if result is not None else "",
                    error,
                    error_type,
                    event_json,
                    self.events_maxlen,
                    self.retention_seconds,
                    ",".join(allowed_from),
                    worker or "-",
                    self.run_prefix,
                ],
            )
        )

    def note(self, run_id: str, text: str, *, count: str = "") -> None:
        """Append a line to the run's notes; bump the counter field ``count`` if given."""
        self._note(keys=[self.run_key(run_id)], args=[text, count])

    def orphaned(self, run_id: str, grace: float) -> bool:
        """True if ``run_id`` lost its worker (see ``lua.ORPHANED``); it stays
        true until :meth:`requeue_orphan` re-queues the run."""
        return bool(
            self._orphaned(
                keys=[
                    self.run_key(run_id),
                    self.heartbeat_key(run_id),
                    self.active_key,
                    self.suspect_key(run_id),
                ],
                args=[run_id, time.time(), grace],
            )
        )

    def requeue_orphan(self, run_id: str, queue: str, message: str, note: str) -> bool:
        """Atomically take an orphaned run out of the active set, push its new
        ``message`` onto ``queue`` and add ``note``. False (and nothing done)
        if another worker re-queued it first, it was claimed again, or it
        ended. See ``lua.REQUEUE_ORPHAN``."""
        return bool(
            self._requeue_orphan(
                keys=[
                    self.run_key(run_id),
                    self.heartbeat_key(run_id),
                    self.active_key,
                    self.suspect_key(run_id),
                    queue,
                ],
                args=[run_id, message, note],
            )
        )

    def suspect_key(self, run_id: str) -> str:
        """When a recovery pass first saw the run's heartbeat missing."""
        return f"{self.run_key(run_id)}:suspect"

    def execution_params(self, run_id: str) -> dict[str, Any] | None:
        """The unmasked parameters of an unfinished run, or None once it ended."""
        raw = self.client.get(self.params_key(run_id))
        return json.loads(raw) if raw else None

    def run_key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    def params_key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:params"

    def active_ids(self) -> list[str]:
        return sorted(self.client.smembers(self.active_key))

    def get(self, run_id: str) -> RunRecord:
        """The record of ``run_id``; NotFound if there is none (or it expired)."""
        data = self.client.hgetall(self.run_key(run_id))
        if not data:
            raise NotFound(f"no operation run {run_id!r}")
        return RunRecord.from_hash(data)

    def find(self, run_id: str) -> RunRecord | None:
        try:
            return self.get(run_id)
        except NotFound:
            return None

    def list(
        self,
        *,
        state: str | None = None,
        target: str | None = None,
        source: str | None = None,
        schedule: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """The newest records first, filtered; at most ``limit``."""
        out: list[RunRecord] = []
        for ids in newest_first(self.client, self.index_key, max(limit, 100)):
            with self.client.pipeline(transaction=False) as pipe:
                for run_id in ids:
                    pipe.hgetall(self.run_key(run_id))
                rows = pipe.execute()
            for data in rows:
                if not data:
                    continue
                record = RunRecord.from_hash(data)
                if state and record.state != state:
                    continue
                if target and record.target != target and not record.target.endswith(f":{target}"):
                    continue
                if source and record.source != source:
                    continue
                if schedule and record.schedule != schedule:
                    continue
                out.append(record)
                if len(out) >= limit:
                    return out
        return out

    def trim(self, now: float | None = None) -> int:
        """Drop finished records older than the retention age or beyond the
        retention count; returns how many were removed. Unfinished runs stay.
        """
        now = time.time() if now is None else now
        doomed = past_retention(
            self.client, self.index_key, now, self.retention_seconds, self.retention_count
        )
        removed = 0
        for run_id in doomed:
            state = self.client.hget(self.run_key(run_id), "state")
            if state in ("queued", "running"):
                continue
            with self.client.pipeline() as pipe:
                pipe.delete(self.run_key(run_id), self.params_key(run_id))
                pipe.zrem(self.index_key, run_id)
                pipe.execute()
            removed += 1
        return removed
