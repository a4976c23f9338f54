"""`sparkswarm service create|update|logs` flag families on the real engine.

The flags that the tutorial and idempotency tests do not reach: mounts of
every type, CPU limits and reservations, health checks, restart delay and
attempts, ingress publishing, job concurrency, every --rollback-* flag and
--update-max-failure-ratio, and `service logs --follow` as a process.
"""

from __future__ import annotations

import json
import selectors
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import SPARKSWARM, sparkswarm, sparkswarm_json
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

SECOND = 1_000_000_000


def running_container(gw: Any, service: str, timeout: float = 60.0) -> dict[str, Any]:
    """The inspected container of the service's running task."""
    label = f"com.docker.swarm.service.name={service}"
    containers = wait_for(
        lambda: gw.api.containers(filters={"label": label}),
        timeout,
        f"a running container of {service}",
        interval=0.5,
    )
    inspected: dict[str, Any] = gw.api.inspect_container(containers[0]["Id"])
    return inspected


def wait_healthy(gw: Any, container_id: str, timeout: float = 60.0) -> None:
    """Poll the container's health status until it is healthy; AssertionError if not in time."""
    wait_for(
        lambda: gw.api.inspect_container(container_id)["State"]["Health"]["Status"] == "healthy",
        timeout,
        f"container {container_id[:12]} to be healthy",
        interval=0.5,
    )


def in_container(gw: Any, container_id: str, *command: str) -> str:
    run = gw.api.exec_create(container_id, list(command))
    output: bytes = gw.api.exec_start(run["Id"])
    assert gw.api.exec_inspect(run["Id"])["ExitCode"] == 0, output
    return output.decode()


def test_create_with_mounts_resources_health_restart_and_policies(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str], tmp_path: Path
) -> None:
    web, volume = name("flags"), name("vol")
    (tmp_path / "ready").write_text("from the host\n")
    created = sparkswarm_json(
        "service", "create", web, web_images["v1"],
        "--mount", f"type=bind,source={tmp_path},target=/host,readonly",
        "--mount", f"type=volume,source={volume},target=/data",
        "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m",
        "--limit-cpu", "0.5", "--limit-memory", "64m",
        "--reserve-cpu", "0.1", "--reserve-memory", "16m",
        "--health-cmd", "cat /host/ready", "--health-interval", "1s",
        "--health-timeout", "2s", "--health-retries", "2",
        "--restart-condition", "on-failure", "--restart-delay", "2s",
        "--restart-max-attempts", "3",
        "--publish", "80",  # ingress: created and kept, though no IPVS carries it here
        "--update-failure-action", "continue", "--update-max-failure-ratio", "0.25",
        "--rollback-delay", "1s", "--rollback-parallelism", "2",
        "--rollback-failure-action", "continue", "--rollback-monitor", "3s",
        "--rollback-max-failure-ratio", "0.5", "--rollback-order", "start-first",
        "--stop-grace-period", "1s",
    )  # fmt: skip
    assert created["outcome"] == "created", created
    service = gw.api.inspect_service(web)
    task = service["Spec"]["TaskTemplate"]
    mounts = {m["Target"]: m for m in task["ContainerSpec"]["Mounts"]}
    assert mounts["/host"] == {
        "Type": "bind", "Source": str(tmp_path), "Target": "/host", "ReadOnly": True,
    }  # fmt: skip
    assert (mounts["/data"]["Type"], mounts["/data"]["Source"]) == ("volume", volume)
    assert mounts["/scratch"]["TmpfsOptions"] == {"SizeBytes": 1024**2}
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": SECOND // 2, "MemoryBytes": 64 * 1024**2},
        "Reservations": {"NanoCPUs": SECOND // 10, "MemoryBytes": 16 * 1024**2},
    }
    health = task["ContainerSpec"]["Healthcheck"]
    assert health == {
        "Test": ["CMD-SHELL", "cat /host/ready"],
        "Interval": SECOND, "Timeout": 2 * SECOND, "Retries": 2,
    }  # fmt: skip
    assert task["RestartPolicy"] == {
        "Condition": "on-failure", "Delay": 2 * SECOND, "MaxAttempts": 3,
    }  # fmt: skip
    [port] = service["Spec"]["EndpointSpec"]["Ports"]
    assert (port["TargetPort"], port["PublishMode"]) == (80, "ingress")
    assert service["Endpoint"]["Ports"][0]["PublishedPort"] > 0  # the engine picked one
    update = service["Spec"]["UpdateConfig"]
    assert (update["FailureAction"], update["MaxFailureRatio"]) == ("continue", 0.25)
    rollback = service["Spec"]["RollbackConfig"]
    assert rollback == {
        "Parallelism": 2, "Delay": SECOND, "FailureAction": "continue",
        "Monitor": 3 * SECOND, "MaxFailureRatio": 0.5, "Order": "start-first",
    }  # fmt: skip

    # The mounts really are what they say, and the health check passes through one.
    container = running_container(gw, web)
    wait_healthy(gw, container["Id"])
    assert in_container(gw, container["Id"], "cat", "/host/ready") == "from the host\n"
    in_container(gw, container["Id"], "sh", "-c", "echo kept > /data/file")
    assert "/scratch" in in_container(gw, container["Id"], "sh", "-c", "grep tmpfs /proc/mounts")

    # --rollback-* on update changes only the rollback policy.
    changed = sparkswarm_json(
        "service", "update", web, "--rollback-parallelism", "1",
        "--rollback-order", "stop-first", "--rollback-failure-action", "pause",
    )  # fmt: skip
    assert changed["outcome"] == "completed", changed
    after = gw.api.inspect_service(web)["Spec"]
    assert after["RollbackConfig"] == {
        **rollback, "Parallelism": 1, "Order": "stop-first", "FailureAction": "pause",
    }  # fmt: skip
    assert after["TaskTemplate"] == task
    assert after["UpdateConfig"] == update


def create_with_command(*args: str, command: list[str]) -> dict[str, Any]:
    """``service create ARGS --json -- COMMAND`` (--json must come before the ``--``)."""
    done = sparkswarm("service", "create", *args, "--json", "--", *command)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_job_concurrency(gw: Any, name: Callable[[str], str], web_images: dict[str, str]) -> None:
    job = name("conc")
    done = create_with_command(
        job, web_images["v1"], "--mode", "replicated-job",
        "--replicas", "3", "--max-concurrent", "1", "--restart-condition", "none",
        command=["sh", "-c", "echo one"],
    )  # fmt: skip
    assert (done["outcome"], done["running"], done["desired"]) == ("created", 3, 3)
    mode = gw.api.inspect_service(job)["Spec"]["Mode"]
    assert mode == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 3}}


def test_logs_follow_streams_until_stopped(
    name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    talker = name("talk")
    script = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"
    create_with_command(
        talker, web_images["v1"], "--stop-grace-period", "1s", command=["sh", "-c", script]
    )
    follower = subprocess.Popen(
        [SPARKSWARM, "service", "logs", talker, "--follow", "--tail", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert follower.stdout is not None
        watch = selectors.DefaultSelector()
        watch.register(follower.stdout, selectors.EVENT_READ)
        stdout = follower.stdout

        def four_lines_or_exit() -> bool:
            if watch.select(timeout=1) and (line := stdout.readline()):
                lines.append(line.rstrip("\n"))
            return len(lines) >= 4 or follower.poll() is not None

        wait_for(four_lines_or_exit, 30, "four lines from --follow", interval=0)
        assert follower.poll() is None, "--follow ended by itself"
    finally:
        follower.terminate()
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
            follower.wait()
    assert len(lines) == 4, (lines, follower.stderr.read() if follower.stderr else "")
    numbers = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    assert all(line.startswith(f"{talker}.1@") and " | tick " in line for line in lines)


def test_read_commands_print_tables_and_json(gw: Any) -> None:
    me = gw.api.info()["Swarm"]["NodeID"]
    table = sparkswarm("node", "ls")
    assert table.returncode == 0 and me in table.stdout and "HOSTNAME" in table.stdout
    quiet = sparkswarm("swarm", "join-token", "worker", "--quiet")
    assert quiet.returncode == 0
    assert quiet.stdout.strip().startswith("SWMTKN-1-****")  # masked even when quiet
    assert json.loads(sparkswarm("swarm", "join-token", "worker", "--json").stdout)["masked"]
