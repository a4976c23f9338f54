"""Admission limits through the real CLI on the real engine (issue #11 §1).

Every case asserts exit 2, a message naming the limit and its setting, and
that the engine holds exactly what it held before. No huge value is ever
sent for real: the point is that it never reaches the engine.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SESSION_ID
from tests.support.cli import sparkswarm
from tests.support.engine import remove_prefixed

pytestmark = pytest.mark.integration


def prefixed_services(gw: Any, prefix: str) -> dict[str, Any]:
    """Name -> (replica mode, version) of every service whose name starts with ``prefix``."""
    return {
        s["Spec"]["Name"]: (s["Spec"]["Mode"], s["Version"]["Index"])
        for s in gw.services()
        if s["Spec"]["Name"].startswith(prefix)
    }


@pytest.fixture(scope="module")
def web(gw: Any) -> Iterator[str]:
    """A service with 0 replicas, shared by the module (no task: fast to remove)."""
    prefix = f"{SESSION_ID}adm{secrets.token_hex(2)}"
    service = f"{prefix}-web"
    done = sparkswarm("service", "create", service, "sparkswarm/web:v1", "--replicas", "0")
    assert done.returncode == 0, done.stderr
    yield service
    remove_prefixed(gw, prefix)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["service", "scale", "SVC=99999999999"], "SPARKSWARM_MAX_REPLICAS"),
        (["service", "scale", "SVC=101"], "limit of 100 per service"),
        (["service", "scale", "SVC=²"], "not a whole number"),
        (["service", "scale", "SVC=\u0661"], "not a whole number"),
        (["service", "scale", "SVC=3", "--timeout", "-1"], "--timeout"),
        (["service", "scale", "SVC=3", "--timeout", "inf"], "--timeout"),
        (["service", "update", "SVC", "--replicas", "99999999999"], "SPARKSWARM_MAX_REPLICAS"),
        (["service", "update", "SVC", "--replicas", "-1"], "replicas"),
        (["service", "update", "SVC", "--update-parallelism", "-1"], "parallelism"),
        (["service", "update", "SVC", "--update-max-failure-ratio", "nan"], "max_failure_ratio"),
        (["service", "update", "SVC", "--update-max-failure-ratio", "1.5"], "max_failure_ratio"),
        (["service", "update", "SVC", "--update-delay", "-5s"], "invalid duration"),
        (["service", "update", "SVC", "--env-add", "A=1", "--timeout", "nan"], "--timeout"),
    ],
)
def test_changes_over_the_limits_are_refused_and_change_nothing(
    gw: Any, web: str, args: list[str], message: str
) -> None:
    prefix = web
    before = prefixed_services(gw, prefix)
    done = sparkswarm(*[a.replace("SVC", web) for a in args])
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert prefixed_services(gw, prefix) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replicas", "99999999999"], "SPARKSWARM_MAX_REPLICAS"),
        (["--mode", "replicated-job", "--replicas", "101"], "SPARKSWARM_MAX_REPLICAS"),
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--reserve-cpu", "4096"], "no node has that much"),
        (["--reserve-memory", "64t"], "no node has that much"),
        (["--restart-delay", "-1s"], "invalid duration"),
    ],
)
def test_create_over_the_limits_creates_nothing(
    gw: Any, prefix: str, name: Callable[[str], str], args: list[str], message: str
) -> None:
    done = sparkswarm("service", "create", name("big"), "sparkswarm/web:v1", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert prefixed_services(gw, prefix) == {}


def _compose(tmp_path: Path, **replicas: int) -> str:
    # A constraint no node meets: tasks stay pending, no container to remove.
    body = "".join(
        f"  {svc}:\n    image: sparkswarm/web:v1\n    deploy:\n      replicas: {count}\n"
        "      placement: {constraints: [node.labels.sparkswarm-never==true]}\n"
        for svc, count in replicas.items()
    )
    path = tmp_path / "stack.yml"
    path.write_text('version: "3.8"\nservices:\n' + body)
    return str(path)


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        ({"a": 99_999_999_999}, "SPARKSWARM_MAX_REPLICAS"),
        ({"a": 90, "b": 90, "c": 90}, "SPARKSWARM_MAX_STACK_REPLICAS"),
    ],
)
@pytest.mark.parametrize("command", ["deploy", "diff"])
def test_stack_files_over_the_limits_are_refused(
    gw: Any, prefix: str, tmp_path: Path, replicas: dict[str, int], message: str, command: str
) -> None:
    done = sparkswarm("stack", command, prefix, "-c", _compose(tmp_path, **replicas))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert prefixed_services(gw, prefix) == {}
    assert not [n for n in gw.networks() if n["Name"].startswith(prefix)]


def test_ready_made_stack_parameter_over_the_limit(gw: Any, prefix: str) -> None:
    # Spark's ready-made file (its params.yml declares `workers`) under our name.
    done = sparkswarm(
        "stack",
        "diff",
        prefix,
        "-c",
        str(Path(__file__).resolve().parents[2] / "stacks" / "spark" / "stack.yml"),
        "--set",
        "workers=5000",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SPARKSWARM_MAX_REPLICAS" in done.stderr
    assert prefixed_services(gw, prefix) == {}


def test_scaling_a_stack_service_counts_the_stack_total(
    gw: Any, prefix: str, tmp_path: Path
) -> None:
    env = {**os.environ, "SPARKSWARM_MAX_STACK_REPLICAS": "3"}
    deployed = sparkswarm(
        "stack", "deploy", prefix, "-c", _compose(tmp_path, a=0, b=2), "--detach", env=env
    )
    assert deployed.returncode == 0, deployed.stderr
    before = prefixed_services(gw, prefix)
    done = sparkswarm("service", "scale", f"{prefix}_a=2", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SPARKSWARM_MAX_STACK_REPLICAS" in done.stderr
    assert prefixed_services(gw, prefix) == before


def test_stack_reservation_no_node_has_is_refused_before_deploying(
    gw: Any, prefix: str, tmp_path: Path
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(
        'version: "3.8"\nservices:\n  big:\n    image: sparkswarm/web:v1\n'
        "    deploy:\n      resources: {reservations: {cpus: '4096', memory: 64g}}\n"
    )
    done = sparkswarm("stack", "deploy", prefix, "-c", str(path), "--detach")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"service {prefix}_big reserves 4096 CPUs and 65536 MiB but no node" in done.stderr
    assert prefixed_services(gw, prefix) == {}
    assert not [n for n in gw.networks() if n["Name"].startswith(prefix)]
