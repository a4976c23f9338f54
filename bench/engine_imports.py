"""What engine commands load and how long they take to start and answer.

    .venv/bin/python bench/engine_imports.py [--runs 11]

For each command (reads against the engine, a refusal, a removal of
nothing): the median wall time of ``--runs`` runs, the median CPU time
(user + system: what the command itself costs, steadier than the wall time
on a busy machine), the number of modules
loaded and the heavy packages among them (pydantic, rich, docker-py, YAML,
...). Issue #17's goal: at most 0.3 s each. Bytecode is written and used
(``PYTHONDONTWRITEBYTECODE`` is dropped: with it set, every run compiles all
of sparkswarm again, ~40 ms, which an installed package never does).

This is a benchmark, not a test: it prints figures and never fails. The
import guards are ``tests/unit/test_engine_imports.py`` and
``tests/integration/test_cli_imports.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

GOAL_S = 0.3
HEAVY = {
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "annotated_types",
    "rich",
    "yaml",
    "jsonschema",
    "docker",
    "requests",
    "paramiko",
    "celery",
    "redis",
}
COMMANDS = [
    ["stack", "ls"],
    ["service", "ls"],
    ["node", "ls"],
    ["network", "ls"],
    ["service", "ps", "benchei-missing"],
    ["service", "create", "benchei-x", "nginx:1", "--replicas", "-1"],
    ["service", "rm", "benchei-missing"],
]
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["sparkswarm", *json.loads(sys.argv[1])]
from sparkswarm.cli.main import run
run()
"""


def run_once(words: list[str], env: dict[str, str]) -> tuple[float, float, list[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(words)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    return elapsed, cpu, json.loads(lines[-1].removeprefix("MODULES ")) if lines else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    drop = ("SPARKSWARM_REDIS_URL", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in drop}
    print(f"{'command':<52} {'median s':>8} {'cpu s':>6} {'modules':>7}  heavy")
    slowest = (0.0, "")
    for words in COMMANDS:
        run_once(words, env)  # warm-up: writes the bytecode
        times, cpus = [], []
        modules: list[str] = []
        for _ in range(args.runs):
            elapsed, cpu, modules = run_once(words, env)
            times.append(elapsed)
            cpus.append(cpu)
        median = statistics.median(times)
        heavy = sorted({name.split(".")[0] for name in modules} & HEAVY)
        mark = "" if median <= GOAL_S else f"  (over the {GOAL_S} s goal)"
        shown = " ".join(words)
        cpu_s = statistics.median(cpus)
        print(f"{shown:<52} {median:>8.3f} {cpu_s:>6.3f} {len(modules):>7}  {heavy or '-'}{mark}")
        slowest = max(slowest, (median, shown))
    verdict = "within" if slowest[0] <= GOAL_S else "over"
    print(f"slowest: {slowest[1]}, {slowest[0]:.3f} s ({verdict} the {GOAL_S} s goal)")


if __name__ == "__main__":
    main()
