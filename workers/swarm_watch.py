"""The swarm watcher: engine events and task states in, incidents in Redis out.

One watcher is active at a time, whoever holds the lease
``ssw:watch:lease`` (``SET NX PX``, refreshed every look); it runs as a
thread of every worker (``swarm_watcher_in_worker``) or alone as
``sparkswarm watch``. When the active one dies, the lease expires after
``swarm_watcher_ttl`` and another takes over: what it needs is in Redis.

Each look:

1. follow the managers' ``/events`` (types ``service`` and ``node``) from
   ``ssw:watch:since`` for up to ``swarm_watch_interval`` seconds: a bounded
   long poll that the first event ends early. ``since`` moves only after the
   events were acted on, so a restart (or a failover to the next manager,
   which the gateway does) resumes where the last look stopped;
2. read the task states (the engine emits no swarm-scope task events), and
   the nodes and services again when an event named them (or a minute
   passed): two Engine API calls per look on a quiet swarm;
   the newest failed Spark jobs come from the Spark watcher's records;
3. judge the facts (``sparkswarm.health_judge``, pure) and apply each
   observation to the incident store (``workers/incidents.py``), which the
   bot turns into Slack messages. The watcher never talks to Slack.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from sparkswarm.health_facts import (
    JobFact,
    NodeFact,
    ServiceFact,
    SwarmFacts,
    node_change,
    node_fact,
    service_fact,
    task_fact,
)
from sparkswarm.health_judge import Observation, Rules, judge, node_names, replay_node_changes
from sparkswarm.workers.incidents import Incident, IncidentStore, incident_store
from sparkswarm.workers.locks import RedisLock
from sparkswarm.workers.spark_jobs import JobStore

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)
EVENT_TYPES = ["service", "node"]
# Nodes and services are read again at least this often, events or not.
REFRESH = 60.0


class SwarmWatcher:
    """A watcher on one queue client's Redis and one gateway."""

    def __init__(self, qc: QueueClient, gw: Gateway, token: str | None = None) -> None:
        s = qc.settings
        self.redis = qc.redis
        self.gw = gw
        self.store: IncidentStore = incident_store(qc)
        self.jobs = JobStore.for_client(qc)
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = RedisLock(
            qc.redis, f"{s.key_prefix}watch:lease", self.token, s.swarm_watcher_ttl
        )
        self.since_key = since_key(s.key_prefix)
        self.below_key = f"{s.key_prefix}watch:below"
        self.interval = s.swarm_watch_interval
        self.rules = Rules(
            flap_failures=s.alert_flap_failures,
            flap_window=s.alert_flap_window,
            flap_quiet=s.alert_flap_quiet,
            below_grace=s.alert_below_grace,
        )
        self._nodes: list[NodeFact] = []
        self._services: list[ServiceFact] = []
        self._read_at = 0.0
        self._behind = True  # events may be waiting: catch up before a long poll

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set; stand by while another holds the lease."""
        active = False
        while not stop.is_set():
            try:
                holding = self.lease.acquire()
                if holding != active:
                    log.warning(
                        "swarm watcher %s %s", self.token, "active" if holding else "standby"
                    )
                    active = holding
                    self._behind = True
                if holding:
                    self.look(wait=self.interval)
                    continue
            except Exception as exc:  # a bad look must not end the watcher
                log.warning("swarm watcher look failed: %s", exc)
            stop.wait(self.interval)
        if active:
            self.lease.release()

    def look(self, wait: float = 0.0) -> list[Incident]:
        """Follow events for up to ``wait`` seconds, then judge the swarm; the incidents changed."""
        started = time.time()
        events, until = self._events(0.0 if self._behind else wait)
        observations: list[Observation] = []
        changes = [c for c in map(node_change, events) if c is not None]
        self._read(
            nodes=any(e.get("Type") == "node" for e in events),
            services=any(e.get("Type") == "service" for e in events),
        )
        names = node_names(self._nodes)
        observations.extend(replay_node_changes(changes, names))
        facts = SwarmFacts(
            now=time.time(),
            nodes=tuple(self._nodes),
            services=tuple(self._services),
            tasks=tuple(task_fact(t) for t in self.gw.tasks()),
            jobs=tuple(self._failed_jobs()),
        )
        below = {k: float(v) for k, v in self.redis.hgetall(self.below_key).items()}
        judged, below = judge(facts, self.rules, self.store.open_keys(), below)
        observations.extend(judged)
        changed = [i for i in map(self.store.apply, observations) if i is not None]
        pipe = self.redis.pipeline()
        pipe.delete(self.below_key)
        if below:
            pipe.hset(self.below_key, mapping={k: repr(v) for k, v in below.items()})
        # Only now, with everything acted on: a crash before this replays the events.
        pipe.set(self.since_key, repr(until))
        pipe.execute()
        for incident in changed:
            log.warning("incident %s %s: %s", incident.key, incident.state, incident.title)
        if not events and not self._behind and time.time() - started < wait / 2:
            # An engine whose clock runs ahead ends the poll at once: do not spin.
            time.sleep(wait - (time.time() - started))
        return changed

    def _events(self, wait: float) -> tuple[list[dict[str, Any]], float]:
        """The events since the stored point, waiting up to ``wait`` for the first one.

        Returns them and where the next look starts. A first look ever starts
        now: what happened before any watcher ran is not news.
        """
        now = time.time()
        stored = self.redis.get(self.since_key)
        since = float(stored) if stored else now
        until = now + wait
        events: list[dict[str, Any]] = []
        stream = self.gw.events(since=since, until=until, filters={"type": EVENT_TYPES})
        try:
            for event in stream:
                events.append(event)
                if wait:
                    # An event ends the wait: act on it now, catch up on the rest next.
                    break
        finally:
            stream.close()
        self._behind = bool(events) and bool(wait)
        if self._behind:
            until = int(events[-1].get("timeNano") or 0) / 1e9 + 1e-9
        return events, until

    def _failed_jobs(self) -> list[JobFact]:
        """The newest failed Spark jobs, from the Spark watcher's records (Redis only)."""
        return [
            JobFact(
                id=r.id,
                name=r.name,
                stack=r.stack,
                state=r.state,
                finished_at=r.finished_at or r.created_at,
                reason=r.reason or "",
                exit_code=r.exit_code,
            )
            for r in self.jobs.list(state="FAILED", limit=20)
        ]

    def _read(self, *, nodes: bool, services: bool) -> None:
        """Read nodes and services again when events named them, or they are old."""
        stale = time.time() - self._read_at > REFRESH
        if nodes or stale or not self._nodes:
            self._nodes = [node_fact(n) for n in self.gw.nodes()]
        if services or stale or not self._read_at:
            self._services = [service_fact(s) for s in self.gw.services()]
        if stale:
            self._read_at = time.time()


def since_key(prefix: str) -> str:
    """The key of the point (epoch seconds) up to which the engine's events were acted on."""
    return f"{prefix}watch:since"


def watch_lag(qc: QueueClient, now: float) -> float | None:
    """Seconds the watcher is behind the engine's events at ``now``: since
    the point its last look acted on (0 when it is caught up), None when no
    watcher has ever looked. Raises redis-py's errors when Redis is unreachable."""
    stored = qc.redis.get(since_key(qc.settings.key_prefix))
    if not stored:
        return None
    return max(now - float(stored), 0.0)


def watch_forever(stop: threading.Event) -> None:
    """The watcher of this process's configured broker and engine, until ``stop``."""
    from sparkswarm.gateway import Gateway
    from sparkswarm.workers.client import QueueClient

    SwarmWatcher(QueueClient(), Gateway.from_settings()).run(stop)
