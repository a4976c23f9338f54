"""Reading run records: one, the newest filtered, and trimming the old.

Split from :mod:`.records` (writes and state transitions); :class:`RunStore`
has both. The key layout is described there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sparkswarm.errors import NotFound
from sparkswarm.workers.record_index import IndexedStore, newest_first, past_retention

if TYPE_CHECKING:
    from sparkswarm.workers.records import RunRecord


class RunReads(IndexedStore):
    """The read side of :class:`~sparkswarm.workers.records.RunStore`."""

    def run_key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    def params_key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:params"

    def active_ids(self) -> list[str]:
        return sorted(self.client.smembers(self.active_key))

    def get(self, run_id: str) -> RunRecord:
        """The record of ``run_id``; NotFound if there is none (or it expired)."""
        from sparkswarm.workers.records import RunRecord

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
        from sparkswarm.workers.records import RunRecord

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
