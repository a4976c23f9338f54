"""Output scripts can trust, through the real CLI (issue #11 §6).

Into a pipe, listings are tab-separated lines under a header, never cut; a
``--publish-rm`` of a published port removes it, and one that matches
nothing says so and lists the ports.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cli import sparkswarm

pytestmark = pytest.mark.integration


def piped(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` with stdout a pipe and a narrow terminal width."""
    full = {**os.environ, **(env or {}), "COLUMNS": "40"}
    return sparkswarm(*args, env=full, queued=env is not None, timeout=60)


def test_service_ls_into_a_pipe_keeps_whole_names(name: Callable[[str], str]) -> None:
    service = name("a-rather-long-service-name-for-the-pipe")
    created = sparkswarm("service", "create", service, "sparkswarm/web:v1", "--replicas", "0")
    assert created.returncode == 0, created.stderr
    done = piped("service", "ls")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split("\t") == ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
    [row] = [line for line in lines if service in line]
    assert row.split("\t")[1:5] == [service, "replicated", "0/0", "sparkswarm/web:v1"]
    assert "…" not in done.stdout


def test_schedule_ls_into_a_pipe_greps_the_whole_name(
    name: Callable[[str], str], redis_url: str
) -> None:
    schedule = name("nightly-scale-down-of-the-analytics-cluster")
    env = {"SPARKSWARM_REDIS_URL": redis_url}
    added = piped(
        "schedule",
        "add",
        schedule,
        "--cron",
        "0 3 1 1 *",
        "--",
        "service",
        "scale",
        f"{schedule}-web=0",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    try:
        listed = piped("schedule", "ls", env=env)
        assert listed.returncode == 0, listed.stderr
        matching = [line for line in listed.stdout.splitlines() if schedule in line]
        assert len(matching) == 1 and matching[0].split("\t")[0] == schedule, listed.stdout
    finally:
        assert piped("schedule", "rm", schedule, env=env).returncode == 0


def test_publish_rm_of_a_published_port(gw: Any, name: Callable[[str], str]) -> None:
    service = name("pub")
    created = sparkswarm(
        "service",
        "create",
        service,
        "sparkswarm/web:v1",
        "--replicas",
        "0",
        "--publish",
        "mode=host,published=18937,target=80",
        "--publish",
        "mode=host,published=18938,target=81",
    )
    assert created.returncode == 0, created.stderr

    def ports() -> list[int]:
        spec = gw.inspect_service(service)["Spec"]
        return sorted(p["PublishedPort"] for p in spec["EndpointSpec"].get("Ports") or [])

    removed = sparkswarm("service", "update", service, "--publish-rm", "18937")
    assert removed.returncode == 0, removed.stderr
    assert ports() == [18938]
    again = sparkswarm("service", "update", service, "--publish-rm", "18937")
    assert again.returncode == 0, again.stderr  # safe to run twice
    assert "--publish-rm 18937 matches no port" in " ".join(again.stderr.split())
    assert "18938:81/tcp" in again.stderr
    assert ports() == [18938]


def test_a_daemon_refusal_names_the_service_it_hit(prefix: str, tmp_path: Any) -> None:
    path = tmp_path / "stack.yml"
    # Our checks pass this constraint on; the engine refuses its operator.
    path.write_text(
        'version: "3.8"\nservices:\n  fine:\n    image: sparkswarm/web:v1\n'
        "    deploy: {replicas: 0}\n  odd:\n    image: sparkswarm/web:v1\n"
        "    deploy:\n      replicas: 0\n      placement: {constraints: ['node.labels.x ~= y']}\n"
    )
    done = sparkswarm("stack", "deploy", prefix, "-c", str(path), "--detach")
    assert done.returncode != 0
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: service {prefix}_odd: "), done.stderr


def test_doctor_into_a_pipe_is_one_line_per_check_and_fix(gw: Any) -> None:
    done = piped("swarm", "doctor", "--no-overlay-test")
    assert done.returncode in (0, 1), done.stderr  # 1: a check failed; still printed
    lines = done.stdout.splitlines()
    assert len(lines) >= 6  # engine, swarm, managers, ports, ipvs, overlay, secrets
    for line in lines:  # a wrapped summary would start a line with its tail
        assert line[:6] in ("OK    ", "WARN  ", "FAIL  ") or line.lstrip().startswith("fix: ")
    assert "\x1b[" not in done.stdout
