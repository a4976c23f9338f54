"""What does reading the settings add to a process start? Target: under 0.03 s
over a bare ``python -c pass`` (every CLI command reads them first; with
pydantic-settings it was ~0.13 s).

Runs ``python -c 'import sparkswarm.config; sparkswarm.config.get_settings()'``
and ``python -c pass`` N times each, interleaved (default 11), in an empty
folder (no ``.env``), and prints both medians, their difference, the
imports of one run (python -X importtime) and whether pydantic,
pydantic_settings or dotenv were imported.

    .venv/bin/python bench/settings_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_SECONDS = 0.03
READ = "import sparkswarm.config; sparkswarm.config.get_settings()"
HEAVY = ("pydantic", "pydantic_settings", "dotenv")


def time_once(code: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True)
    return time.perf_counter() - started


def imports(cwd: str) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the settings read, slowest first."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(
        [sys.executable, "-c", READ], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        time_once(READ, cwd)
        bare, read = [], []
        for _ in range(args.runs):
            bare.append(time_once("pass", cwd))
            read.append(time_once(READ, cwd))
        rows = imports(cwd)
    extra = statistics.median(read) - statistics.median(bare)
    print(
        f"over {args.runs} runs: python -c pass median {statistics.median(bare):.3f} s, "
        f"reading settings median {statistics.median(read):.3f} s, "
        f"difference {extra:.3f} s (target < {TARGET_SECONDS} s)"
    )
    names = {module.strip() for _, module in rows}
    heavy = [name for name in HEAVY if name in names]
    print("heavy imports:", ", ".join(heavy) or "none")
    print("verdict:", "ok" if extra < TARGET_SECONDS and not heavy else "TOO SLOW")
    print("slowest imports (cumulative us):")
    for micros, module in rows[:8]:
        print(f"  {micros:>8}  {module}")


if __name__ == "__main__":
    main()
