"""Enqueue -> task start latency: sparkswarm operations vs bare Celery tasks.

Runs one worker (``sparkswarm worker``) and, in the same run on the same
broker, alternates:

- a bare Celery task (``sparkswarm.bench.bare_noop``): latency from
  ``send_task`` to the first line of the task body;
- a sparkswarm operation that touches nothing (``queue.noop``): latency from
  the ``submit`` call (record, event, publish) to the first line of the
  operation (after the worker took the heartbeat and target lock and marked
  the run running).

One message is in flight at a time, so the figures are latency, not queueing.
Prints p50/p99 for both and their ratio (target: within 1.1x).

    .venv/bin/python bench/queue_latency.py [--ops 1000] [--redis-url URL]

Without ``--redis-url`` it starts its own redis-server on a free loopback port.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            folder,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=1000, help="measured ops of each kind")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="ssw-bench-")
    redis_proc = None
    url = args.redis_url
    if url is None:
        if not shutil.which("redis-server"):
            print("no redis-server on PATH; pass --redis-url", file=sys.stderr)
            return 2
        redis_proc, url = start_redis(folder)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SPARKSWARM_REDIS_URL": url, "SPARKSWARM_QUEUE": queue}
    os.environ.update({"SPARKSWARM_REDIS_URL": url, "SPARKSWARM_QUEUE": queue})
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/sparkswarm"),
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "warning",
        ],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return measure(args.ops, args.warmup)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def measure(ops: int, warmup: int) -> int:
    from sparkswarm.workers.app import app
    from sparkswarm.workers.client import QueueClient

    qc = QueueClient()
    marks = f"bench:marks:{uuid.uuid4().hex[:8]}"
    # Wait for the worker to serve.
    qc.redis.delete(marks)
    app.send_task("sparkswarm.bench.bare_noop", args=[marks])
    if qc.redis.blpop([marks], timeout=60) is None:
        print("the worker did not start", file=sys.stderr)
        return 1

    def bare() -> float:
        sent = time.time()
        app.send_task("sparkswarm.bench.bare_noop", args=[marks])
        _key, started = qc.redis.blpop([marks], timeout=30)
        return float(started) - sent

    def operation() -> float:
        sent = time.time()
        submission = qc.submit("queue.noop", {}, requester="bench", source="api")
        for event in qc.follow(submission.run_id, after=submission.stream_id, timeout=30):
            if event.type == "operation.succeeded":
                return float(event.result["ran_at"]) - sent  # type: ignore[union-attr]
        record = qc.get(submission.run_id)
        return float((record.result or {})["ran_at"]) - sent

    for _ in range(warmup):
        bare()
        operation()
    bare_ms: list[float] = []
    op_ms: list[float] = []
    for _ in range(ops):
        bare_ms.append(bare() * 1000)
        op_ms.append(operation() * 1000)

    rows = [("bare celery task", bare_ms), ("sparkswarm op", op_ms)]
    print(f"enqueue -> task start latency, {ops} ops each, one in flight, same broker and worker")
    print(f"{'':18} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for label, values in rows:
        print(
            f"{label:18} {percentile(values, 50):8.3f} {percentile(values, 99):8.3f} "
            f"{statistics.fmean(values):8.3f}"
        )
    p50 = percentile(op_ms, 50) / percentile(bare_ms, 50)
    p99 = percentile(op_ms, 99) / percentile(bare_ms, 99)
    print(f"{'ratio op/bare':18} {p50:7.2f}x {p99:7.2f}x   (target <= 1.1x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
