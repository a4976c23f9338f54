"""Sharing a Spark cluster: the queue's side of quotas (``spark/quota.py``).

A ``spark.submit`` run whose job would take its owner over their quota
records the job QUEUED, with its place, and keeps what it needs to start
later (the run's parameters: script and files as the run got them) at
``ssw:sparkjob:<id>:params``; nothing is on the swarm yet. Each pass, the
Spark watcher asks :func:`sparkswarm.spark.quota.admit` which waiting jobs
start now (round-robin over owners), starts them as the run would have,
and updates the others' places ("2 ahead of you"), announcing each change
so the job's thread shows it.

Whoever decides holds the lock ``ssw:spark:admission`` until the jobs it
lets in are recorded: a submit run for its own job, the watcher for the
waiting ones. Two deciders therefore never both see room for one more job
of the same owner.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, NotFound, SparkswarmError, Unavailable
from sparkswarm.spark.job_record import JobRecord
from sparkswarm.spark.quota import Quota, QuotaBook, Slot, admit, never_fits, waiting_reason
from sparkswarm.workers.locks import RedisLock

if TYPE_CHECKING:
    from sparkswarm.config import Settings
    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn
    from sparkswarm.spark.jobs import SparkJobSubmitted
    from sparkswarm.workers.spark_jobs import JobStore

log = logging.getLogger(__name__)
# Past the driver's start (spark.submit's start_timeout, 60 s unless asked)
# so a decider never loses the lock while it starts a job.
LOCK_MARGIN = 60.0
DEFAULT_START_TIMEOUT = 60.0
# What a started job's record takes from the submission (the rest, who
# asked and when it was queued, stays).
_STARTED_FIELDS = {
    "state",
    "reason",
    "ask",
    "conf",
    "image",
    "service",
    "finished_at",
    "exit_code",
    "output",
    "log_tail",
    "master_ui",
    "history_ui",
}


def quota_book(settings: Settings) -> QuotaBook:
    """The quotas the settings give (SPARKSWARM_SPARK_QUOTA_*)."""
    return QuotaBook(
        Quota(settings.spark_quota_jobs, settings.spark_quota_cores), dict(settings.spark_quotas)
    )


def slot_of(record: JobRecord) -> Slot:
    """A record as admission sees it."""
    return Slot(
        job_id=record.id,
        owner=record.requester,
        cores=record.ask.cores,
        created_at=record.created_at,
        groups=tuple(record.groups),
    )


class FairShare:
    """Quotas and the waiting line over one job store."""

    def __init__(self, store: JobStore, book: QuotaBook) -> None:
        self.store = store
        self.book = book
        self.lock_key = f"{store.prefix}spark:admission"

    def params_key(self, job_id: str) -> str:
        return f"{self.store.key(job_id)}:params"

    def lock(self, start_timeout: float = DEFAULT_START_TIMEOUT) -> RedisLock:
        owner = uuid.uuid4().hex
        return RedisLock(self.store.client, self.lock_key, owner, start_timeout + LOCK_MARGIN)

    @contextlib.contextmanager
    def held(self, start_timeout: float = DEFAULT_START_TIMEOUT) -> Iterator[None]:
        """Hold the admission lock (waiting for it); Unavailable if it stays taken."""
        from sparkswarm.waiting import poll

        lock = self.lock(start_timeout)
        wait = 2 * (DEFAULT_START_TIMEOUT + LOCK_MARGIN)
        if not poll(lock.acquire, timeout=wait, interval=0.2):
            raise Unavailable("spark admission is busy (another job is being started); try again")
        try:
            yield
        finally:
            lock.release()

    def lines(self) -> tuple[list[Slot], list[Slot], dict[str, JobRecord]]:
        """(waiting, running) jobs of every stack, and their records by id."""
        records: dict[str, JobRecord] = {}
        for job_id in self.store.active_ids():
            with contextlib.suppress(NotFound):
                record = self.store.get(job_id)
                if not record.done:
                    records[record.id] = record
        waiting = [slot_of(r) for r in records.values() if r.state == "QUEUED"]
        running = [slot_of(r) for r in records.values() if r.state != "QUEUED"]
        return waiting, running, records

    def keep_params(self, job_id: str, params: dict[str, Any]) -> None:
        self.store.client.set(self.params_key(job_id), json.dumps(params))

    def take_params(self, job_id: str) -> dict[str, Any] | None:
        raw = self.store.client.get(self.params_key(job_id))
        return None if raw is None else dict(json.loads(raw))

    def drop_params(self, job_id: str) -> None:
        self.store.client.delete(self.params_key(job_id))

    def reason_for(self, record: JobRecord, ahead: int) -> str:
        return waiting_reason(ahead, self.book.of_user(record.requester))

    def start_waiting(
        self, gw: Gateway, keep_alive: Callable[[], object] = lambda: None
    ) -> list[JobRecord]:
        """Start the waiting jobs whose turn it is, update the others' places;
        the records that changed. Does nothing while another decider holds
        the lock (the next pass will). ``keep_alive`` is called before each
        start (each waits for its driver): the watcher refreshes its lock."""
        waiting, _, _ = self.lines()
        if not waiting:
            return []
        lock = self.lock()
        if not lock.acquire():
            return []
        try:
            waiting, running, records = self.lines()
            decided = admit(waiting, running, self.book)
            changed: list[JobRecord | None] = []
            for job_id in decided.start:
                keep_alive()
                changed.append(self._start(gw, records[job_id]))
            for job_id, ahead in decided.ahead.items():
                record = records[job_id]
                reason = self.reason_for(record, ahead)
                if record.reason != reason:
                    changed.append(
                        self.store.update(
                            job_id, {"reason": reason}, expect=("QUEUED",), announce=True
                        )
                    )
            return [r for r in changed if r is not None]
        finally:
            lock.release()

    def _start(self, gw: Gateway, record: JobRecord) -> JobRecord | None:
        """Start a waiting job as its submit run would have; record what came of it."""
        from sparkswarm.spark.jobs import cancel_job, submit_job

        params = self.take_params(record.id)
        now = time.time()
        if params is None:
            failed = {"state": "FAILED", "reason": "its submission was lost", "finished_at": now}
            return self.store.update(record.id, {**failed, "cleaned_at": now}, expect=("QUEUED",))
        try:
            result = submit_job(gw, **{**params, "job_id": record.id})
        except SparkswarmError as exc:
            log.info("spark job %s could not start: %s", record.id, exc)
            changes = {"state": "FAILED", "reason": f"could not start: {exc}", "finished_at": now}
            updated = self.store.update(
                record.id, {**changes, "cleaned_at": now}, expect=("QUEUED",)
            )
            self.drop_params(record.id)
            return updated
        started = {**result.record.model_dump(include=_STARTED_FIELDS), "submitted_at": now}
        updated = self.store.update(record.id, started, expect=("QUEUED",))
        if updated is None:  # cancelled while it was being started: take it down again
            with contextlib.suppress(SparkswarmError):
                cancel_job(gw, stack=record.stack, job_id=record.id)
        self.drop_params(record.id)
        return updated

    def cancel_waiting(self, record: JobRecord, who: str) -> JobRecord | None:
        """Record a waiting job CANCELLED (nothing of it is on the swarm); None
        if it is no longer waiting (then it is cancelled as a started job)."""
        now = time.time()
        changes = {
            "state": "CANCELLED",
            "reason": f"cancelled by {who} while it waited",
            "cancelled_by": who,
            "finished_at": now,
            "cleaned_at": now,
        }
        updated = self.store.update(record.id, changes, expect=("QUEUED",))
        if updated is not None:
            self.drop_params(record.id)
        return updated


def submit_fairly(
    gw: Gateway,
    store: JobStore,
    who: dict[str, Any],
    params: dict[str, Any],
    progress: ProgressFn,
) -> SparkJobSubmitted:
    """``spark.submit`` within the quotas, for the run ``who`` describes: the
    job starts now (as :func:`sparkswarm.spark.jobs.submit_job`) if its
    owner's quota has room and its turn came, else it is recorded QUEUED
    with its place. Raises InvalidRequest when it could never fit the quota
    (the numbers) and what ``submit_job`` raises."""
    from sparkswarm.config import get_settings
    from sparkswarm.spark.jobs import ask_of, check_fit, plan_job, submit_job

    started = time.monotonic()
    share = FairShare(store, quota_book(get_settings()))
    requester = str(who.get("requester") or "")
    start_timeout = float(params.get("start_timeout") or 60.0)
    with share.held(start_timeout):
        ask = ask_of(
            gw,
            stack=params.get("stack") or "spark",
            conf=params.get("conf"),
            total_executor_cores=params.get("total_executor_cores"),
            executor_memory=params.get("executor_memory"),
        )
        groups = tuple(who.get("groups") or ())
        why = never_fits(ask.cores, requester, groups, share.book)
        if why:
            # Bigger than the cluster says so first, with the cluster's numbers.
            check_fit(gw, params.get("stack") or "spark", ask)
            raise InvalidRequest(f"refused: {why}")
        waiting, running, _ = share.lines()
        mine = Slot(params["job_id"], requester, ask.cores, time.time(), groups)
        decided = admit([*waiting, mine], running, share.book)
        if mine.job_id in decided.start:
            result = submit_job(gw, progress=progress, **params)
            record = result.record.model_copy(update=who)
            if not store.create(record):
                record = store.get(record.id)
            return result.model_copy(update={"record": record})
        planned = {k: v for k, v in params.items() if k != "start_timeout"}
        record = plan_job(gw, **planned).model_copy(update=who)
        reason = share.reason_for(record, decided.ahead[mine.job_id])
        record = record.model_copy(update={"reason": reason})
        share.keep_params(record.id, params)
        if not store.create(record):
            record = store.get(record.id)
        progress(f"job {record.id} QUEUED: {reason}", log=True)
    return as_submitted(record, time.monotonic() - started)


def as_submitted(record: JobRecord, seconds: float) -> SparkJobSubmitted:
    from sparkswarm.spark.jobs import SparkJobSubmitted

    return SparkJobSubmitted(
        stack=record.stack,
        job_id=record.id,
        service=record.service,
        state=record.state,
        reason=record.reason,
        seconds=round(seconds, 2),
        record=record,
    )
