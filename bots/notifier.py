"""The notifier: edits each run's thread message as the run's events arrive.

What it follows lives in Redis, not in memory, so a restarted bot carries on:
``<prefix>bot:following`` (run ids), ``<prefix>bot:follow:<run>`` (channel,
message ts, the command words) and ``<prefix>bot:cursor`` (the last event
read). On start it reloads the followed runs from their records and reads
the events it missed from the cursor on. Each message is edited at most
once per ``interval`` seconds, except that the outcome may follow a progress
edit at once, and later edits coalesce into the next one. All messages share
``chat.update``'s budget (tier 3: 50 edits a minute for the workspace):
progress edits leave part of it for outcomes, and an edit the budget or a
429 holds back is postponed, not dropped. The final edit is made once: after
it succeeds the run leaves the followed set.

A ``spark.submit`` run that succeeds has only started a Spark job: the run
stays followed (same Redis mapping, so a restart carries on too) and its
message is edited from the job's ``spark.job`` events (same run id) and, for
what events do not carry or a bot missed, from the job record, until the
job ends; that is the final edit. A job's output too long for the message
goes up as a file in the thread afterwards (at most once).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING

from sparkswarm.bots.jobview import job_output
from sparkswarm.bots.present import RunView, status_message
from sparkswarm.bots.slack_out import RateLimited, SlackOut
from sparkswarm.states import FINAL_JOB_STATES

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)
# A change that is not the outcome waits this long before it is shown: a quick
# operation goes from queued straight to its outcome in one edit, instead of
# spending its one edit per second on "running".
SETTLE = 0.3
BURST = 2.0
# Edits of chat.update's budget that progress edits leave for outcomes.
OUTCOME_RESERVE = 3.0


class Notifier:
    """Follows runs for the bot; :meth:`run` is its loop (one thread)."""

    def __init__(self, qc: QueueClient, out: SlackOut, *, interval: float = 6.0) -> None:
        self.qc = qc
        self.out = out
        self.interval = interval
        prefix = qc.settings.key_prefix
        self.following_key = f"{prefix}bot:following"
        self.cursor_key = f"{prefix}bot:cursor"
        self.prefix = prefix
        self.views: dict[str, RunView] = {}
        self.targets: dict[str, tuple[str, str]] = {}
        self.threads: dict[str, str] = {}  # run id -> the thread its message is in
        self.dirty: dict[str, float] = {}  # run id -> since when its message is stale
        self.budget: dict[str, tuple[float, float]] = {}  # run id -> (edits left, when)
        self.hold_until: dict[str, float] = {}
        self.finished: deque[str] = deque(maxlen=1000)  # the newest runs given their outcome
        self.failures: dict[str, int] = {}
        self.token = uuid.uuid4().hex
        self._guard = threading.Lock()
        self._last_check = 0.0

    def follow_key(self, run_id: str) -> str:
        return f"{self.prefix}bot:follow:{run_id}"

    def follow(self, run_id: str, channel: str, ts: str, words: str, thread: str = "") -> None:
        """Start following ``run_id``: its thread message is ``ts`` in ``channel``
        (just posted, showing the run queued) in the thread ``thread``."""
        with self.qc.redis.pipeline() as pipe:
            pipe.hset(
                self.follow_key(run_id),
                mapping={"channel": channel, "ts": ts, "words": words, "thread": thread or ts},
            )
            pipe.expire(self.follow_key(run_id), 7 * 86400)
            pipe.sadd(self.following_key, run_id)
            pipe.execute()
        self._load(run_id, posted="queued")

    def _load(self, run_id: str, posted: str = "") -> None:
        data = self.qc.redis.hgetall(self.follow_key(run_id))
        record = self.qc.store.find(run_id)
        if not data or record is None:
            self.qc.redis.srem(self.following_key, run_id)
            return
        view = RunView(run_id, data.get("words", record.op))
        view.apply_record(record)
        if view.job is not None:
            self._job_record(view)
        with self._guard:
            if run_id in self.views:
                return
            self.views[run_id] = view
            self.targets[run_id] = (data["channel"], data["ts"])
            self.threads[run_id] = data.get("thread") or data["ts"]
            if view.shown != posted:
                self.dirty.setdefault(run_id, time.monotonic())

    def _job_record(self, view: RunView) -> bool:
        """Fold the job record of ``view``'s job in; True if that changed it."""
        from sparkswarm.errors import NotFound
        from sparkswarm.workers.spark_jobs import JobStore

        assert view.job is not None
        try:
            record = JobStore.for_client(self.qc).get(view.job.id)
        except NotFound:
            return False
        with self._guard:
            return view.job.apply_record(record)

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop`` is set; Redis or Slack trouble is logged and retried."""
        cursor = self.qc.redis.get(self.cursor_key) or self._newest()
        for run_id in self.qc.redis.smembers(self.following_key):
            self._load(run_id)
        while not stop.is_set():
            try:
                cursor = self.step(cursor)
            except Exception as exc:
                log.warning("notifier: %s: %s", type(exc).__name__, exc)
                stop.wait(1.0)

    def _newest(self) -> str:
        newest = self.qc.redis.xrevrange(self.qc.events.key, count=1)
        return str(newest[0][0]) if newest else "0-0"

    def step(self, cursor: str) -> str:
        """Read events once (blocking briefly), fold them in, make due edits."""
        batch = self.qc.events.read(cursor, block_ms=100)
        ended: list[RunView] = []
        for sid, event in batch:
            cursor = sid
            with self._guard:
                view = self.views.get(event.run_id)
                if view is not None and not view.done:
                    before = status_message(view)[0] if event.type == "spark.job" else None
                    view.apply(event)
                    if before is None or status_message(view)[0] != before:
                        self.dirty.setdefault(event.run_id, time.monotonic())
                    if event.type == "spark.job" and event.state in FINAL_JOB_STATES:
                        ended.append(view)  # its output and times are in the record
        for view in ended:
            self._job_record(view)
        if batch:
            self.qc.redis.set(self.cursor_key, cursor)
        now = time.monotonic()
        if now - self._last_check >= 1.0:
            self._last_check = now
            self._check_records()
        self._flush()
        return cursor

    def _claim_final(self, run_id: str) -> bool:
        """Whether this process makes the final edit of ``run_id``. Another bot
        process (HTTP and Socket Mode side by side, or an old one still alive)
        may follow the same run; the claim expires, so a claimant that died
        before editing leaves the edit to whoever comes next."""
        redis = self.qc.redis
        if redis.hget(self.follow_key(run_id), "final"):
            self._drop(run_id)
            return False
        if redis.set(f"{self.follow_key(run_id)}:final", self.token, nx=True, ex=30):
            return True
        if redis.get(f"{self.follow_key(run_id)}:final") == self.token:
            return True
        with self._guard:
            self.dirty.setdefault(run_id, time.monotonic())
        self.hold_until[run_id] = time.monotonic() + 5
        return False

    def _drop(self, run_id: str) -> None:
        self.qc.redis.srem(self.following_key, run_id)
        with self._guard:
            self.views.pop(run_id, None)
            self.threads.pop(run_id, None)
            self.dirty.pop(run_id, None)
            self.budget.pop(run_id, None)
            self.hold_until.pop(run_id, None)

    def _check_records(self) -> None:
        """Pick up runs followed by another bot process, and finished runs whose
        final event was missed (trimmed, or sent while we were down)."""
        for run_id in self.qc.redis.smembers(self.following_key):
            if run_id not in self.views:
                self._load(run_id)
        with self._guard:
            open_runs = [r for r, v in self.views.items() if not v.done and not v.awaits_job]
            jobs = [(r, v) for r, v in self.views.items() if v.awaits_job]
        for run_id, view in jobs:
            if self._job_record(view):
                with self._guard:
                    self.dirty.setdefault(run_id, time.monotonic())
        for run_id in open_runs:
            record = self.qc.store.find(run_id)
            if record is not None and record.done:
                with self._guard:
                    self.views[run_id].apply_record(record)
                    self.dirty.setdefault(run_id, time.monotonic())

    def _edits_left(self, run_id: str, now: float) -> float:
        """The message's edit budget: refilled at one per ``interval``, at most
        ``BURST``. Progress edits need a full budget and the outcome one edit,
        so progress is shown at most once per interval and the outcome is
        never held back by a progress edit just before it."""
        left, at = self.budget.get(run_id, (BURST, now))
        return min(BURST, left + (now - at) / self.interval)

    def _flush(self) -> None:
        now = time.monotonic()
        with self._guard:
            due = [
                r
                for r, since in self.dirty.items()
                if now >= self.hold_until.get(r, 0.0)
                # Progress keeps one edit in reserve: the outcome never waits for it.
                and (
                    self._edits_left(r, now) >= 1
                    if self.views[r].done
                    else self._edits_left(r, now) >= BURST and now - since >= SETTLE
                )
            ]
        for run_id in due:
            with self._guard:
                view = self.views[run_id]
                channel, ts = self.targets[run_id]
                thread = self.threads.get(run_id, ts)
                text, blocks = status_message(view)
                final = view.done
                self.dirty.pop(run_id, None)
            if final and not self._claim_final(run_id):
                continue
            try:
                reserve = 0.0 if final else OUTCOME_RESERVE
                ok = self.out.update(channel, ts, text, blocks, wait=False, reserve=reserve)
            except RateLimited as exc:
                # Only this message waits: an outcome may still use the reserve.
                self.hold_until[run_id] = time.monotonic() + exc.retry_after
                with self._guard:
                    self.dirty.setdefault(run_id, time.monotonic())
                continue
            now = time.monotonic()
            self.budget[run_id] = (self._edits_left(run_id, now) - 1, now)
            if not ok:
                # Slack unreachable or refusing: try again later, a few times.
                self.failures[run_id] = self.failures.get(run_id, 0) + 1
                if self.failures[run_id] < 10:
                    with self._guard:
                        self.dirty.setdefault(run_id, time.monotonic())
                    continue
            if final:
                self.qc.redis.hset(self.follow_key(run_id), "final", "1")
                self._drop(run_id)
                self._upload_output(view, channel, thread)
                with self._guard:
                    self.finished.append(run_id)

    def _upload_output(self, view: RunView, channel: str, thread: str) -> None:
        """A job's whole output as a file in the thread, when the message shows
        only its end (after the final edit is recorded: at most once)."""
        job = view.job
        if job is None or job.state != "SUCCEEDED" or not job_output(job)[1]:
            return
        content = "\n".join(job.output)
        if len(content) > 1_000_000:
            content = content[-1_000_000:]
        self.out.upload(
            channel, f"spark-job-{job.id}.txt", content, thread_ts=thread, title=f"job {job.id}"
        )
