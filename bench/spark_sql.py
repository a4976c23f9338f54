"""A warm ``spark sql`` end to end through the queue: p50/p99 of ``SELECT count(*)``.

Deploys a spark stack with its Spark Connect server published on a free host
port (``spark.up`` under a random name, with its own auth and token secrets;
removed at the end, unless ``--stack`` names an existing one), starts a
queue of its own (a redis-server and one ``sparkswarm worker``, as the bot's
slash command uses it), makes a small table in the worker's session
(``CREATE TEMP VIEW small AS SELECT id FROM range(ROWS)``), warms up, then
times ``--runs`` statements from ``submit`` (the record, the message) to the
finished run record, the way ``/spark sql SELECT count(*) FROM small``
travels after the bot's ack. Prints each, then p50/p99 (goal: under 2 s warm).

    .venv/bin/python bench/spark_sql.py [--runs 20] [--rows 1000] [--stack NAME]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the gateway, the queue harness


def run(qc: Any, stack: str, statement: str) -> tuple[float, Any]:
    """Seconds from submit to the finished record, and the record."""
    started = time.monotonic()
    sub = qc.submit("spark.sql", {"stack": stack, "statement": statement}, requester="bench")
    record = qc.wait(sub.run_id, timeout=300)
    took = time.monotonic() - started
    if record.state != "succeeded":
        raise SystemExit(f"{statement!r}: {record.state}: {record.error}")
    return took, record


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--stack", help="An existing spark stack with connect (default: deploy).")
    args = parser.parse_args()
    if not 1 <= args.runs <= 1000 or not 1 <= args.rows <= 1_000_000:
        parser.error("--runs is between 1 and 1000, --rows between 1 and 1000000")

    from sparkswarm.operations import run_operation
    from sparkswarm.spark.cluster import up_params
    from tests.support.engine import EngineGateway, remove_prefixed
    from tests.support.queue_harness import free_port, queue_lab

    gw = EngineGateway()
    prefix = f"bench{secrets.token_hex(2)}"
    stack = args.stack or f"{prefix}-sql"
    try:
        if args.stack is None:
            print(f"deploying {stack} (1 worker, Connect published) ...", flush=True)
            sets = [f"auth_secret={prefix}-auth", f"connect_token_secret={prefix}-token"]
            params = up_params(stack, workers=1, connect_port=free_port(), sets=sets)
            run_operation(gw, "spark.up", params, lambda *_, **__: None)
        with tempfile.TemporaryDirectory() as folder, queue_lab(Path(folder)) as lab:
            lab.start_worker(concurrency=1)
            qc = lab.client()
            first, record = run(
                qc, stack, f"CREATE OR REPLACE TEMP VIEW small AS SELECT id FROM range({args.rows})"
            )
            print(f"first statement (new session, view of {args.rows} rows): {first:.2f} s")
            statement = "SELECT count(*) FROM small"
            for _ in range(args.warmup):
                run(qc, stack, statement)
            times = []
            for number in range(1, args.runs + 1):
                took, record = run(qc, stack, statement)
                assert record.result["rows"] == [[str(args.rows)]], record.result
                assert record.result["warm"], "the worker made a new session"
                times.append(took)
                print(f"run {number:3d}: {took:.3f} s", flush=True)
    finally:
        if args.stack is None:
            remove_prefixed(gw, prefix)
    print(
        f"warm {statement!r} end to end through the queue, {len(times)} runs: "
        f"p50 {percentile(times, 0.5):.3f} s, p99 {percentile(times, 0.99):.3f} s, "
        f"mean {statistics.mean(times):.3f} s (goal < 2 s)"
    )


if __name__ == "__main__":
    main()
