"""Workers that follow demand: how many worker replicas a Spark stack should run (pure).

The decision is made from the master's own state (``spark/status.py``):
the applications waiting for executors and the cores they ask, against the
free cores of the alive workers.

- Up: apps wait for more cores than are free -> enough workers for them,
  never above the maximum; not while workers asked for earlier are still
  registering (they bring cores the decision cannot see yet).
- Down: when nothing waits and every alive worker has run no executor for
  the cool-down -> the minimum. Only then: a swarm service scaled down
  removes tasks of the orchestrator's choosing, so "never remove a worker
  with a running executor" holds only when no worker runs one.
- Never below the minimum nor above the maximum (a service outside the
  range is brought back into it, down only under the rule above).

The caller keeps, per worker, since when it has run no executor
(:func:`idle_since`), so that a cool-down survives between passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sparkswarm.errors import InvalidRequest


@dataclass(frozen=True)
class ScalingPolicy:
    """Between ``minimum`` and ``maximum`` workers; down after ``cooldown`` idle seconds."""

    minimum: int
    maximum: int
    cooldown: float = 60.0

    def __post_init__(self) -> None:
        if self.minimum < 0 or self.maximum < max(self.minimum, 1):
            raise InvalidRequest(
                f"autoscaling needs 0 <= min <= max and max >= 1 (min {self.minimum}, "
                f"max {self.maximum})"
            )
        if not self.cooldown > 0:
            raise InvalidRequest("the autoscaling cool-down must be above 0 seconds")


@dataclass(frozen=True)
class WorkerLoad:
    """One alive worker as the master sees it."""

    id: str
    cores: int
    cores_used: int


@dataclass(frozen=True)
class ScalingFacts:
    """What the decision looks at, gathered by the caller."""

    replicas: int
    """The worker service's desired replicas now."""
    workers: Sequence[WorkerLoad]
    """The alive workers."""
    waiting: Sequence[int]
    """Cores each waiting application asks for."""
    idle_since: Mapping[str, float]
    """Per alive worker, since when it runs no executor (absent: busy)."""
    now: float


@dataclass(frozen=True)
class ScalingDecision:
    """Run ``replicas`` workers (the same number: no change), and why."""

    replicas: int
    reason: str

    def changes(self, current: int) -> bool:
        return self.replicas != current


def idle_since(
    before: Mapping[str, float], workers: Sequence[WorkerLoad], now: float
) -> dict[str, float]:
    """The idle clocks after a look at ``workers``: a busy worker's is gone,
    an idle one keeps its start (or starts now); workers gone are dropped."""
    return {w.id: before.get(w.id, now) for w in workers if w.cores_used == 0}


def decide_scaling(facts: ScalingFacts, policy: ScalingPolicy) -> ScalingDecision:
    """How many workers the stack should run now, with the reason in words."""
    current = facts.replicas
    if current < policy.minimum:
        return ScalingDecision(policy.minimum, f"below the minimum of {policy.minimum} workers")
    free = sum(max(w.cores - w.cores_used, 0) for w in facts.workers)
    need = sum(facts.waiting)
    apps = f"{len(facts.waiting)} app{'' if len(facts.waiting) == 1 else 's'}"
    if facts.waiting and need > free:
        if len(facts.workers) < current:
            registering = current - len(facts.workers)
            return ScalingDecision(
                current, f"{apps} waiting; {registering} worker(s) still registering"
            )
        if current >= policy.maximum:
            return ScalingDecision(
                current, f"{apps} waiting for {need} core(s); at the maximum of {policy.maximum}"
            )
        per_worker = max((w.cores for w in facts.workers), default=1) or 1
        target = min(policy.maximum, current + math.ceil((need - free) / per_worker))
        cores = f"{need} core{'' if need == 1 else 's'}"
        return ScalingDecision(target, f"{apps} waiting for {cores}, {free} free")
    if facts.waiting or current <= policy.minimum:
        return ScalingDecision(current, "no change")
    busy = [w.id for w in facts.workers if w.id not in facts.idle_since]
    if busy or len(facts.workers) < current:
        return ScalingDecision(current, f"{len(busy)} worker(s) busy or registering")
    idle_for = min((facts.now - facts.idle_since[w.id] for w in facts.workers), default=0.0)
    if idle_for < policy.cooldown:
        return ScalingDecision(current, f"idle for {idle_for:.0f} of {policy.cooldown:g} s")
    return ScalingDecision(
        policy.minimum,
        f"{len(facts.workers)} workers idle for {idle_for:.0f} s (cool-down {policy.cooldown:g} s)",
    )
