"""How fast does ``sparkswarm --help`` start? Target: under 0.3 s.

Runs the installed console script N times (default 20) after one warm-up
and prints min / median / p90 wall-clock seconds, plus the slowest imports
of one run (python -X importtime) so a regression is easy to locate.

    .venv/bin/python bench/cli_start.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def cli_path() -> str:
    return str(Path(sys.executable).with_name("sparkswarm"))


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def slowest_imports(count: int = 8) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "from sparkswarm.cli.main import app"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    argv = [cli_path(), "--help"]
    time_once(argv)
    samples = sorted(time_once(argv) for _ in range(args.runs))
    median = statistics.median(samples)
    p90 = samples[int(0.9 * (len(samples) - 1))]
    print(
        f"sparkswarm --help over {args.runs} runs: min {samples[0]:.3f} s, "
        f"median {median:.3f} s, p90 {p90:.3f} s (target < {TARGET_SECONDS} s)"
    )
    print("verdict:", "ok" if median < TARGET_SECONDS else "TOO SLOW")
    print("slowest imports (cumulative us):")
    for micros, module in slowest_imports():
        print(f"  {micros:>8}  {module}")


if __name__ == "__main__":
    main()
