"""``sparkswarm metrics``: a Prometheus exporter that reads the queue's Redis.

Each scrape reads the run records, the Celery queue and the Spark job
records afresh (a custom collector, as the Prometheus exporter guide
describes): no counters live in worker processes, so there is no Celery
multiprocess bookkeeping, and any number of exporters give the same answer.
Every metric name starts with ``sparkswarm_``:

- ``sparkswarm_runs{op,state}``: run records kept (retention: the
  ``run_retention_*`` settings) by operation and state;
- ``sparkswarm_run_duration_seconds{op}``: histogram of finished runs'
  start-to-end time;
- ``sparkswarm_queue_depth{queue}``: messages waiting in the Celery queue;
- ``sparkswarm_queue_oldest_waiting_seconds{queue}``: age of the oldest
  queued run (0 when none waits);
- ``sparkswarm_target_lock_waits_total{op}`` and
  ``sparkswarm_target_lock_wait_seconds_total{op}``: runs that had to wait
  for their target's lock (another run held it or was ahead of them) and
  the seconds they waited until they took it; ``sparkswarm_target_lock_waiting``:
  runs waiting now;
- ``sparkswarm_spark_jobs{state}``: Spark job records by state;
  ``sparkswarm_spark_cores_in_use{stack}``: cores held by running jobs
  (each job's ``spark.cores.max``, what admission and quotas count);
- ``sparkswarm_incidents_open{kind}``: open incidents of the swarm watcher;
- ``sparkswarm_swarm_watcher_lag_seconds``: how far the swarm watcher is
  behind the engine's events (up to one ``swarm_watch_interval`` on a
  quiet swarm; it grows while no watcher runs; absent before any ran);
- ``sparkswarm_slack_api_calls_total{method}`` and
  ``sparkswarm_slack_api_rate_limited_total{method}``: the bot's Web API
  requests and Slack's 429 answers;
- ``sparkswarm_redis_up``: 1 when this scrape could read Redis (0: the
  others are missing from that scrape).

Counts of events that leave no record (Slack calls, lock waits) are kept
by the processes where they happen (:mod:`sparkswarm.workers.metric_counts`).
``prometheus_client`` is imported only here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger("sparkswarm.metrics")

# Operations take from a second (a scale) to an hour (a slow rolling update).
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# kombu's Redis transport keeps one list per priority step (0, 3, 6, 9); the
# non-zero ones are named queue + "\x06\x16" + step.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
# Records read per scrape: the retention count's default.
SCAN_LIMIT = 5000
# Every family the exporter serves, with its Prometheus type (a counter's
# samples end in _total; a histogram's in _bucket, _count and _sum).
METRIC_TYPES = {
    "sparkswarm_runs": "gauge",
    "sparkswarm_run_duration_seconds": "histogram",
    "sparkswarm_queue_depth": "gauge",
    "sparkswarm_queue_oldest_waiting_seconds": "gauge",
    "sparkswarm_target_lock_waits": "counter",
    "sparkswarm_target_lock_wait_seconds": "counter",
    "sparkswarm_target_lock_waiting": "gauge",
    "sparkswarm_spark_jobs": "gauge",
    "sparkswarm_spark_cores_in_use": "gauge",
    "sparkswarm_incidents_open": "gauge",
    "sparkswarm_swarm_watcher_lag_seconds": "gauge",
    "sparkswarm_slack_api_calls": "counter",
    "sparkswarm_slack_api_rate_limited": "counter",
    "sparkswarm_redis_up": "gauge",
}
METRIC_NAMES = tuple(METRIC_TYPES)
SAMPLE_SUFFIXES = {
    "gauge": ("",),
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
}


class RedisCollector(Collector):
    """A prometheus_client collector computing every metric from Redis on each scrape."""

    def __init__(self, qc: QueueClient, *, scan_limit: int = SCAN_LIMIT) -> None:
        self.qc = qc
        self.scan_limit = scan_limit

    def collect(self) -> Iterator[Any]:
        """The metric families of one scrape (``sparkswarm_redis_up 0`` alone
        when Redis cannot be read)."""
        import redis
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("sparkswarm_redis_up", "1 when this scrape could read Redis.")
        try:
            families = list(self._families(time.time()))
        except redis.RedisError as exc:
            log.warning("scrape: Redis unreadable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: float) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

        records = self.qc.store.list(limit=self.scan_limit)
        runs = GaugeMetricFamily(
            "sparkswarm_runs",
            "Run records kept in Redis, by operation and state.",
            labels=["op", "state"],
        )
        for (op, state), count in sorted(Counter((r.op, r.state) for r in records).items()):
            runs.add_metric([op, state], count)
        yield runs

        durations: dict[str, list[float]] = defaultdict(list)
        for record in records:
            if record.done and record.started_at is not None and record.finished_at is not None:
                durations[record.op].append(max(record.finished_at - record.started_at, 0.0))
        histogram = HistogramMetricFamily(
            "sparkswarm_run_duration_seconds",
            "Start-to-end time of finished runs, by operation.",
            labels=["op"],
        )
        for op, values in sorted(durations.items()):
            buckets = [(str(b), sum(v <= b for v in values)) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", len(values)))
            histogram.add_metric([op], buckets, sum_value=sum(values))
        yield histogram

        queue = self.qc.settings.queue
        names = [queue, *(f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]
        depth = GaugeMetricFamily(
            "sparkswarm_queue_depth", "Messages waiting in the Celery queue.", labels=["queue"]
        )
        depth.add_metric([queue], sum(int(self.qc.redis.llen(name)) for name in names))
        yield depth
        queued = [r.created_at for r in records if r.state == "queued"]
        oldest = GaugeMetricFamily(
            "sparkswarm_queue_oldest_waiting_seconds",
            "Age of the oldest run still queued (0 when none waits).",
            labels=["queue"],
        )
        oldest.add_metric([queue], max(now - min(queued), 0.0) if queued else 0.0)
        yield oldest

        yield from self._lock_waits()
        yield from self._spark_jobs()
        yield self._incidents()
        yield from self._watcher_lag(now)
        yield from self._slack_calls()

    def _lock_waits(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from sparkswarm.workers.metric_counts import lock_waits

        waits, seconds, parked = lock_waits(self.qc)
        count = CounterMetricFamily(
            "sparkswarm_target_lock_waits",
            "Runs that waited for their target's lock, by operation.",
            labels=["op"],
        )
        for op, value in sorted(waits.items()):
            count.add_metric([op], value)
        yield count
        waited = CounterMetricFamily(
            "sparkswarm_target_lock_wait_seconds",
            "Seconds runs waited for their target's lock until they took it, by operation.",
            labels=["op"],
        )
        for op, total in sorted(seconds.items()):
            waited.add_metric([op], total)
        yield waited
        yield GaugeMetricFamily(
            "sparkswarm_target_lock_waiting",
            "Runs waiting for their target's lock now.",
            value=parked,
        )

    def _watcher_lag(self, now: float) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from sparkswarm.workers.swarm_watch import watch_lag

        lag = watch_lag(self.qc, now)
        if lag is not None:  # no watcher ever looked: no sample rather than a made-up one
            yield GaugeMetricFamily(
                "sparkswarm_swarm_watcher_lag_seconds",
                "Seconds the swarm watcher is behind the engine's events.",
                value=lag,
            )

    def _slack_calls(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        from sparkswarm.workers.metric_counts import SlackCallCounts

        counts = SlackCallCounts.for_client(self.qc)
        for name, what, found in (
            ("sparkswarm_slack_api_calls", "Slack Web API requests of the bot", counts.calls()),
            ("sparkswarm_slack_api_rate_limited", "Slack's 429 answers", counts.limits()),
        ):
            family = CounterMetricFamily(name, f"{what}, by method.", labels=["method"])
            for method, value in sorted(found.items()):
                family.add_metric([method], value)
            yield family

    def _incidents(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        from sparkswarm.workers.incidents import incident_store

        family = GaugeMetricFamily(
            "sparkswarm_incidents_open",
            "Open incidents of the swarm watcher, by kind.",
            labels=["kind"],
        )
        opened = incident_store(self.qc).listing(include_resolved=False)
        for kind, count in sorted(Counter(incident.kind for incident in opened).items()):
            family.add_metric([kind], count)
        return family

    def _spark_jobs(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from sparkswarm.workers.spark_jobs import JobStore

        jobs = JobStore.for_client(self.qc).list(limit=self.scan_limit)
        family = GaugeMetricFamily(
            "sparkswarm_spark_jobs", "Spark job records by state.", labels=["state"]
        )
        for state, count in sorted(Counter(job.state for job in jobs).items()):
            family.add_metric([state], count)
        yield family
        cores: Counter[str] = Counter()
        for job in jobs:
            if job.state == "RUNNING":
                cores[job.stack] += job.ask.cores
        in_use = GaugeMetricFamily(
            "sparkswarm_spark_cores_in_use",
            "Cores held by running Spark jobs (their spark.cores.max), by stack.",
            labels=["stack"],
        )
        for stack, total in sorted(cores.items()):
            in_use.add_metric([stack], total)
        yield in_use


def serve_metrics(qc: QueueClient, *, port: int, host: str, stop: Any) -> None:
    """Serve ``/metrics`` on ``host:port`` until ``stop`` (a threading.Event) is set.

    Raises OSError when the port cannot be bound.
    """
    from prometheus_client import start_http_server
    from prometheus_client.core import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(qc))
    server, thread = start_http_server(port, addr=host, registry=registry)
    log.warning("metrics exporter serving http://%s:%d/metrics", host, port)
    try:
        stop.wait()
    finally:
        server.shutdown()
        thread.join(5)
