"""Hostile input, round two (issue #21 §6, §7), through the real CLI on the
real engine: numbers past what the engine can hold, FIFOs where files are
expected, duplicate YAML keys, and removing the ingress network.

Each refusal is exit 2, one ``error:`` line naming what was wrong, and
nothing changed on the engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import sparkswarm

pytestmark = pytest.mark.integration

HUGE = "99999999999999999999999"
UINT64_PLUS_ONE = "18446744073709551616"


def refused(*args: str, timeout: float = 30, env: dict[str, str] | None = None) -> str:
    """Run ``sparkswarm ARGS`` (``env`` added to this process's environment);
    assert the refusal contract; its one line."""
    done = sparkswarm(*args, timeout=timeout, env={**os.environ, **(env or {})})
    shown = f"sparkswarm {' '.join(args)}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, shown
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return lines[0]


def service_names(gw: Any, prefix: str) -> list[str]:
    return sorted(s["Spec"]["Name"] for s in gw.services() if s["Spec"]["Name"].startswith(prefix))


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--restart-max-attempts", HUGE), "--restart-max-attempts must be a whole number from 0"),
        (("--update-parallelism", UINT64_PLUS_ONE), "--update-parallelism must be a whole number"),
        (("--rollback-parallelism", HUGE), "--rollback-parallelism must be a whole number"),
        (
            ("--health-cmd", "true", "--health-retries", UINT64_PLUS_ONE),
            "--health-retries must be a whole number from 0 to 1000",
        ),
    ],
)
def test_numeric_flags_are_bounded_before_sending(
    gw: Any, prefix: str, web_images: dict[str, str], flags: tuple[str, ...], named: str
) -> None:
    line = refused("service", "create", f"{prefix}n", web_images["v1"], *flags, "--detach")
    assert named in line and "cannot unmarshal" not in line
    assert service_names(gw, prefix) == []


def test_update_policy_numbers_are_bounded(gw: Any, prefix: str) -> None:
    line = refused("service", "update", f"{prefix}absent", "--update-parallelism", HUGE)
    assert "--update-parallelism must be a whole number from 0 to 10000" in line


def test_compose_numbers_are_bounded(gw: Any, prefix: str, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n'
        f"    deploy:\n      restart_policy:\n        max_attempts: {HUGE}\n"
    )
    line = refused("stack", "deploy", prefix, "-c", str(stack))
    assert "services.web: deploy.restart_policy.max_attempts must be a whole number" in line
    assert service_names(gw, prefix) == []


def test_a_fifo_compose_file_is_refused_not_waited_on(gw: Any, prefix: str, tmp_path: Path) -> None:
    fifo = tmp_path / "stack.yml"
    os.mkfifo(fifo)
    line = refused("stack", "deploy", prefix, "-c", str(fifo), timeout=20)
    assert "not a regular file (a FIFO)" in line and str(fifo) in line
    assert service_names(gw, prefix) == []


def test_a_fifo_config_file_is_refused_not_waited_on(gw: Any, prefix: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "app.conf")
    (tmp_path / "stack.yml").write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n    configs: [app]\n'
        "configs:\n  app:\n    file: ./app.conf\n"
    )
    line = refused("stack", "deploy", prefix, "-c", str(tmp_path / "stack.yml"), timeout=20)
    assert "not a regular file (a FIFO)" in line
    assert service_names(gw, prefix) == []


def test_duplicate_keys_are_refused_with_the_line(gw: Any, prefix: str, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n'
        "  db:\n    image: busybox\n  web:\n    image: sparkswarm/web:v1\n"
    )
    line = refused("stack", "deploy", prefix, "-c", str(stack))
    assert 'mapping key "web" already defined at line 3' in line
    assert service_names(gw, prefix) == []


def ingress_id(gw: Any) -> str:
    found = [n["Id"] for n in gw.networks() if n["Name"] == "ingress"]
    assert found, "this engine has no ingress network"
    return str(found[0])


def test_removing_ingress_asks_first_and_says_what_breaks(gw: Any) -> None:
    before = ingress_id(gw)
    # Not a terminal: nothing is asked, nothing runs, the user learns why. The
    # shared engine's ingress must survive a regression of this very check:
    # the command is pointed at an engine that does not exist (without the
    # check it fails to connect, exit 1; with it, it never tries).
    line = refused(
        "network", "rm", "ingress", env={"SPARKSWARM_MANAGERS": "unix:///nonexistent/docker.sock"}
    )
    assert "routing mesh" in line and "every port published" in line and "--yes" in line
    assert ingress_id(gw) == before


def test_yes_skips_the_question_for_other_networks(gw: Any, name: Callable[[str], str]) -> None:
    network = name("net")
    gw.api.create_network(network, driver="overlay")
    done = sparkswarm("network", "rm", network, "--yes")
    assert done.returncode == 0, done.stderr
    assert network not in [n["Name"] for n in gw.networks()]


def test_removing_ingress_cannot_be_scheduled(gw: Any, prefix: str) -> None:
    line = refused(
        "schedule", "add", f"{prefix}s", "--cron", "0 3 * * *", "--", "network", "rm", "ingress"
    )
    assert "routing mesh" in line and "not on a schedule" in line
