"""The seed tutorial, end to end, through the real ``sparkswarm`` CLI on the real engine.

create -> publish a host-mode port and get HTTP 200 -> scale to 3 -> rolling
update to v2 (timed against the delays asked for) -> rollback -> a failing
update that the engine rolls back (and the CLI says so, exit 1) -> rm.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cli import sparkswarm, sparkswarm_json
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(port: int, *, timeout: float = 20.0) -> tuple[int, str]:
    """GET http://127.0.0.1:port/ (loopback only), retrying while the task starts."""

    def get() -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.status, response.read().decode()

    return wait_for(get, timeout, f"HTTP on port {port}", interval=0.3, ignore=(OSError,))


def running_tasks(service: str) -> list[dict[str, Any]]:
    tasks = sparkswarm_json("service", "ps", service, "--running")
    return [task for task in tasks if task["current_state"] == "running"]


def ok(*args: str) -> dict[str, Any]:
    """Run a mutating command with --json; assert exit 0; its result."""
    done = sparkswarm(*args, "--json")
    assert done.returncode == 0, f"{args}: {done.stderr}{done.stdout}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_seed_tutorial(name: Callable[[str], str], web_images: dict[str, str]) -> None:
    web = name("web")
    created = ok("service", "create", web, web_images["v1"], "--stop-grace-period", "1s")
    assert created["outcome"] == "created"
    assert (created["running"], created["desired"]) == (1, 1)

    # A host-mode published port answers with the v1 page.
    port = free_port()
    published = ok(
        "service", "update", web, "--publish-add", f"mode=host,published={port},target=80"
    )
    assert published["outcome"] == "completed"
    assert http_get(port) == (200, "web v1\n")

    # Host-mode ports clash when one node runs several tasks: unpublish, then scale.
    ok("service", "update", web, "--publish-rm", "80")
    scaled = sparkswarm("service", "scale", f"{web}=3")
    assert scaled.returncode == 0, scaled.stderr
    assert f"{web}: completed (3/3 tasks)" in scaled.stdout
    assert len(running_tasks(web)) == 3
    [row] = [row for row in sparkswarm_json("service", "ls") if row["name"] == web]
    assert (row["running"], row["desired"]) == (3, 3)

    # Rolling update: one task at a time, 2 s between them.
    delay = 2.0
    started = time.monotonic()
    rolled = sparkswarm(
        "service",
        "update",
        web,
        "--image",
        web_images["v2"],
        "--update-delay",
        "2s",
        "--update-parallelism",
        "1",
        "--json",
    )
    elapsed = time.monotonic() - started
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["outcome"] == "completed"
    assert elapsed >= (3 - 1) * delay, f"a 3-task update with 2s delays took {elapsed:.1f}s"
    print(f"rolling update of 3 tasks, parallelism 1, delay 2s: {elapsed:.1f}s")
    tasks = running_tasks(web)
    assert len(tasks) == 3
    assert {task["image"] for task in tasks} == {web_images["v2"]}
    assert {task["slot"] for task in tasks} == {1, 2, 3}
    # progress was shown per task: every slot went to running on v2
    for slot in (1, 2, 3):
        assert f"slot {slot}: running ({web_images['v2']})" in rolled.stderr

    # Manual rollback to the previous spec (v1).
    back = ok("service", "rollback", web)
    assert back["outcome"] == "rolled_back"
    assert {task["image"] for task in running_tasks(web)} == {web_images["v1"]}

    # A failing update: the new task exits at once, the engine rolls back, we say so.
    started = time.monotonic()
    failing = sparkswarm(
        "service",
        "update",
        web,
        "--image",
        web_images["broken"],
        "--update-failure-action",
        "rollback",
        "--update-monitor",
        "2s",
    )
    print(f"failing update to rolled back: {time.monotonic() - started:.1f}s")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "failed and was rolled back" in failing.stderr
    assert "non-zero exit (3)" in failing.stderr
    tasks = running_tasks(web)
    assert len(tasks) == 3
    assert {task["image"] for task in tasks} == {web_images["v1"]}
    inspected = sparkswarm_json("service", "inspect", web)
    assert inspected["UpdateStatus"]["State"] == "rollback_completed"
    assert inspected["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == web_images["v1"]

    # Rolling back again is a no-op: the last change already was a rollback.
    assert ok("service", "rollback", web)["outcome"] == "unchanged"

    removed = ok("service", "rm", web)
    assert removed == {"removed": [web], "absent": []}
    assert web not in {row["name"] for row in sparkswarm_json("service", "ls")}
    assert ok("service", "rm", web) == {"removed": [], "absent": [web]}
