"""How long do ``sparkswarm lab up`` (to all nodes Ready) and ``lab down`` take?

Times the real command, as root, for a lab of 1 manager + 2 workers and one
of 3 managers + 2 workers, in a temporary lab folder, without images
(``--no-images``: the nodes and the swarm alone) and, with ``--images``, with
the default images too (the Spark image is ~1 GB per node). ``lab up``
returns only once every node is Ready and the managers reachable, so its
wall time is the figure. Prints one line per run and a summary.

    sudo .venv/bin/python bench/lab_up.py [--runs 2] [--images]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = ((1, 2), (3, 2))


def sparkswarm(*args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    command = [str(Path(sys.executable).with_name("sparkswarm")), *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`sparkswarm {' '.join(args)}` failed: {done.stderr.strip()}")
    return elapsed, done


def one_run(managers: int, workers: int, images: bool) -> tuple[float, float]:
    base = tempfile.mkdtemp(prefix="sswlab-bench-")
    env = {**os.environ, "SPARKSWARM_LAB_DIR": base}
    name = f"bench{managers}{workers}"
    try:
        up_args = ["lab", "up", "--name", name, "--managers", str(managers)]
        up_args += ["--workers", str(workers), "--json"]
        if not images:
            up_args.append("--no-images")
        up, done = sparkswarm(*up_args, env=env)
        status = json.loads(done.stdout)
        ready = [n for n in status["nodes"] if n["status"] == "ready"]
        assert len(ready) == managers + workers, status
        down, _ = sparkswarm("lab", "down", "--name", name, env=env)
        return up, down
    finally:
        subprocess.run(
            [str(Path(sys.executable).with_name("sparkswarm")), "lab", "down", "--name", name],
            env=env,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="Runs per lab shape.")
    parser.add_argument("--images", action="store_true", help="Copy the default images too.")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("a lab needs root")
    summary = []
    for managers, workers in SHAPES:
        ups, downs = [], []
        for run in range(1, args.runs + 1):
            up, down = one_run(managers, workers, args.images)
            ups.append(up)
            downs.append(down)
            print(f"{managers}+{workers} run {run}: up {up:6.1f} s  down {down:5.1f} s", flush=True)
        summary.append((managers, workers, statistics.median(ups), statistics.median(downs)))
    what = "with the default images" if args.images else "no images"
    print(f"\nmedian of {args.runs} run(s), {what}:")
    for managers, workers, up, down in summary:
        print(f"  lab up {managers}+{workers} to all Ready: {up:6.1f} s   lab down: {down:5.1f} s")


if __name__ == "__main__":
    main()
