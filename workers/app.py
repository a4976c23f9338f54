"""The Celery application: Redis broker, settings for operations that must
neither be lost nor run twice.

``celery -A sparkswarm.workers.app worker`` (or ``sparkswarm worker``) runs it.
Importing this module is cheap (no tasks, no docker): the CLI imports it only
to publish messages by task name. The worker imports
:mod:`sparkswarm.workers.tasks` through ``include`` and gets one task per
registered operation there.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from sparkswarm.config import Settings, get_settings


def make_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (default: the environment's)."""
    settings = settings or get_settings()
    url = settings.redis_url or "redis://127.0.0.1:6379/0"
    app = Celery(
        "sparkswarm",
        broker=url,
        include=["sparkswarm.workers.tasks"],
        set_as_current=settings is get_settings(),
    )
    conf: dict[str, Any] = {
        # kombu's Redis transport with a guard that lets the worker reconnect
        # after a Redis restart with a run in flight (see transport.py).
        "broker_transport": "sparkswarm.workers.transport:Transport",
        # Celery's consumer, moving aside (dead-letters.py) the messages it
        # would only log and drop: unknown tasks, bodies that do not decode.
        # The transport does the same for items that are no message at all.
        "worker_consumer": "sparkswarm.workers.consumer:Consumer",
        # Acknowledge a message only after the task returned: a worker that dies
        # mid-operation leaves the message in Redis instead of losing it.
        "task_acks_late": True,
        # A pool process killed under a task (OOM, SIGKILL) gives the message
        # back to the queue instead of acking it as failed.
        "task_reject_on_worker_lost": True,
        # Each worker process reserves one message at a time: operations are long,
        # and a reserved message is stuck with its worker until that worker acks.
        "worker_prefetch_multiplier": 1,
        # Redis redelivers an unacked message after this many seconds. It must be
        # longer than the longest operation (a slow rolling update) or a healthy
        # run would be started twice. Prompt recovery of dead workers does not
        # rely on it: runs carry a short heartbeat and the workers' recovery pass
        # re-queues runs whose heartbeat expired (see runner.py).
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            # Publishing must survive a Redis restart: retry the connection.
            "socket_keepalive": True,
        },
        # JSON only: messages are plain data (a run id and parameters), readable by
        # any client, and a pickled payload would execute code on the worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        # Results live in our own run records (records.py), kept for the retention
        # the settings give; storing them in a Celery result backend too would
        # only cost Redis writes. No backend: no result expiry, and beat installs
        # no backend-cleanup task.
        "task_ignore_result": True,
        "result_expires": None,
        # Everything goes to one queue whose name the tests change per session.
        "task_default_queue": settings.queue,
        "task_create_missing_queues": True,
        # After a broker connection loss, let running operations finish: stopping a
        # rolling update half-way is worse than a late ack (the run record and
        # heartbeat make the redelivery a no-op).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Keep trying to reach the broker at start and after a Redis restart.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Publishing retries while Redis restarts (AOF keeps what it had accepted).
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 30,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
        },
        # No Celery task events: they cost a Redis publish per state change and
        # nobody reads them; our own typed events are on the sparkswarm stream.
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        # Schedules: RedBeat keeps them in Redis (dynamic, one active beat by lock).
        "redbeat_redis_url": url,
        "redbeat_key_prefix": settings.key_prefix + "redbeat:",
        "redbeat_redis_options": {"socket_keepalive": True},
        # Beat looks for new or changed schedules at least this often (seconds).
        "beat_max_loop_interval": 5,
        # The beat lock expires this long after a beat died, then another takes over.
        "redbeat_lock_timeout": 25,
        "timezone": "UTC",
        "enable_utc": True,
        # Celery configures the worker process's logging (its default): the
        # worker is a process of its own, with no logging set up by anyone else.
        "worker_hijack_root_logger": True,
    }
    from sparkswarm.config_values import is_sentinel
    from sparkswarm.workers.tls import broker_ssl_options

    if is_sentinel(url):
        _use_sentinels(conf, settings)
    tls = broker_ssl_options(url)
    if tls is not None:  # kombu would speak plain TCP to a bare rediss:// URL
        conf["broker_use_ssl"] = tls
        conf["redbeat_redis_use_ssl"] = tls
    app.conf.update(conf)
    return app


def _use_sentinels(conf: dict[str, Any], settings: Settings) -> None:
    """Point the broker and RedBeat at the primary the sentinels name (see
    redis_connect.py and transport.py)."""
    from sparkswarm.workers.redis_connect import (
        kombu_sentinel_options,
        redbeat_sentinel_options,
    )
    from sparkswarm.workers.transport import stay_on_first_sentinel

    conf["broker_transport"] = "sparkswarm.workers.transport:SentinelTransport"
    conf["broker_transport_options"].update(kombu_sentinel_options(settings))
    # kombu would switch to its own transport on the next sentinel's URL.
    conf["broker_failover_strategy"] = stay_on_first_sentinel
    # RedBeat's Sentinel branch is chosen by this scheme; the address is in the options.
    conf["redbeat_redis_url"] = "redis-sentinel://"
    conf["redbeat_redis_options"] = redbeat_sentinel_options(settings)


app = make_app()


def app_for(settings: Settings) -> Celery:
    """The app for ``settings``: the process's own, or one made for another
    broker (a client of a different Redis, as in tests)."""
    same_master = settings.redis_master_name == (
        app.conf.broker_transport_options.get("master_name")
    )
    if (
        settings.redis_url == app.conf.broker_url
        and same_master
        and settings.key_prefix + "redbeat:" == app.conf.redbeat_key_prefix
    ):
        return app
    return make_app(settings)
