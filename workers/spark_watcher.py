"""The Spark job watcher: follows running jobs and records what becomes of them.

One watcher is active at a time, whoever holds the Redis lock
``ssw:spark:watcher`` (``SET NX PX``, refreshed every pass); it runs as a
thread of every worker (``spark_watcher_in_worker``) or as
``sparkswarm spark-watcher``. When the active one dies, its lock expires
after ``spark_watcher_ttl`` and another takes over: all it needs is in
Redis (the active set) and on the swarm (tasks, the master's ``/json/``).

Each pass, for every active job that is on the swarm: gather the facts (``spark/observe.py``),
judge them (``spark/judge.py``, pure), and record a change as a
compare-and-set on the state with its event (``spark_jobs.JobStore``), so
a final state is recorded, and announced, once, even if two watchers
overlap after a takeover. Ended jobs' containers and configs are removed
``spark_job_keep`` seconds after they ended; their records stay. Then the
jobs waiting for their owner's quota (QUEUED) whose turn came are started
(``spark_admission.py``), and autoscaled stacks get the workers their
waiting jobs need (``spark_autoscaler.py``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import SparkswarmError
from sparkswarm.spark.job_record import JobRecord
from sparkswarm.states import FINAL_JOB_STATES
from sparkswarm.workers.locks import RedisLock
from sparkswarm.workers.spark_admission import FairShare, quota_book
from sparkswarm.workers.spark_autoscaler import Autoscaler
from sparkswarm.workers.spark_jobs import JobStore

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.status import SparkStatus
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)
LOG_TAIL_LINES = 40


class SparkWatcher:
    """A watcher on one queue client's Redis and one gateway."""

    def __init__(self, qc: QueueClient, gw: Gateway, token: str | None = None) -> None:
        self.qc = qc
        self.gw = gw
        s = qc.settings
        self.store = JobStore.for_client(qc)
        self.share = FairShare(self.store, quota_book(s))
        self.autoscaler = Autoscaler(qc, gw, self.store, s.spark_autoscale_interval)
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lock = RedisLock(
            qc.redis, f"{s.key_prefix}spark:watcher", self.token, s.spark_watcher_ttl
        )
        self.interval = s.spark_watch_interval
        self.resource_timeout = s.spark_resource_timeout
        self.keep = s.spark_job_keep
        self._last_trim = 0.0

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set: a pass per interval while holding the lock."""
        active = False
        while not stop.is_set():
            try:
                holding = self.lock.acquire()
                if holding != active:
                    log.warning(
                        "spark watcher %s %s", self.token, "active" if holding else "standby"
                    )
                    active = holding
                if holding:
                    self.watch_once()
            except Exception as exc:  # a bad pass must not end the watcher
                log.warning("spark watcher pass failed: %s", exc)
            stop.wait(self.interval)
        if active:
            self.lock.release()

    def watch_once(self) -> list[JobRecord]:
        """One pass over the active jobs; the records it changed."""
        changed: list[JobRecord] = []
        statuses: dict[str, SparkStatus | None] = {}
        for job_id in self.store.active_ids():
            try:
                record = self.store.get(job_id)
            except SparkswarmError:
                self.qc.redis.srem(self.store.active_key, job_id)
                continue
            if record.done:
                self.qc.redis.srem(self.store.active_key, job_id)
                continue
            if record.state == "QUEUED":  # not on the swarm yet: admission starts it
                continue
            # The master is asked (an exec in its container: not free on a
            # small machine) only about jobs not running yet; a running job's
            # end shows in its swarm task.
            status = None
            if record.state == "SUBMITTED":
                if record.stack not in statuses:
                    statuses[record.stack] = self._status(record.stack)
                status = statuses[record.stack]
            try:
                updated = self.follow(record, status)
            except SparkswarmError as exc:  # the engine hiccupped: next pass
                log.warning("spark watcher: job %s not observed: %s", job_id, exc)
                continue
            if updated is not None:
                changed.append(updated)
        changed += self.share.start_waiting(self.gw, keep_alive=self.lock.extend)
        self.clean_up()
        self.autoscaler.scale_once()
        return changed

    def _status(self, stack: str) -> SparkStatus | None:
        from sparkswarm.spark.status import spark_status

        try:
            return spark_status(self.gw, stack=stack)
        except SparkswarmError as exc:
            log.info("spark watcher: no status of %s: %s", stack, exc)
            return None

    def follow(self, record: JobRecord, status: SparkStatus | None) -> JobRecord | None:
        """Observe one job, judge it, record a change; the new record or None."""
        from sparkswarm.spark.jobs import cancel_job
        from sparkswarm.spark.judge import judge_job
        from sparkswarm.spark.observe import observe_job

        facts, app_id = observe_job(self.gw, record, status, record.app_id)
        verdict = judge_job(facts, resource_timeout=self.resource_timeout)
        changes: dict[str, Any] = {}
        if app_id and app_id != record.app_id:
            changes["app_id"] = app_id
        if verdict.state != record.state or verdict.reason != record.reason:
            changes["state"] = verdict.state
            changes["reason"] = verdict.reason
        if verdict.state == "RUNNING" and record.started_at is None:
            changes["started_at"] = time.time()
        if verdict.state in FINAL_JOB_STATES:
            changes.update(
                finished_at=time.time(),
                exit_code=verdict.exit_code,
                output=list(facts.stdout),
                log_tail=list(facts.stderr[-LOG_TAIL_LINES:]),
            )
        if not changes:
            return None
        updated = self.store.update(record.id, changes, expect=(record.state,))
        if updated is not None and verdict.kill:
            try:
                cancel_job(self.gw, stack=record.stack, job_id=record.id, app_id=updated.app_id)
                self.store.update(record.id, {"cleaned_at": time.time()}, expect=FINAL_JOB_STATES)
            except SparkswarmError as exc:
                log.warning("spark watcher: could not stop job %s: %s", record.id, exc)
        return updated

    def clean_up(self, now: float | None = None) -> list[str]:
        """Remove the containers and configs of jobs that ended ``keep`` seconds ago."""
        from sparkswarm.spark.jobs import remove_job

        now = time.time() if now is None else now
        cleaned: list[str] = []
        for job_id in self.store.unclean_ids():
            try:
                record = self.store.get(job_id)
            except SparkswarmError:
                self.qc.redis.srem(self.store.unclean_key, job_id)
                continue
            if not record.done or (record.finished_at or now) > now - self.keep:
                continue
            try:
                remove_job(self.gw, stack=record.stack, job_id=record.id)
            except SparkswarmError as exc:
                log.warning("spark watcher: could not remove job %s: %s", record.id, exc)
                continue
            self.store.update(record.id, {"cleaned_at": now}, expect=FINAL_JOB_STATES)
            cleaned.append(record.id)
        if now - self._last_trim > 60:
            self._last_trim = now
            self.store.trim(now)
        return cleaned


def watch_forever(stop: threading.Event) -> None:
    """The watcher of this process's configured broker and engine, until ``stop``."""
    from sparkswarm.gateway import Gateway
    from sparkswarm.workers.client import QueueClient

    SparkWatcher(QueueClient(), Gateway.from_settings()).run(stop)
