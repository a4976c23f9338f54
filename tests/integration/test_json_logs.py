"""``--log-format json`` on real processes: a worker running an operation
(with a secret parameter and a Slack token in its settings) and the metrics
exporter write nothing but JSON objects, one per line, with the run context,
and no secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.queue_harness import Process, QueueLab, free_port, queue_lab

pytestmark = pytest.mark.integration

SLACK_TOKEN = "xoxb-1111-2222-json-logs-test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("json-logs"), password="json-logs-pw") as running:
        yield running


# Celery prints these itself (not through logging) when a worker stops.
CELERY_SHUTDOWN = ("worker: Warm shutdown", "worker: Cold shutdown")


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [
        line for line in text.splitlines() if line.strip() and not line.startswith(CELERY_SHUTDOWN)
    ]
    assert lines
    return [json.loads(line) for line in lines]  # raises on any line that is not JSON


def test_a_worker_logs_json_lines_with_the_run_and_no_secret(lab: QueueLab) -> None:
    worker = lab.start_worker(
        concurrency=1, SPARKSWARM_LOG_FORMAT="json", SPARKSWARM_SLACK_BOT_TOKEN=SLACK_TOKEN
    )
    qc: Any = lab.client()
    submission = qc.submit(
        "test.sleep", {"key": "jl", "seconds": 0.1, "password": "hunter2-json"}, requester="t"
    )
    assert qc.wait(submission.run_id, 60).state == "succeeded"
    worker.stop()
    output = worker.output()
    lines = json_lines(output)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    ours = [line for line in lines if line.get("run_id") == submission.run_id]
    assert ours, output[-2000:]
    assert {(line["op"], line["target"]) for line in ours} == {("test.sleep", "test:jl")}
    for secret in ("hunter2-json", "json-logs-pw", SLACK_TOKEN):
        assert secret not in output


def test_the_exporter_logs_json_lines(lab: QueueLab) -> None:
    port = free_port()
    exporter = Process(
        ["metrics", "--port", str(port), "--log-format", "json"],
        lab.env(),
        lab.folder / "metrics-json.log",
    )
    lab.processes.append(exporter)
    exporter.wait_ready("metrics exporter serving", 60)
    exporter.stop()
    lines = json_lines(exporter.output())
    assert any(line["logger"] == "sparkswarm.metrics" for line in lines)
