"""Spark job records in Redis, and the queue's side of ``spark.submit`` / ``spark.cancel``.

A record is the JSON string ``ssw:sparkjob:<id>`` (a :class:`JobRecord`);
``ssw:sparkjobs`` indexes records by creation time, ``ssw:sparkjobs:active``
holds the jobs the watcher follows and ``ssw:sparkjobs:unclean`` the ended
jobs whose containers are still there. Every change is a compare-and-set
on the state (``WATCH``/``MULTI``) with its event appended in the same
transaction: a transition, and its event, happen once however many
watchers or retries race for it.

The two operations below wrap the core's (``sparkswarm.spark.jobs``; see
``operations.py`` for how they replace its entries): they run the swarm
part, then record who asked, from the run they are given (``run_id``).
Without a run they are the core operations and nothing is recorded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Unpack

from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.job_record import JobRecord
from sparkswarm.states import FINAL_JOB_STATES
from sparkswarm.workers.events import SparkJobChanged
from sparkswarm.workers.record_index import IndexedStore, Retention, newest_first, past_retention

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.jobs import SparkJobSubmitted
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.redis_api import RedisClient, RedisPipeline
    from sparkswarm.workers.run_record import RunRecord


class JobStore(IndexedStore):
    """Job records on one Redis client (``decode_responses=True``).

    Methods raise redis-py's errors when Redis is unreachable.
    """

    index = "sparkjobs"

    def __init__(
        self, client: RedisClient, prefix: str = "ssw:", **retention: Unpack[Retention]
    ) -> None:
        super().__init__(client, prefix, **retention)
        self.unclean_key = f"{prefix}sparkjobs:unclean"

    def key(self, job_id: str) -> str:
        return f"{self.prefix}sparkjob:{job_id}"

    def _event(self, record: JobRecord, previous: str) -> str:
        message = f"spark job {record.id} ({record.name}) {record.state}"
        if record.reason:
            message += f": {record.reason}"
        return SparkJobChanged(
            run_id=record.run_id or f"job:{record.id}",
            op="spark.submit",
            target=f"spark:{record.stack}",
            job_id=record.id,
            stack=record.stack,
            state=record.state,
            previous=previous,
            reason=record.reason,
            requester=record.requester,
            source=record.source,
            app_id=record.app_id,
            message=message,
        ).model_dump_json()

    def create(self, record: JobRecord) -> bool:
        """Store a new record with its event; False (nothing written) if the id exists."""
        import redis

        key = self.key(record.id)
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                if pipe.exists(key):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, record.model_dump_json())
                pipe.zadd(self.index_key, {record.id: record.created_at})
                if record.done:
                    pipe.sadd(self.unclean_key, record.id)
                else:
                    pipe.sadd(self.active_key, record.id)
                self._xadd(pipe, self._event(record, ""))
                pipe.execute()
            except redis.WatchError:
                return False
        return True

    def _xadd(self, pipe: RedisPipeline, event_json: str) -> None:
        pipe.xadd(
            self.stream_key, {"event": event_json}, maxlen=self.events_maxlen, approximate=True
        )

    def update(
        self,
        job_id: str,
        changes: dict[str, Any],
        *,
        expect: Collection[str] | None = None,
        announce: bool | None = None,
    ) -> JobRecord | None:
        """Apply ``changes`` if the record's state is in ``expect`` (any when None);
        the new record, or None when the record is missing or in another state.

        A change of state (or ``announce=True``) puts an event on the stream
        in the same transaction.
        """
        import redis

        key = self.key(job_id)
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        pipe.unwatch()
                        return None
                    old = JobRecord.model_validate_json(raw)
                    if expect is not None and old.state not in expect:
                        pipe.unwatch()
                        return None
                    new = JobRecord.model_validate({**old.model_dump(), **changes})
                    pipe.multi()
                    pipe.set(key, new.model_dump_json())
                    if new.done:
                        pipe.srem(self.active_key, job_id)
                        if new.cleaned_at is None:
                            pipe.sadd(self.unclean_key, job_id)
                        else:
                            pipe.srem(self.unclean_key, job_id)
                    if announce or (announce is None and new.state != old.state):
                        self._xadd(pipe, self._event(new, old.state))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id`` (or of the one recent job whose id starts
        with it); NotFound, InvalidRequest if the prefix is ambiguous."""
        raw = self.client.get(self.key(job_id))
        if raw is None and len(job_id) >= 3:
            recent = self.client.zrevrange(self.index_key, 0, 4999)
            matches = [i for i in recent if i.startswith(job_id)]
            if len(matches) > 1:
                raise InvalidRequest(f"job id prefix {job_id!r} is ambiguous")
            if matches:
                raw = self.client.get(self.key(matches[0]))
        if raw is None:
            raise NotFound(f"no spark job {job_id!r}")
        return JobRecord.model_validate_json(raw)

    def active_ids(self) -> list[str]:
        return sorted(self.client.smembers(self.active_key))

    def unclean_ids(self) -> list[str]:
        return sorted(self.client.smembers(self.unclean_key))

    def list(
        self,
        *,
        state: str | None = None,
        stack: str | None = None,
        requester: str | None = None,
        limit: int = 50,
    ) -> list[JobRecord]:
        """The newest records first, filtered; at most ``limit``."""
        out: list[JobRecord] = []
        for ids in newest_first(self.client, self.index_key, max(limit, 100)):
            for raw in self.client.mget([self.key(i) for i in ids]):
                if raw is None:
                    continue
                record = JobRecord.model_validate_json(raw)
                if (state and record.state != state) or (stack and record.stack != stack):
                    continue
                if requester is not None and record.requester != requester:
                    continue
                out.append(record)
                if len(out) >= limit:
                    return out
        return out

    def trim(self, now: float | None = None) -> int:
        """Drop ended records older than the retention age or beyond its count."""
        now = time.time() if now is None else now
        doomed = past_retention(
            self.client, self.index_key, now, self.retention_seconds, self.retention_count
        )
        removed = 0
        for job_id in doomed:
            if self.client.sismember(self.active_key, job_id):
                continue
            with self.client.pipeline() as pipe:
                pipe.delete(self.key(job_id))
                pipe.zrem(self.index_key, job_id)
                pipe.srem(self.unclean_key, job_id)
                pipe.execute()
            removed += 1
        return removed


def list_jobs(
    client: QueueClient,
    *,
    state: str | None = None,
    stack: str | None = None,
    limit: int = 20,
    mine: bool | None = None,
    caller: str = "",
) -> list[JobRecord]:
    """``spark.jobs`` (a queue read): job records, newest first; with ``mine``
    only those ``caller`` asked for (the front end says who calls: the local
    user, the Slack user). InvalidRequest."""
    from sparkswarm.states import check_job_state

    check_job_state(state)
    state = state.upper() if state else None
    if limit < 1:
        raise InvalidRequest("--limit must be at least 1")
    if mine and not caller:
        raise InvalidRequest("spark jobs mine: who is asking is not known here")
    requester = caller if mine else None
    return JobStore.for_client(client).list(
        state=state, stack=stack, requester=requester, limit=limit
    )


def show_job(client: QueueClient, *, job_id: str) -> JobRecord:
    """``spark.job`` (a queue read): one record by id or unique prefix; NotFound."""
    return JobStore.for_client(client).get(job_id)


def job_id_for_run(run_id: str) -> str:
    """A job id derived from its run: a retried run finds the job it started."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:10]


def _run_context(run_id: str | None) -> tuple[JobStore, str, RunRecord | None] | None:
    """(the store, the run id, its record) of run ``run_id``, or None without a run."""
    if run_id is None:
        return None
    from sparkswarm.workers.runner import worker_client

    qc = worker_client()
    return JobStore.for_client(qc), run_id, qc.store.find(run_id)


def submit(
    gw: Gateway,
    *,
    progress: ProgressFn = no_progress,
    run_id: str | None = None,
    **params: Any,
) -> SparkJobSubmitted:
    """``spark.submit`` for run ``run_id``: start the job (core) if its
    owner's quota has room, else record it QUEUED with its place (it starts
    by itself later, see ``spark_admission.py``); either way recorded with
    who asked (nothing is recorded without a run).

    Raises what :func:`sparkswarm.spark.jobs.submit_job` raises, and
    InvalidRequest when the job could never fit its owner's quota.
    """
    from sparkswarm.spark.jobs import submit_job

    # The requester's user groups that have a quota (the bot adds them).
    groups = [str(g) for g in params.pop("groups", None) or []]
    context = _run_context(run_id)
    if context is not None and not params.get("job_id"):
        params["job_id"] = job_id_for_run(context[1])
    if context is None:
        return submit_job(gw, progress=progress, **params)
    store, _, run = context
    who: dict[str, Any] = {}
    if run is not None:
        who = {
            "requester": run.requester,
            "source": run.source,
            "run_id": run.id,
            "schedule": run.schedule,
        }
    who["groups"] = groups
    from sparkswarm.workers.spark_admission import as_submitted, submit_fairly

    recorded = store.client.get(store.key(params["job_id"]))
    if recorded is not None:  # a retried run: the job it recorded before
        return as_submitted(JobRecord.model_validate_json(recorded), 0.0)
    return submit_fairly(gw, store, who, params, progress)


def cancel(
    gw: Gateway,
    *,
    job_id: str,
    stack: str = "spark",
    progress: ProgressFn = no_progress,
    run_id: str | None = None,
) -> dict[str, Any]:
    """``spark.cancel`` for run ``run_id``: record the job CANCELLED (by the
    run's requester), then kill its application and remove its driver.

    Raises NotFound for an unknown job, InvalidRequest when it ended already.
    """
    from sparkswarm.spark.jobs import cancel_job
    from sparkswarm.spark.observe import driver_logs
    from sparkswarm.spark.queries import find_service

    context = _run_context(run_id)
    if context is None:
        return cancel_job(gw, stack=stack, job_id=job_id, progress=progress)
    store, _, run = context
    record = store.get(job_id)
    who = run.requester if run is not None and run.requester else "unknown"
    if record.done:
        if record.state == "CANCELLED" and record.cleaned_at is None:
            # Recorded CANCELLED by an attempt that then failed to kill or
            # remove (a retry of the same run, or a cancel after it): finish it.
            return _kill_and_clean(store, record, record.cancelled_by or who, gw, progress)
        raise InvalidRequest(f"job {record.id} ended already ({record.state})")
    if record.state == "QUEUED":
        from sparkswarm.config import get_settings
        from sparkswarm.workers.spark_admission import FairShare, quota_book

        share = FairShare(store, quota_book(get_settings()))
        if share.cancel_waiting(record, who) is not None:
            unstarted: dict[str, Any] = {"job_id": record.id, "app_id": None, "removed": []}
            return {**unstarted, "killed": False, "state": "CANCELLED", "cancelled_by": who}
        record = store.get(record.id)  # started meanwhile: cancel it as a started job
    service = find_service(gw, record.service)
    stdout, stderr = driver_logs(gw, service["ID"]) if service else ([], [])
    changes = {
        "state": "CANCELLED",
        "reason": f"cancelled by {who}",
        "cancelled_by": who,
        "finished_at": time.time(),
        "output": stdout,
        "log_tail": stderr[-40:],
    }
    updated = store.update(record.id, changes, expect=("SUBMITTED", "RUNNING"))
    if updated is None:
        ended = store.get(record.id)
        raise InvalidRequest(f"job {record.id} ended already ({ended.state})")
    return _kill_and_clean(store, record, who, gw, progress)


def _kill_and_clean(
    store: JobStore, record: JobRecord, who: str, gw: Gateway, progress: ProgressFn
) -> dict[str, Any]:
    """Kill a job recorded CANCELLED, remove its driver, and record it cleaned
    (a driver already gone is nothing left to do)."""
    from sparkswarm.spark.jobs import cancel_job

    try:
        result = cancel_job(
            gw, stack=record.stack, job_id=record.id, app_id=record.app_id, progress=progress
        )
    except NotFound:
        result = {"job_id": record.id, "app_id": record.app_id, "killed": False, "removed": []}
    store.update(record.id, {"cleaned_at": time.time()}, expect=FINAL_JOB_STATES)
    return {**result, "state": "CANCELLED", "cancelled_by": who}
