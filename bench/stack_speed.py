"""Wall time of our engine commands vs the Docker CLI's (stacks on the same files).

    .venv/bin/python bench/stack_speed.py [--runs 5] [--services 1,5,10] [--only-stacks]

Needs the engine (a swarm manager) and the ``docker`` client. Each file is
generated with N services of one pending task each (an unmet constraint:
nothing runs), deployed under a stack name starting with ``benchss`` and
removed at the end. For every command the median of ``--runs`` runs is
printed (wall time, and our command's CPU time: steadier on a busy machine)
with the ratio ours/docker (for reference) and whether it meets issue
#17's goal: at most 0.3 s, so a person never waits. The other engine commands
(service, node, network) follow, on one service each. Then the in-process time to load
and plan a 10-service file (target: under 0.1 s).

This is a benchmark, not a test: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

SPARKSWARM = str(Path(sys.executable).parent / "sparkswarm")
GOAL_S = 0.3
PLAN_TARGET_S = 0.1


def compose_file(folder: Path, services: int) -> Path:
    """A compose file with ``services`` services on one overlay network.

    One replica each, on no node (an unmet constraint): tasks exist and stay
    pending, so ``stack ps`` has rows and nothing runs.
    """
    lines = ['version: "3.8"', "services:"]
    for index in range(services):
        lines += [
            f"  s{index}:",
            "    image: sparkswarm/web:v1",
            "    command: httpd -f -p 80 -h /www",
            "    environment: {A: '1', B: '2'}",
            "    deploy:",
            "      replicas: 1",
            "      placement: {constraints: [node.labels.benchss-never==true]}",
            "      update_config: {parallelism: 1, delay: 5s}",
            "      resources: {limits: {memory: 64m}}",
            "    networks: [back]",
        ]
    lines += ["networks:", "  back: {driver: overlay}"]
    path = folder / f"stack-{services}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


CPU_TIMES: dict[str, list[float]] = {}
# The CPU seconds of every timed run, in order (median_of takes the ones of its runs).
CPU_LOG: list[float] = []


class Timing(NamedTuple):
    """A command's median wall seconds and median CPU seconds (user+sys)."""

    wall: float
    cpu: float


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run; its CPU seconds (user+sys) are kept in CPU_TIMES.

    CPU time is printed too: on a shared, loaded machine wall time mostly
    measures the wait for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[-300:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU_TIMES.setdefault(argv[0], []).append(cpu)
    CPU_LOG.append(cpu)
    return elapsed


def median_of(
    runs: int, once: Callable[[], float], before: Callable[[], None] = lambda: None
) -> Timing:
    """Medians over ``runs`` calls of ``once`` (``before`` runs untimed before each)."""
    samples, cpus = [], []
    for _ in range(runs):
        before()
        start = len(CPU_LOG)
        samples.append(once())
        cpus.append(sum(CPU_LOG[start:]))
    return Timing(statistics.median(samples), statistics.median(cpus))


def bench_commands(folder: Path, services: int, runs: int) -> list[tuple[str, Timing, Timing]]:
    env = {k: v for k, v in os.environ.items() if k != "SPARKSWARM_REDIS_URL"}
    path = str(compose_file(folder, services))
    ours_stack = f"benchss{secrets.token_hex(3)}"
    theirs_stack = f"benchss{secrets.token_hex(3)}"
    ours = [SPARKSWARM, "stack"]
    docker = ["docker", "stack"]
    deploy_ours = [*ours, "deploy", ours_stack, "-c", path, "--detach"]
    deploy_docker = [
        *docker,
        "deploy",
        "--resolve-image",
        "never",
        "--detach=true",
        "-c",
        path,
        theirs_stack,
    ]

    def rm_ours() -> None:
        subprocess.run([*ours, "rm", ours_stack], env=env, capture_output=True, timeout=120)
        _wait_gone(ours_stack)

    def rm_docker() -> None:
        subprocess.run([*docker, "rm", theirs_stack], env=env, capture_output=True, timeout=120)
        _wait_gone(theirs_stack)

    def timed_rm(argv: list[str], stack: str) -> float:
        elapsed = timed([*argv, "rm", stack], env)
        _wait_gone(stack)  # not timed: both return before the engine is done
        return elapsed

    def redeploy(argv: list[str]) -> None:
        subprocess.run(argv, env=env, capture_output=True, timeout=120, check=True)

    rows = []
    try:
        rows.append(
            (
                f"deploy (create, {services} svc)",
                median_of(runs, lambda: timed(deploy_ours, env), rm_ours),
                median_of(runs, lambda: timed(deploy_docker, env), rm_docker),
            )
        )
        rows.append(
            (
                f"deploy (unchanged, {services} svc)",
                median_of(runs, lambda: timed(deploy_ours, env)),
                median_of(runs, lambda: timed(deploy_docker, env)),
            )
        )
        for command in (["ls"], ["services"], ["ps"]):
            extra_ours = [ours_stack] if command != ["ls"] else []
            extra_docker = [theirs_stack] if command != ["ls"] else []
            rows.append(
                (
                    f"{command[0]} ({services} svc)",
                    median_of(runs, partial(timed, [*ours, *command, *extra_ours], env)),
                    median_of(runs, partial(timed, [*docker, *command, *extra_docker], env)),
                )
            )
        rows.append(
            (
                f"diff ({services} svc; docker: none, vs deploy)",
                median_of(runs, lambda: timed([*ours, "diff", ours_stack, "-c", path], env)),
                median_of(runs, lambda: timed(deploy_docker, env)),
            )
        )
        rows.append(
            (
                f"rm ({services} svc)",
                median_of(runs, lambda: timed_rm(ours, ours_stack), lambda: redeploy(deploy_ours)),
                median_of(
                    runs, lambda: timed_rm(docker, theirs_stack), lambda: redeploy(deploy_docker)
                ),
            )
        )
    finally:
        rm_ours()
        rm_docker()
    return rows


def bench_engine_commands(runs: int) -> list[tuple[str, Timing, Timing]]:
    """The other engine commands, each against the Docker CLI's equivalent.

    One service each (ours and docker's, one pending task: an unmet
    constraint), a network each; mutations use ``--detach`` on both sides
    and alternate between two values so that every run changes something.
    """
    env = {k: v for k, v in os.environ.items() if k != "SPARKSWARM_REDIS_URL"}
    ours_name, theirs_name = (f"benchss{secrets.token_hex(3)}" for _ in range(2))
    constraint = "node.labels.benchss-never==true"
    node = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.NodeID}}"], capture_output=True, text=True
    ).stdout.strip()
    ours, docker = [SPARKSWARM], ["docker"]
    toggle = {"ours": 0, "docker": 0}

    def flip(side: str) -> int:
        toggle[side] += 1
        return 1 + toggle[side] % 2

    def create(argv: list[str], name: str) -> float:
        # Ours takes the name as an argument, docker as --name.
        named = [name] if argv is ours else ["--name", name]
        return timed(
            [
                *argv,
                "service",
                "create",
                "--detach",
                "--constraint",
                constraint,
                *named,
                "sparkswarm/web:v1",
            ],
            env,
        )

    def rm(argv: list[str], name: str) -> None:
        subprocess.run([*argv, "service", "rm", name], env=env, capture_output=True, timeout=60)

    def fresh(argv: list[str], name: str) -> None:
        rm(argv, name)
        create(argv, name)

    rows: list[tuple[str, Timing, Timing]] = []
    try:
        rows.append(
            (
                "service create --detach",
                median_of(runs, lambda: create(ours, ours_name), lambda: rm(ours, ours_name)),
                median_of(
                    runs,
                    lambda: create(docker, theirs_name),
                    lambda: rm(docker, theirs_name),
                ),
            )
        )
        pairs: list[tuple[str, Callable[[], list[str]], Callable[[], list[str]]]] = [
            ("service ls", lambda: [*ours, "service", "ls"], lambda: [*docker, "service", "ls"]),
            (
                "service ps",
                lambda: [*ours, "service", "ps", ours_name],
                lambda: [*docker, "service", "ps", theirs_name],
            ),
            (
                "service inspect",
                lambda: [*ours, "service", "inspect", ours_name],
                lambda: [*docker, "service", "inspect", theirs_name],
            ),
            (
                "service scale --detach",
                lambda: [*ours, "service", "scale", f"{ours_name}={flip('ours')}", "--detach"],
                lambda: [
                    *docker,
                    "service",
                    "scale",
                    "--detach",
                    f"{theirs_name}={flip('docker')}",
                ],
            ),
            (
                "service update --env-add --detach",
                lambda: [
                    *ours,
                    "service",
                    "update",
                    ours_name,
                    "--env-add",
                    f"N={flip('ours')}",
                    "--detach",
                ],
                lambda: [
                    *docker,
                    "service",
                    "update",
                    "--detach",
                    "--env-add",
                    f"N={flip('docker')}",
                    theirs_name,
                ],
            ),
            ("node ls", lambda: [*ours, "node", "ls"], lambda: [*docker, "node", "ls"]),
            (
                "node inspect",
                lambda: [*ours, "node", "inspect", node],
                lambda: [*docker, "node", "inspect", node],
            ),
            ("network ls", lambda: [*ours, "network", "ls"], lambda: [*docker, "network", "ls"]),
            (
                "node label (docker: node update --label-add)",
                lambda: [*ours, "node", "label", node, f"benchss={flip('ours')}"],
                lambda: [
                    *docker,
                    "node",
                    "update",
                    "--label-add",
                    f"benchss={flip('docker')}",
                    node,
                ],
            ),
        ]
        for label, ours_argv, docker_argv in pairs:
            rows.append(
                (
                    label,
                    median_of(runs, lambda argv=ours_argv: timed(argv(), env)),  # type: ignore[misc]
                    median_of(runs, lambda argv=docker_argv: timed(argv(), env)),  # type: ignore[misc]
                )
            )
        rows.append(
            (
                "service rm",
                median_of(
                    runs,
                    lambda: timed([*ours, "service", "rm", ours_name], env),
                    lambda: fresh(ours, ours_name),
                ),
                median_of(
                    runs,
                    lambda: timed([*docker, "service", "rm", theirs_name], env),
                    lambda: fresh(docker, theirs_name),
                ),
            )
        )
        net_ours, net_docker = f"{ours_name}-net", f"{theirs_name}-net"
        rows.append(
            (
                "network create (overlay)",
                median_of(
                    runs,
                    lambda: timed([*ours, "network", "create", net_ours], env),
                    lambda: drop_network(net_ours),
                ),
                median_of(
                    runs,
                    lambda: timed([*docker, "network", "create", "-d", "overlay", net_docker], env),
                    lambda: drop_network(net_docker),
                ),
            )
        )
    finally:
        rm(ours, ours_name)
        rm(docker, theirs_name)
        for network in (f"{ours_name}-net", f"{theirs_name}-net"):
            drop_network(network)
        subprocess.run(
            ["docker", "node", "update", "--label-rm", "benchss", node], capture_output=True
        )
    return rows


def drop_network(name: str) -> None:
    subprocess.run(["docker", "network", "rm", name], capture_output=True, timeout=60)


def _wait_gone(stack: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(
            [
                "docker",
                "network",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.stack.namespace={stack}",
            ],
            capture_output=True,
            text=True,
        )
        if not listed.stdout.strip():
            return
        time.sleep(0.3)


def bench_load_and_plan(folder: Path, runs: int = 50) -> tuple[float, float]:
    """Median in-process seconds to read+load+translate a 10-service file, and to plan it."""
    from sparkswarm.stacks.convert import translate
    from sparkswarm.stacks.plan import plan_services
    from sparkswarm.stacks.source import read_stack_source

    path = str(compose_file(folder, 10))
    load_times, plan_times = [], []
    for _ in range(runs):
        started = time.perf_counter()
        _, loaded = read_stack_source([path], {})
        desired = translate("bench", loaded.model)
        middle = time.perf_counter()
        # Planned against itself as deployed: every service compared field by field.
        current = {spec["Name"]: {"Spec": spec} for spec in desired.services.values()}
        plan_services(desired, current, {}, prune=False)
        plan_times.append(time.perf_counter() - middle)
        load_times.append(middle - started)
    return statistics.median(load_times), statistics.median(plan_times)


def print_rows(rows: list[tuple[str, Timing, Timing]]) -> None:
    """One line per command: medians (wall, and ours' CPU), ratio, and whether
    issue #17's goal is met (by the wall time)."""
    for label, ours, theirs in rows:
        ok = ours.wall <= GOAL_S
        print(
            f"{label:44} {ours.wall:8.3f} {ours.cpu:7.3f} {theirs.wall:9.3f} "
            f"{ours.wall / theirs.wall:6.1f}  {'ok' if ok else 'MISSED'}"
        )


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # runs the clean-up in `finally`


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--services", default="1,5,10")
    parser.add_argument("--only-stacks", action="store_true", help="skip the other engine commands")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'command':44} {'ours s':>8} {'cpu s':>7} {'docker s':>9} {'ratio':>6}  target")
        for count in (int(c) for c in options.services.split(",")):
            print_rows(bench_commands(folder, count, options.runs))
        if not options.only_stacks:
            print_rows(bench_engine_commands(options.runs))
        for program, samples in CPU_TIMES.items():
            print(
                f"CPU (user+sys) per command, median: {Path(program).name} "
                f"{statistics.median(samples):.3f} s over {len(samples)} runs"
            )
        load, plan = bench_load_and_plan(folder)
        total = load + plan
        print(
            f"load 10-service file {load * 1000:.1f} ms + plan {plan * 1000:.1f} ms = "
            f"{total * 1000:.1f} ms (target < {PLAN_TARGET_S * 1000:.0f} ms: "
            f"{'ok' if total < PLAN_TARGET_S else 'MISSED'})"
        )
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        print(
            f"(python start alone: {time.perf_counter() - started:.3f} s; load average "
            f"{os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
