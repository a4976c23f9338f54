"""Judging the swarm's health: facts in, observations out (pure: no engine, no Redis).

An :class:`Observation` says that a condition (``kind`` on ``object``) holds
now (``active``) or no longer does. The incident store
(``workers/incidents.py``) turns a stream of them into incidents: opened,
updated when ``detail`` changes, resolved, reopened within a cool-down.
:func:`judge` is called with the keys of the incidents open now, so a
condition that cleared (or whose object is gone) is reported inactive.

The kinds:

- ``node_down``: a node ``down`` (or ``disconnected``); lists the services whose tasks it held
  (a storm is this one incident, not one per task or service);
- ``manager_lost``: a manager unreachable, with the quorum margin left;
- ``flapping``: ``flap_failures`` task failures of a service within
  ``flap_window`` seconds, with the last error and exit code; it clears once
  no task failed for ``flap_quiet`` seconds and the service runs what it wants;
- ``update``: a rolling update paused or rolled back, with the engine's
  message; it clears when the service is updated again (or removed);
- ``below_desired``: fewer tasks running than desired for longer than
  ``below_grace`` seconds (not reported for services a down node hit, whose
  incident lists them, nor for flapping ones: one incident per cause);
- ``spark_job``: a Spark job that failed, with the reason and exit code; a
  one-off, so it stays open for ``job_window`` seconds, then resolves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sparkswarm.health_facts import NodeFact, NodeStateChange, ServiceFact, SwarmFacts, TaskFact

# "unknown" is what a newly elected leader says of every node until it hears
# from it (a second or two): not news. A node that is gone turns "down".
DOWN_STATES = frozenset({"down", "disconnected"})
KINDS = ("node_down", "manager_lost", "flapping", "update", "below_desired", "spark_job")
FAILED_STATES = frozenset({"failed", "rejected"})
UPDATE_TROUBLE = {
    "paused": "paused",
    "rollback_started": "rolling back",
    "rollback_paused": "rollback paused",
    "rollback_completed": "rolled back",
}


@dataclass(frozen=True)
class Rules:
    """Thresholds of the judge (settings ``SPARKSWARM_ALERT_*``)."""

    flap_failures: int = 3
    flap_window: float = 300.0
    flap_quiet: float = 30.0
    below_grace: float = 60.0
    job_window: float = 3600.0


@dataclass(frozen=True)
class Observation:
    """A condition's state now; ``detail`` is what an incident shows (JSON-able)."""

    kind: str
    object: str
    active: bool
    title: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The incident key: ``kind:object``."""
        return f"{self.kind}:{self.object}"


def split_key(key: str) -> tuple[str, str]:
    """``kind:object`` as (kind, object)."""
    kind, _, obj = key.partition(":")
    return kind, obj


def node_names(nodes: Iterable[NodeFact]) -> dict[str, str]:
    """Node id -> the name incidents use: its hostname, unless two nodes share it."""
    nodes = list(nodes)
    counts: dict[str, int] = defaultdict(int)
    for node in nodes:
        counts[node.hostname] += 1
    return {
        n.id: n.hostname if n.hostname and counts[n.hostname] == 1 else f"{n.hostname}-{n.id[:6]}"
        for n in nodes
    }


def replay_node_changes(
    changes: Iterable[NodeStateChange], names: dict[str, str]
) -> list[Observation]:
    """Node changes from ``/events`` in order, as node_down observations.

    A node that went down and came back while nobody looked (a watcher
    restart) still opens and resolves its incident.
    """
    seen: list[Observation] = []
    for change in changes:
        name = names.get(change.node_id) or change.hostname or change.node_id[:12]
        down = change.state in DOWN_STATES
        title = f"node {name} is {change.state}" if down else ""
        seen.append(Observation("node_down", name, down, title, {"state": change.state}))
    return seen


def judge(
    facts: SwarmFacts,
    rules: Rules,
    open_keys: Iterable[str],
    below_since: dict[str, float],
) -> tuple[list[Observation], dict[str, float]]:
    """Every condition that holds in ``facts``, and the open ones that stopped.

    ``below_since`` maps a service id to when it was first seen below its
    desired replicas (the caller keeps it between looks); the updated map is
    returned with the observations.
    """
    names = node_names(facts.nodes)
    services = {s.id: s for s in facts.services}
    active: list[Observation] = []
    hit: set[str] = set()
    for observation in nodes_down(facts, names, services):
        active.append(observation)
        hit.update(observation.detail["services"])
    active.extend(managers_lost(facts.nodes, names))
    flaps = flapping(facts, rules)
    active.extend(flaps)
    hit.update(o.object for o in flaps)
    active.extend(updates_in_trouble(facts.services))
    below, below_since = below_desired(facts, rules, below_since, skip=hit)
    active.extend(below)
    active.extend(spark_jobs_failed(facts, rules))
    holding = {o.key for o in active}
    cleared = [
        Observation(kind, obj, False)
        for kind, obj in map(split_key, sorted(set(open_keys) - holding))
        if kind in KINDS
    ]
    return [*active, *cleared], below_since


def nodes_down(
    facts: SwarmFacts, names: dict[str, str], services: dict[str, ServiceFact]
) -> list[Observation]:
    """A node_down observation per node that is not ready, with the services it held."""
    seen: list[Observation] = []
    for node in facts.nodes:
        if node.state not in DOWN_STATES:
            continue
        held = [
            t
            for t in facts.tasks
            if t.node_id == node.id and (t.desired_state == "running" or t.state == "running")
        ]
        service_ids = sorted({t.service_id for t in held})
        hit = sorted(services[s].name if s in services else s[:12] for s in service_ids)
        name = names[node.id]
        title = f"node {name} ({node.role}) is {node.state}"
        if hit:
            title += f": {len(held)} task(s) of {len(hit)} service(s) hit"
        detail = {
            "node": name,
            "node_id": node.id,
            "role": node.role,
            "state": node.state,
            "services": hit,
            "tasks": len(held),
        }
        seen.append(Observation("node_down", name, True, title, detail))
    return seen


def quorum_text(managers: int, reachable: int) -> str:
    """What the managers' count means for the swarm, in words."""
    margin = reachable - (managers // 2 + 1)
    if margin < 0:
        return "the swarm has lost quorum: no changes until a manager returns"
    if margin == 0:
        return "one more loss stops the swarm"
    return f"{margin + 1} more losses stop the swarm"


def managers_lost(nodes: Iterable[NodeFact], names: dict[str, str]) -> list[Observation]:
    """A manager_lost observation per unreachable manager, with the quorum margin."""
    managers = [n for n in nodes if n.role == "manager"]
    reachable = sum(1 for n in managers if n.reachability == "reachable")
    seen: list[Observation] = []
    for node in managers:
        if node.reachability == "reachable":
            continue
        name = names[node.id]
        quorum = quorum_text(len(managers), reachable)
        title = f"manager {name} lost: {reachable} of {len(managers)} reachable, {quorum}"
        detail = {
            "node": name,
            "managers": len(managers),
            "reachable": reachable,
            "margin": reachable - (len(managers) // 2 + 1),
            "quorum": quorum,
        }
        seen.append(Observation("manager_lost", name, True, title, detail))
    return seen


def _running(tasks: Iterable[TaskFact]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for task in tasks:
        if task.desired_state == "running" and task.state == "running":
            counts[task.service_id] += 1
    return counts


def _desired(service: ServiceFact, tasks: Iterable[TaskFact]) -> int:
    if service.replicas is not None:
        return service.replicas
    # Global: the orchestrator made one task per eligible node.
    return sum(1 for t in tasks if t.service_id == service.id and t.desired_state == "running")


def flapping(facts: SwarmFacts, rules: Rules) -> list[Observation]:
    """A flapping observation per service whose tasks keep failing."""
    failures: dict[str, list[TaskFact]] = defaultdict(list)
    for task in facts.tasks:
        if task.state in FAILED_STATES and task.at >= facts.now - rules.flap_window:
            failures[task.service_id].append(task)
    running = _running(facts.tasks)
    seen: list[Observation] = []
    for service in facts.services:
        failed = failures.get(service.id, [])
        if service.mode == "job" or len(failed) < rules.flap_failures:
            continue
        last = max(failed, key=lambda t: t.at)
        settled = running.get(service.id, 0) >= _desired(service, facts.tasks)
        if settled and last.at < facts.now - rules.flap_quiet:
            continue
        minutes = f"{rules.flap_window / 60:g} min"
        exit_text = f"exit {last.exit_code}: " if last.exit_code is not None else ""
        title = (
            f"service {service.name} is flapping: {len(failed)} task failures in "
            f"{minutes} (last: {exit_text}{last.error or last.state})"
        )
        detail = {
            "service": service.name,
            "failures": len(failed),
            "window": rules.flap_window,
            "last_error": last.error,
            "exit_code": last.exit_code,
        }
        seen.append(Observation("flapping", service.name, True, title, detail))
    return seen


def updates_in_trouble(services: Iterable[ServiceFact]) -> list[Observation]:
    """An update observation per service whose rolling update paused or rolled back."""
    seen: list[Observation] = []
    for service in services:
        what = UPDATE_TROUBLE.get(service.update_state)
        if what is None:
            continue
        title = f"update of {service.name} {what}"
        if service.update_message:
            title += f": {service.update_message}"
        detail = {"state": service.update_state, "message": service.update_message}
        seen.append(Observation("update", service.name, True, title, detail))
    return seen


def below_desired(
    facts: SwarmFacts, rules: Rules, since: dict[str, float], *, skip: set[str]
) -> tuple[list[Observation], dict[str, float]]:
    """A below_desired observation per service short of tasks for over the grace period."""
    running = _running(facts.tasks)
    still: dict[str, float] = {}
    seen: list[Observation] = []
    for service in facts.services:
        if service.mode == "job":
            continue
        desired = _desired(service, facts.tasks)
        have = running.get(service.id, 0)
        if have >= desired:
            continue
        first = since.get(service.id, facts.now)
        still[service.id] = first
        if service.name in skip or facts.now - first < rules.below_grace:
            continue
        why = sorted(
            {
                t.error
                for t in facts.tasks
                if t.service_id == service.id and t.desired_state == "running" and t.error
            }
        )
        title = f"service {service.name} runs {have} of {desired} tasks"
        if why:
            title += f": {why[0]}"
        detail = {"service": service.name, "running": have, "desired": desired, "why": why}
        seen.append(Observation("below_desired", service.name, True, title, detail))
    return seen, still


def spark_jobs_failed(facts: SwarmFacts, rules: Rules) -> list[Observation]:
    """A spark_job observation per job that failed within the last ``job_window``."""
    seen: list[Observation] = []
    for job in facts.jobs:
        if job.state != "FAILED" or job.finished_at < facts.now - rules.job_window:
            continue
        exit_text = f" (exit code {job.exit_code})" if job.exit_code is not None else ""
        title = f"Spark job {job.id} ({job.name} on {job.stack}) failed{exit_text}"
        if job.reason:
            title += f": {job.reason}"
        detail = {
            "job": job.id,
            "stack": job.stack,
            "last_error": job.reason,
            "exit_code": job.exit_code,
        }
        seen.append(Observation("spark_job", job.id, True, title, detail))
    return seen
