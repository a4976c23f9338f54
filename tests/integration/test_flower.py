"""Flower, Celery's stock monitor, against a real worker of ours: a real
redis-server, ``sparkswarm worker``, and ``celery -A sparkswarm.workers.app
flower`` as a process of its own, read through Flower's HTTP API.

Flower sees what Celery sees: the worker (through remote control) and the
deliveries of our tasks (through task events, which our workers do not
send until Flower turns them on). It does not see our run records, target
locks, schedules or Spark jobs: ``sparkswarm runs``/``jobs`` show those.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.queue_harness import Process, QueueLab, free_port, queue_lab, wait_for

pytestmark = pytest.mark.integration

pytest.importorskip("flower", reason="Flower is a dev dependency (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("flower")) as running:
        yield running


# Flower's HTTP API answers 401 without a login (unless told to serve it
# unauthenticated): basic auth, as a deployment would use.
LOGIN = ("ops", secrets.token_hex(8))


def start_flower(lab: QueueLab) -> str:
    """Flower on the lab's broker; its base URL once it serves."""
    port = free_port()
    flower = Process(
        [
            "-A",
            "sparkswarm.workers.app",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
            f"--basic-auth={LOGIN[0]}:{LOGIN[1]}",
        ],
        lab.env(),
        lab.folder / "flower.log",
        program=(sys.executable, "-m", "celery"),
    )
    lab.processes.append(flower)
    flower.wait_ready("Visit me at", 60)
    return f"http://127.0.0.1:{port}"


def get(url: str, **params: Any) -> Any:
    answer = requests.get(url, params=params, auth=LOGIN, timeout=15)
    answer.raise_for_status()
    return answer.json()


def test_flower_lists_our_worker_and_the_tasks_it_ran(lab: QueueLab) -> None:
    worker = lab.start_worker(concurrency=2)
    flower = start_flower(lab)
    assert requests.get(f"{flower}/api/workers", timeout=15).status_code == 401  # no login
    args = list(worker.proc.args)  # type: ignore[arg-type]
    hostname = args[args.index("--hostname") + 1].split("@")[0] + "@"  # wN-xxxx@%h

    workers = wait_for(
        lambda: [
            name
            for name, info in get(f"{flower}/api/workers", refresh="true").items()
            if name.startswith(hostname) and info
        ],
        30,
        "our worker in Flower",
        explain=lambda: lab.processes[-1].tail(),
    )
    info = get(f"{flower}/api/workers")[workers[0]]
    # What Celery's remote control says of it: its queue and registered tasks.
    assert lab.queue in [q["name"] for q in info["active_queues"]]
    assert "test.sleep" in info["registered"]

    # Task events are off in our workers; Flower turns them on by remote
    # control every few seconds, so a run delivered before that is not shown.
    qc: Any = lab.client()
    seen: dict[str, Any] = {}

    def shown() -> bool:
        run_id = qc.submit("test.sleep", {"key": f"f{time.monotonic()}"}, requester="t").run_id
        assert qc.wait(run_id, 30).state == "succeeded"
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for task in get(f"{flower}/api/tasks").values():
                if run_id in str(task.get("kwargs")) and task.get("state") == "SUCCESS":
                    seen.update(task)
                    return True
            time.sleep(0.5)
        return False

    wait_for(shown, 60, "a run of ours as a task in Flower", explain=lab.processes[-1].tail)
    assert seen["name"] == "test.sleep"
    assert seen["worker"].startswith(hostname)
