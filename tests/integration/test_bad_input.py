"""Every command group's bad input through the real CLI (issue #11 §4).

Each case runs ``sparkswarm`` in a subprocess, as a user would, and asserts
the contract of a refusal: exit code 2, exactly one line on stderr (``error:
...``), no traceback, and nothing changed: no object named with this
module's prefix appeared on the engine, the shared test service, the nodes
and the schedules are as they were.

Placeholders in the arguments: ``{P}`` this module's name prefix, ``{SVC}`` a
service with 0 replicas made for these tests, ``{NODE}`` this engine's node
id, ``{DIR}`` a folder with the files the cases read.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SESSION_ID
from tests.support.cli import sparkswarm
from tests.support.engine import remove_prefixed

pytestmark = pytest.mark.integration

BILLION_LAUGHS = """version: "3.8"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
services:
  web:
    image: busybox
    labels: *i
"""


@dataclass(frozen=True)
class Case:
    """One bad input: the words, extra environment, whether it needs Redis."""

    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    redis: bool = False

    def __str__(self) -> str:
        shown = " ".join(self.args)
        return (" ".join(f"{k}={v}" for k, v in self.env) + " " + shown).strip()


def case(*args: str, env: dict[str, str] | None = None, redis: bool = False) -> Case:
    return Case(tuple(args), tuple((env or {}).items()), redis)


CASES = [
    # swarm
    case("swarm", "join-token", "boss"),
    case("swarm", "join", "not a host", "--token", "SWMTKN-1-bad"),
    case("swarm", "doctor", "--bogus"),
    # node
    case("node", "ls", "--role", "boss"),
    case("node", "drain", "{P}-no-such-node"),
    case("node", "label", "{NODE}", "=x"),
    case("node", "label", "{NODE}", "--rm", ""),
    # service
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--replicas", "nan"),
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--replicas", "-1"),
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--timeout", "-1"),
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--update-parallelism", "-1"),
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--update-max-failure-ratio", "2"),
    case("service", "create", "{P}-a", "sparkswarm/web:v1", "--reserve-cpu", "100000"),
    case("service", "create", "bad name!", "sparkswarm/web:v1"),
    case("service", "scale", "{SVC}=\u00b2"),
    case("service", "scale", "{SVC}=\u0661"),
    case("service", "scale", "{SVC}=\uff11"),
    case("service", "scale", "{SVC}=99999999999"),
    case("service", "scale", "{SVC}"),
    case("service", "update", "{SVC}", "--publish-rm", "80:x"),
    case("service", "update", "{SVC}", "--replicas", "101"),
    case("service", "update", "{SVC}", "--env-add", "A=1", "--timeout", "inf"),
    case("service", "ps", "{P}-no-such-service"),
    case("service", "rollback", "{SVC}"),
    case("service", "rm", "bad name!"),
    # network
    case("network", "create", "bad name!"),
    case("network", "create", "{P}-n", "--subnet", "10.0.0.0/99"),
    case("network", "rm", "bad name!"),
    # stack
    case("stack", "deploy", "bad name!", "-c", "{DIR}/ok.yml"),
    case("stack", "deploy", "{P}", "-c", "{DIR}/missing.yml"),
    case("stack", "deploy", "{P}", "-c", "{DIR}/bad-yaml.yml"),
    case("stack", "deploy", "{P}", "-c", "{DIR}/billion.yml"),
    case("stack", "diff", "{P}", "-c", "{DIR}/billion.yml"),
    case("stack", "deploy", "{P}", "-c", "{DIR}/huge.yml"),
    case("stack", "deploy", "{P}", "-c", "{DIR}/ok.yml", "--set", "novalue"),
    case("stack", "ps", "bad name!"),
    case("stack", "rm", "bad name!"),
    case("stack", "rollback", "{P}"),
    # spark
    case("spark", "submit", "{DIR}/missing.py"),
    case("spark", "submit", "{DIR}/job.py", "--stack", "{P}", "--timeout", "-1"),
    case("spark", "submit", "{DIR}/job.py", "--stack", "{P}", "--conf", "novalue"),
    case("spark", "submit", "/dev/zero", "--stack", "{P}"),
    case("spark", "wait", "bad id!", "--stack", "{P}"),
    case("spark", "status", "--stack", "{P}"),
    # images
    case("images", "build", "no-such-image"),
    # runs, schedules, events (need the broker)
    case("runs", "ls", "--limit", "-1", redis=True),
    case("runs", "show", "{P}-no-such-run", redis=True),
    case("schedule", "add", "{P}s", "--cron", "bad cron", "--", "service", "ls", redis=True),
    case(
        "schedule",
        "add",
        "{P}s",
        "--cron",
        "*/5 * * * *",
        "--",
        "service",
        "scale",
        "{SVC}=\u00b2",
        redis=True,
    ),
    case(
        "schedule",
        "add",
        "{P}s",
        "--cron",
        "*/5 * * * *",
        "--",
        "service",
        "scale",
        "{SVC}=99999999999",
        redis=True,
    ),
    case("schedule", "rm", "{P}-no-such-schedule", redis=True),
    case("events", "--limit", "-1", redis=True),
    # worker, beat
    case("worker", "--concurrency", "-1", redis=True),
    case("worker", "--concurrency", "0", redis=True),
    case("worker", "--loglevel", "LOUD", redis=True),
    case("beat", "--loglevel", "LOUD", redis=True),
    # settings
    case("service", "ls", env={"SPARKSWARM_MANAGERS": "tcp://[::1"}),
    case("service", "ls", env={"SPARKSWARM_MANAGERS": "tcp://:2375"}),
    case("service", "ls", env={"SPARKSWARM_MAX_REPLICAS": "abc"}),
    case("service", "scale", "{SVC}=3", env={"SPARKSWARM_MAX_REPLICAS": "0"}),
]


@dataclass
class World:
    prefix: str
    service: str
    node: str
    folder: Path
    redis_url: str | None


@pytest.fixture(scope="module")
def world(gw: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    prefix = f"{SESSION_ID}bad{secrets.token_hex(2)}"
    service = f"{prefix}-svc"
    created = run(["service", "create", service, "sparkswarm/web:v1", "--replicas", "0"], {})
    assert created.returncode == 0, created.stderr
    folder = tmp_path_factory.mktemp("bad-input")
    (folder / "ok.yml").write_text('version: "3.8"\nservices:\n  web:\n    image: busybox\n')
    (folder / "bad-yaml.yml").write_text('version: "3.8"\nservices: [\n')
    (folder / "billion.yml").write_text(BILLION_LAUGHS)
    (folder / "huge.yml").write_text(
        'version: "3.8"\nservices:\n  web:\n    image: busybox\n'
        "    deploy: {replicas: 99999999999}\n"
    )
    (folder / "job.py").write_text("print(1)\n")
    node = str(gw.info()["Swarm"]["NodeID"])  # type: ignore[attr-defined]
    redis_url = os.environ.get("SPARKSWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    yield World(prefix, service, node, folder, redis_url)
    remove_prefixed(gw, prefix)


def run(
    args: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SPARKSWARM_")}
    full.update(env)
    full["COLUMNS"] = "80"
    return sparkswarm(*args, env=full, queued=True, timeout=timeout)


def snapshot(gw: Any, world: World) -> dict[str, Any]:
    """What a refusal must not change."""
    api = gw
    mine = lambda name: name.startswith(world.prefix)  # noqa: E731
    return {
        "services": sorted(
            (s["Spec"]["Name"], s["Version"]["Index"])
            for s in api.services()
            if mine(s["Spec"]["Name"])
        ),
        "networks": sorted(n["Name"] for n in api.networks() if mine(n["Name"])),
        "secrets": sorted(s["Spec"]["Name"] for s in api.secrets() if mine(s["Spec"]["Name"])),
        "configs": sorted(c["Spec"]["Name"] for c in api.configs() if mine(c["Spec"]["Name"])),
        # Only what these cases could touch: other engineers' tests share the
        # engine and may bump node versions or add lab nodes meanwhile.
        "node": _node_facts(api.inspect_node(world.node)["Spec"], world.prefix),
    }


def _node_facts(spec: dict[str, Any], prefix: str) -> tuple[Any, ...]:
    labels = {k: v for k, v in (spec.get("Labels") or {}).items() if not k or prefix in k}
    return spec.get("Role"), spec.get("Availability"), sorted(labels.items())


def schedules(world: World) -> list[str]:
    done = run(["schedule", "ls", "--json"], {"SPARKSWARM_REDIS_URL": str(world.redis_url)})
    assert done.returncode == 0, done.stderr
    return sorted(line for line in done.stdout.splitlines() if world.prefix in line)


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    gw: Any, world: World, bad: Case, redis_url: str
) -> None:
    values = {
        "{P}": world.prefix,
        "{SVC}": world.service,
        "{NODE}": world.node,
        "{DIR}": str(world.folder),
    }
    args = []
    for arg in bad.args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        args.append(arg)
    env = dict(bad.env)
    if bad.redis:
        env["SPARKSWARM_REDIS_URL"] = redis_url
    before = snapshot(gw, world)
    touches_schedules = bad.args[0] == "schedule"
    scheduled = schedules(world) if touches_schedules else []
    # Bounded: a hostile file (billion laughs, /dev/zero) must be refused, not hang.
    done = run(args, env, timeout=20)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    shown = f"sparkswarm {' '.join(args)}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == 2, shown
    assert "Traceback" not in done.stderr, shown
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    assert snapshot(gw, world) == before
    if touches_schedules:
        assert schedules(world) == scheduled
