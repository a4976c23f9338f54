"""Workers that follow demand: the watcher's side of ``spark/autoscale.py``.

A spark stack deployed with ``--set autoscale_max=N`` (N > 0) labels its
worker service with the range and the cool-down. On each of its passes the
active Spark watcher calls :meth:`Autoscaler.scale_once`, which, at most
every ``spark_autoscale_interval`` seconds per stack, reads the master's
state (alive workers, their free cores), the stack's jobs waiting for cores
(SUBMITTED records: the master's JSON gives the cores an application was
granted, not the cores it asks for) and decides. A change is a
``service.scale`` run submitted to the queue like any other (requester
``autoscaler``), its reason written in the run's notes ("2 apps waiting for
2 cores, 0 free"): `runs ls` lists it, `runs show` gives the reason. No
second scaling of a stack is asked while its previous run has not ended.

The idle clocks live in this object: a watcher that takes over starts them
again, which only delays a scale-down.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import SparkswarmError
from sparkswarm.spark.autoscale import (
    ScalingFacts,
    ScalingPolicy,
    WorkerLoad,
    decide_scaling,
    idle_since,
)

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.spark_jobs import JobStore

log = logging.getLogger(__name__)
MIN_LABEL = "org.sparkswarm.spark.autoscale-min"
MAX_LABEL = "org.sparkswarm.spark.autoscale-max"
COOLDOWN_LABEL = "org.sparkswarm.spark.autoscale-cooldown"
QUEUE_LABEL = "org.sparkswarm.spark.autoscale-queue"
REQUESTER = "autoscaler"


def policy_of(labels: dict[str, str], queue: str) -> ScalingPolicy | None:
    """The worker service's autoscaling policy for the platform on ``queue``:
    None when off (max 0 or absent) or when the stack names another
    platform's queue (a stack deployed before the label existed names none).
    InvalidRequest for a range that makes no sense."""
    maximum = int(labels.get(MAX_LABEL) or 0)
    owner = labels.get(QUEUE_LABEL)
    if maximum <= 0 or (owner and owner != queue):
        return None
    return ScalingPolicy(
        minimum=int(labels.get(MIN_LABEL) or 1),
        maximum=maximum,
        cooldown=float(labels.get(COOLDOWN_LABEL) or 60),
    )


class Autoscaler:
    """Scales the workers of every autoscaled spark stack of one engine."""

    def __init__(self, qc: QueueClient, gw: Gateway, store: JobStore, interval: float) -> None:
        self.qc = qc
        self.gw = gw
        self.store = store
        self.interval = interval
        self.clocks: dict[str, dict[str, float]] = {}
        self.last_look: dict[str, float] = {}
        self.pending: dict[str, str] = {}
        # The first look comes one interval after start, as every later one.
        self.last_scan = time.time()

    def scale_once(self, now: float | None = None) -> list[str]:
        """Look at each autoscaled stack due for a look; the runs submitted."""
        now = time.time() if now is None else now
        submitted: list[str] = []
        if now - self.last_scan < self.interval:
            return submitted
        self.last_scan = now
        try:
            services = self.gw.services(filters={"label": MAX_LABEL})
        except SparkswarmError as exc:
            log.info("autoscaler: no services: %s", exc)
            return submitted
        for service in services:
            labels = service["Spec"].get("Labels") or {}
            stack = labels.get("com.docker.stack.namespace")
            if not stack or now - self.last_look.get(stack, 0.0) < self.interval:
                continue
            self.last_look[stack] = now
            try:
                policy = policy_of(labels, self.qc.settings.queue)
                run_id = self._scale(stack, service, policy, now) if policy else None
            except SparkswarmError as exc:
                log.warning("autoscaler: %s not scaled: %s", stack, exc)
                continue
            if run_id:
                submitted.append(run_id)
        return submitted

    def _scale(
        self, stack: str, service: dict[str, Any], policy: ScalingPolicy, now: float
    ) -> str | None:
        from sparkswarm.spark.status import spark_status
        from sparkswarm.states import TERMINAL_STATES

        previous = self.pending.get(stack)
        if previous and self.qc.get(previous).state not in TERMINAL_STATES:
            return None  # the last scaling is still under way
        spec = service["Spec"]
        replicas = int((spec.get("Mode", {}).get("Replicated") or {}).get("Replicas", 0))
        status = spark_status(self.gw, stack=stack)
        loads = [
            WorkerLoad(w.id, w.cores, w.cores_used) for w in status.workers if w.state == "ALIVE"
        ]
        self.clocks[stack] = idle_since(self.clocks.get(stack, {}), loads, now)
        waiting = [
            r.ask.cores
            for r in self.store.list(state="SUBMITTED", stack=stack, limit=200)
            if r.started_at is None
        ]
        facts = ScalingFacts(replicas, loads, waiting, self.clocks[stack], now)
        decision = decide_scaling(facts, policy)
        if not decision.changes(replicas):
            return None
        name = str(spec["Name"])
        sub = self.qc.submit(
            "service.scale",
            {"replicas": {name: decision.replicas}},
            requester=REQUESTER,
            source="api",
        )
        reason = f"autoscale {name} {replicas} -> {decision.replicas}: {decision.reason}"
        self.qc.store.note(sub.run_id, reason)
        log.warning("autoscaler: %s (run %s)", reason, sub.run_id)
        self.pending[stack] = sub.run_id
        return sub.run_id
