"""The swarm watcher's cost and speed.

Starts its own redis-server and runs the real watcher (``SwarmWatcher``, the
settings' defaults unless given) in a thread of this process, on the real
engine:

1. idle cost: for ``--idle`` seconds with nothing of ours changing, the CPU
   time this process spent (the watcher is all it runs) and the Engine API
   calls the watcher made, per minute. (The engine is shared: other services
   living and dying on it are work the watcher really does.)
2. time from a container's exit to its incident: ``--incidents`` times, a
   service whose container exits at once (busybox ``exit 3``, restart
   condition none, ``alert_flap_failures`` 1 so the first exit is the
   incident); the time from the failed task's timestamp (the engine's
   record of the exit) to the incident's ``opened_at``. p50 and max.

    .venv/bin/python bench/swarm_watch.py [--idle 60] [--incidents 10]

    # idle cost on a swarm nobody else uses: a one-node lab
    flock /tmp/ssw-multinode.lock sh -c 'S=.venv/bin/sparkswarm;
      $S lab up -m 1 -w 0 -n benchw --no-images && eval "$($S lab env -n benchw)" &&
      .venv/bin/python bench/swarm_watch.py --incidents 0; $S lab down -n benchw'
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class CountingGateway:
    """Counts the Engine API calls of a gateway (``_call`` and event polls)."""

    def __init__(self, gw: Any) -> None:
        self.calls = 0
        real_call, real_events = gw._call, gw.events

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real_call(*args, **kwargs)

        def events(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real_events(*args, **kwargs)

        gw._call = call
        gw.events = events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--incidents", type=int, default=10)
    parser.add_argument("--interval", type=float, default=None, help="swarm_watch_interval")
    args = parser.parse_args()

    from sparkswarm.config import Settings
    from sparkswarm.errors import NotFound
    from sparkswarm.gateway import Gateway
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.incidents import incident_store
    from sparkswarm.workers.swarm_watch import SwarmWatcher
    from tests.support.engine import EngineGateway
    from tests.support.images import build_busybox_image
    from tests.support.queue_harness import RedisServer

    folder = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    server = RedisServer(folder)
    server.start()
    extra: dict[str, Any] = {"alert_flap_failures": 1}
    if args.interval:
        extra["swarm_watch_interval"] = args.interval
    settings = Settings(redis_url=server.url, **extra)
    # SPARKSWARM_MANAGERS picks the swarm watched (say a quiet `sparkswarm lab`);
    # the crashing services are made on this machine's engine.
    managers = [m for m in os.environ.get("SPARKSWARM_MANAGERS", "").split(",") if m]
    gw = Gateway(managers, timeout=30)
    counter = CountingGateway(gw)
    watcher = SwarmWatcher(QueueClient(settings), gw)
    store = incident_store(QueueClient(settings))
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    helper = EngineGateway()
    image = build_busybox_image(helper, "sparkswarm-bench/crash:1", cmd="exit 3")
    prefix = "benchwatch" + secrets.token_hex(3)
    created: list[str] = []
    try:
        thread.start()
        time.sleep(3)  # the first look (reads nodes and services) is not idle
        calls, cpu, wall = counter.calls, time.process_time(), time.monotonic()
        time.sleep(args.idle)
        minutes = (time.monotonic() - wall) / 60
        print(
            f"idle ({args.idle:.0f} s, interval {watcher.interval:g} s): "
            f"{(counter.calls - calls) / minutes:.1f} Engine API calls/min, "
            f"CPU {(time.process_time() - cpu) / minutes:.3f} s/min "
            f"({(time.process_time() - cpu) / (minutes * 60) * 100:.2f} % of a core)"
        )
        delays: list[float] = []
        if managers and args.incidents:
            print("incidents are measured on this machine's engine: unset SPARKSWARM_MANAGERS")
            return
        for i in range(args.incidents):
            name = f"{prefix}-{i}"
            created.append(name)
            service_id = helper.create_service(
                {
                    "Name": name,
                    "TaskTemplate": {
                        "ContainerSpec": {"Image": image},
                        "RestartPolicy": {"Condition": "none"},
                    },
                    "Mode": {"Replicated": {"Replicas": 1}},
                }
            )
            deadline = time.time() + 60
            incident = None
            while time.time() < deadline and incident is None:
                time.sleep(0.05)
                incident = store.get(f"flapping:{name}")
            assert incident is not None, f"no incident for {name} within 60 s"
            from sparkswarm.health_facts import task_fact

            failed = [
                task_fact(t)
                for t in helper.tasks({"service": service_id})
                if t["Status"]["State"] == "failed"
            ]
            exited = min(t.at for t in failed)
            delays.append(incident.opened_at - exited)
            helper.remove_service(name)
        if not delays:
            return
        print(
            f"container exit -> incident over {len(delays)}: "
            f"p50 {statistics.median(delays):.2f} s, max {max(delays):.2f} s, "
            f"min {min(delays):.2f} s"
        )
    finally:
        stop.set()
        thread.join(30)
        for name in created:
            with contextlib.suppress(NotFound):  # removed already, as a rule
                helper.remove_service(name)
        server.stop()


if __name__ == "__main__":
    main()
