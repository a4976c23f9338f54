"""`sparkswarm metrics` against a real queue: a real redis-server (with a
password), a real worker running a few operations, the exporter as a real
process, and an HTTP GET of /metrics parsed with prometheus_client's parser."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.exporter import scrape
from tests.support.queue_harness import Process, QueueLab, free_port, queue_lab, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    folder = tmp_path_factory.mktemp("metrics")
    with queue_lab(folder, password=secrets.token_hex(8)) as running:
        yield running


def test_the_exporter_shows_runs_durations_and_the_queue(lab: QueueLab) -> None:
    lab.start_worker(concurrency=2)
    qc: Any = lab.client()
    ids = [
        qc.submit("test.sleep", {"key": f"m{i}", "seconds": 0.6}, requester="t").run_id
        for i in range(3)
    ]
    for run_id in ids:
        assert qc.wait(run_id, 60).state == "succeeded"
    from sparkswarm.health_judge import Observation
    from sparkswarm.workers.incidents import incident_store

    incidents = incident_store(qc)
    incidents.apply(Observation("flapping", "web", True, "web flaps"))
    incidents.apply(Observation("node_down", "n2", True, "n2 is down"))
    incidents.apply(Observation("node_down", "n3", True, "n3 is down"))
    incidents.apply(Observation("node_down", "n3", False))  # resolved: not open

    port = free_port()
    exporter = Process(["metrics", "--port", str(port)], lab.env(), lab.folder / "metrics.log")
    lab.processes.append(exporter)
    exporter.wait_ready("metrics exporter serving", 60)
    samples = scrape(port)

    names = {name for name, _ in samples}
    assert all(
        name.startswith("sparkswarm_")
        for name in names
        if not name.startswith(("python_", "process_"))
    )
    assert samples[("sparkswarm_redis_up", ())] == 1
    assert samples[("sparkswarm_incidents_open", (("kind", "flapping"),))] == 1
    assert samples[("sparkswarm_incidents_open", (("kind", "node_down"),))] == 1
    assert samples[("sparkswarm_runs", (("op", "test.sleep"), ("state", "succeeded")))] == 3
    op = (("op", "test.sleep"),)
    assert samples[("sparkswarm_run_duration_seconds_count", op)] == 3
    assert samples[("sparkswarm_run_duration_seconds_sum", op)] >= 1.8
    from sparkswarm.workers.metrics import DURATION_BUCKETS

    bucket = "sparkswarm_run_duration_seconds_bucket"
    cumulative = [samples[(bucket, (("le", str(le)), *op))] for le in DURATION_BUCKETS]
    assert cumulative == sorted(cumulative)  # cumulative, as Prometheus wants
    assert cumulative[0] == 0  # le=0.5: each run slept 0.6 s
    assert samples[(bucket, (("le", "+Inf"), *op))] == 3
    queue = (("queue", lab.queue),)
    assert samples[("sparkswarm_queue_depth", queue)] == 0
    assert samples[("sparkswarm_queue_oldest_waiting_seconds", queue)] == 0


def test_a_queued_run_without_a_worker_shows_as_waiting(lab: QueueLab) -> None:
    lab.stop_all()
    qc: Any = lab.client()
    qc.submit("test.sleep", {"key": "waits", "seconds": 0}, requester="t")
    port = free_port()
    exporter = Process(["metrics", "--port", str(port)], lab.env(), lab.folder / "metrics2.log")
    lab.processes.append(exporter)
    exporter.wait_ready("metrics exporter serving", 60)
    queue = (("queue", lab.queue),)
    wait_for(
        lambda: scrape(port)[("sparkswarm_queue_oldest_waiting_seconds", queue)] > 0.5,
        20,
        "the queued run's age",
    )
    samples = scrape(port)
    assert samples[("sparkswarm_queue_depth", queue)] == 1
    assert samples[("sparkswarm_runs", (("op", "test.sleep"), ("state", "queued")))] == 1
