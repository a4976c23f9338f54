"""What checking a compose file against the schema costs a ``stack deploy``/``diff``.

    .venv/bin/python bench/schema_speed.py [--runs 200] [--starts 7]

Prints, for ``compose_schema.validate`` (``jsonschema.Draft4Validator`` with our
formats, imported when a file is validated):

- start: median wall time of a fresh ``python -c`` that imports
  ``compose_schema``, compiles the schema and validates one small file (and
  the least of them: the machine may be shared), and the import time
  (``-X importtime``) of ``jsonschema``;
- first: building the validator and the first check of the 10-service file
  (both compile the schema then);
- validate: the median of ``--runs`` validations of the bench's 10-service file.

This is a benchmark, not a test: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from stack_speed import compose_file  # bench/ is sys.path[0] when run as a script

VALIDATE = (
    "from sparkswarm.stacks import compose_schema as c\n"
    "c.validate({'services': {'w': {'image': 'x'}}}, filename='f')\n"
)


def start(script: str, starts: int, package: str) -> tuple[float, float]:
    """Median wall seconds of a fresh process running ``script``; import seconds of ``package``."""
    walls = []
    for _ in range(starts):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        walls.append(time.perf_counter() - began)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    imported = 0.0
    for line in done.stderr.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and fields[2].strip() == package:
            imported = int(fields[1]) / 1e6
    return statistics.median(walls), min(walls), imported


def per_call(build: Callable[[], Any], config: Any, runs: int) -> tuple[float, float]:
    """Seconds to build and check ``config`` once (``jsonschema`` compiles lazily,
    on the first check), then the median seconds of ``runs`` checks."""
    began = time.perf_counter()
    validator = build()
    list(validator.iter_errors(config))
    first = time.perf_counter() - began
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        list(validator.iter_errors(config))
        times.append(time.perf_counter() - began)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    config = yaml.safe_load(compose_file(Path(tempfile.mkdtemp()), 10).read_text())

    from sparkswarm.stacks import compose_schema

    rows = [("jsonschema", VALIDATE, "jsonschema", compose_schema._validator)]

    print(
        f"{'validator':<11} {'start median/least':>19} {'import':>8} {'first':>8} "
        f"{'validate 10 svc':>16}"
    )
    for label, script, package, build in rows:
        wall, least, imported = start(script, args.starts, package)
        first, median = per_call(build, config, args.runs)
        print(
            f"{label:<11} {wall * 1000:7.1f}ms /{least * 1000:7.1f}ms {imported * 1000:6.1f}ms "
            f"{first * 1000:6.2f}ms {median * 1e6:13.0f} us"
        )


if __name__ == "__main__":
    main()
