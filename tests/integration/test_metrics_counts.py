"""The exporter's counts after real work: runs waiting for a target lock on a
real worker, a real bot process calling the Slack double (429s included),
the swarm watcher looking at the real engine, Spark job records; each read
by an HTTP GET of the real ``sparkswarm metrics`` before and after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.exporter import Samples, scrape, scrape_text, start_exporter
from tests.support.queue_harness import QueueLab, queue_lab, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("metric-counts")) as running:
        running.start_worker(concurrency=2)
        yield running


@pytest.fixture(scope="module")
def port(lab: QueueLab) -> int:
    return start_exporter(lab)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the exporter has no such series (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_family_served_has_the_type_the_dashboard_expects(port: int) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from sparkswarm.workers.metrics import METRIC_TYPES

    served = {
        family.name: family.type
        for family in text_string_to_metric_families(scrape_text(port))
        if family.name.startswith("sparkswarm_")
    }
    # The watcher's lag is absent until a watcher has looked (another test).
    expected = {
        k: v for k, v in METRIC_TYPES.items() if k != "sparkswarm_swarm_watcher_lag_seconds"
    }
    assert {k: v for k, v in served.items() if k in expected} == expected
    assert set(served) <= set(METRIC_TYPES)


def test_a_run_waiting_for_its_target_lock_is_counted_with_the_time_it_waited(
    lab: QueueLab, port: int
) -> None:
    qc: Any = lab.client()
    before = scrape(port)
    first = qc.submit("test.sleep", {"key": "locked", "seconds": 2.0}, requester="t").run_id
    wait_for(lambda: qc.get(first).state == "running", 30, "the first run to start")
    second = qc.submit("test.sleep", {"key": "locked", "seconds": 0}, requester="t").run_id
    other = qc.submit("test.sleep", {"key": "free", "seconds": 0}, requester="t").run_id
    # The second run is parked behind the first (the worker has a free slot).
    wait_for(
        lambda: value(scrape(port), "sparkswarm_target_lock_waiting") == 1,
        20,
        "the parked run on the exporter",
    )
    for run_id in (first, second, other):
        assert qc.wait(run_id, 60).state == "succeeded"
    after = scrape(port)
    op = {"op": "test.sleep"}
    waits = "sparkswarm_target_lock_waits_total"
    seconds = "sparkswarm_target_lock_wait_seconds_total"
    assert value(after, waits, **op) - value(before, waits, **op) == 1  # not the free one
    waited = value(after, seconds, **op) - value(before, seconds, **op)
    assert 0.5 < waited < 30  # parked while the first slept its 2 s
    assert value(after, "sparkswarm_target_lock_waiting") == 0


def test_the_bots_slack_calls_and_429s_are_counted_by_method(lab: QueueLab, port: int) -> None:
    from tests.support.bot_harness import VIEWER, BotLab

    bots = BotLab(lab, Path(lab.folder))
    try:
        bots.start_http()
        before = scrape(port)
        bots.web.rate_limit("chat.postMessage", 1, retry_after=0.5)
        bots.slash("/sparkswarm", "runs ls", VIEWER)  # answered with chat.postMessage
        wait_for(
            lambda: [c for c in bots.web.calls_of("chat.postMessage") if c.status == 200],
            30,
            "the answer after the 429",
            explain=bots.dump,
        )
        sent = bots.web.calls_of("chat.postMessage")
        refused = [c for c in sent if c.status == 429]
        assert len(refused) == 1
        post = {"method": "chat.postMessage"}
        calls, limited = (
            "sparkswarm_slack_api_calls_total",
            "sparkswarm_slack_api_rate_limited_total",
        )
        wait_for(
            lambda: value(scrape(port), calls, **post) - value(before, calls, **post) >= len(sent),
            10,
            "the counted calls",
        )
        after = scrape(port)
        # Every request the double saw was counted, the 429 once.
        assert value(after, calls, **post) - value(before, calls, **post) == len(sent)
        assert value(after, limited, **post) - value(before, limited, **post) == 1
    finally:
        bots.stop()


def test_the_swarm_watchers_lag_is_small_while_it_looks_and_grows_when_it_stops(
    lab: QueueLab, port: int, gw: Any
) -> None:
    from sparkswarm.workers.swarm_watch import SwarmWatcher

    lag = "sparkswarm_swarm_watcher_lag_seconds"
    watcher = SwarmWatcher(lab.client(), gw)
    watcher.look()  # catches up with the real engine's events
    watcher.look(wait=0.5)
    assert value(scrape(port), lag) < 3
    time.sleep(3)  # no watcher looks now
    assert value(scrape(port), lag) >= 3


def test_spark_jobs_by_state_and_the_cores_running_jobs_hold(lab: QueueLab, port: int) -> None:
    from sparkswarm.spark.job_record import JobAsk, JobRecord
    from sparkswarm.workers.spark_jobs import JobStore

    store = JobStore.for_client(lab.client())

    def job(job_id: str, cores: int, state: str) -> JobRecord:
        return JobRecord(
            id=job_id,
            stack="study",
            service=f"study-job-{job_id}",
            name="pi",
            script="pi.py",
            ask=JobAsk(cores=cores, executor_memory_mb=512),
            state=state,  # type: ignore[arg-type]
        )

    # As the Spark watcher records them (a real job takes minutes: test_spark).
    store.create(job("c0ffee01", 2, "RUNNING"))
    store.create(job("c0ffee02", 3, "RUNNING"))
    store.create(job("c0ffee03", 4, "SUBMITTED"))
    samples = scrape(port)
    assert value(samples, "sparkswarm_spark_cores_in_use", stack="study") == 5
    assert value(samples, "sparkswarm_spark_jobs", state="RUNNING") == 2
    assert value(samples, "sparkswarm_spark_jobs", state="SUBMITTED") == 1
    store.update("c0ffee01", {"state": "SUCCEEDED"}, expect=("RUNNING",))
    samples = scrape(port)
    assert value(samples, "sparkswarm_spark_cores_in_use", stack="study") == 3
    assert value(samples, "sparkswarm_spark_jobs", state="SUCCEEDED") == 1
