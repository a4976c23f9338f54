"""`spark cancel` through a real worker on the real engine, when an earlier
attempt recorded the job CANCELLED and then failed before its driver was
removed (what a retried run finds): the cancel is finished, not refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sparkswarm.spark.job_record import JobAsk, JobRecord
from tests.support.queue_harness import QueueLab, queue_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("spark-cancel")) as running:
        running.start_worker(concurrency=1, SPARKSWARM_SPARK_WATCHER_IN_WORKER="false")
        yield running


def test_a_cancel_recorded_but_not_cleaned_is_finished_by_the_next_one(
    lab: QueueLab, prefix: str
) -> None:
    from sparkswarm.workers.spark_jobs import JobStore

    store = JobStore.for_client(lab.client())
    stack = f"{prefix}-study"
    job_id = prefix[-8:].rjust(8, "0")
    store.create(
        JobRecord(
            id=job_id,
            stack=stack,
            service=f"{stack}-job-{job_id}",  # gone already: no such service
            name="pi",
            script="pi.py",
            ask=JobAsk(cores=1, executor_memory_mb=512),
            state="RUNNING",
        )
    )
    # The first attempt's half: recorded CANCELLED by alice, never cleaned.
    store.update(job_id, {"state": "CANCELLED", "cancelled_by": "alice"}, expect=("RUNNING",))

    done = lab.cli("spark", "cancel", job_id, "--stack", stack, timeout=120)
    assert done.returncode == 0, done.stderr
    record = store.get(job_id)
    assert record.state == "CANCELLED" and record.cancelled_by == "alice"
    assert record.cleaned_at is not None

    # Now it has ended, cleaned: a cancel is the user's mistake, as before.
    again = lab.cli("spark", "cancel", job_id, "--stack", stack, timeout=120)
    assert again.returncode == 2 and "ended already (CANCELLED)" in again.stderr
