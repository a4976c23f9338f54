"""Every ``bench/`` script runs at its smallest size, so none can rot unnoticed.

A benchmark prints figures and never fails on them; what this checks is that
each script still starts, drives the real engine, Redis and workers as it
says, exits 0 and prints figures. No timing is asserted. A new script in
``bench/`` must be given its smallest arguments in ``SMOKE`` (the test that
lists the folder fails until it is).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

# script -> (its smallest arguments, the marks it needs besides ``integration``)
SMOKE: dict[str, tuple[list[str], list[pytest.MarkDecorator]]] = {
    "cli_start.py": (["--runs", "2"], []),
    "engine_imports.py": (["--runs", "1"], []),
    "settings_start.py": (["--runs", "2"], []),
    "schema_speed.py": (["--runs", "5", "--starts", "1"], []),
    "stack_speed.py": (["--runs", "1", "--services", "1", "--only-stacks"], []),
    "queue_latency.py": (["--ops", "20", "--warmup", "5"], []),
    "slack_ack.py": (["--rounds", "1", "--burst", "5", "--scales", "1"], []),
    "spark_submit.py": (["--rounds", "1", "--partitions", "2"], [pytest.mark.spark]),
    "spark_autoscale.py": (["--runs", "1", "--cooldown", "3"], [pytest.mark.spark]),
    "spark_sql.py": (["--runs", "2", "--warmup", "1", "--rows", "10"], [pytest.mark.spark]),
    "lab_up.py": (["--runs", "1"], [pytest.mark.multinode]),
    "swarm_watch.py": (["--idle", "5", "--incidents", "1"], []),
}

pytestmark = pytest.mark.integration

# A figure: a number with a unit or a ratio, as every bench prints them.
FIGURE = re.compile(r"\d+(\.\d+)?\s*(s|ms|x|%)\b")


def test_every_bench_script_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCH.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(SMOKE), (
        f"bench/ scripts without smoke arguments: {sorted(scripts - set(SMOKE))}; "
        f"smoke arguments for missing scripts: {sorted(set(SMOKE) - scripts)}"
    )


# Benches that take ``--stack NAME`` run on the session's shared stack (the
# fixture named here) instead of deploying one: the bench itself runs end to
# end; deploying is what the stack tests and spark_autoscale.py exercise.
ON_SHARED_STACK = {"spark_submit.py": "spark_stack", "spark_sql.py": "connect_stack"}


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(name, marks=marks)
        for name, (_, marks) in SMOKE.items()
        if name not in ON_SHARED_STACK
    ],
)
def test_bench_runs_at_its_smallest_size(script: str, gw: object, redis_url: str) -> None:
    run_bench(script)


@pytest.mark.spark
def test_spark_submit_bench_runs_on_the_shared_stack(spark_stack: str, redis_url: str) -> None:
    run_bench("spark_submit.py", "--stack", spark_stack)


@pytest.mark.spark
def test_spark_sql_bench_runs_on_the_shared_connect_stack(
    connect_stack: str, redis_url: str
) -> None:
    run_bench("spark_sql.py", "--stack", connect_stack)


def run_bench(script: str, *extra: str) -> None:
    """``bench/SCRIPT`` with its smoke arguments (and ``extra``): exits 0, prints a figure."""
    args, _ = SMOKE[script]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"bench/{script} exited {done.returncode}:\n{output[-4000:]}"
    assert FIGURE.search(done.stdout), f"bench/{script} printed no figure:\n{done.stdout[-2000:]}"
