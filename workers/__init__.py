"""sparkswarm.workers: operations as queued, recorded, idempotent Celery tasks.

For producers (CLI, Slack bot, schedules)::

    from sparkswarm.workers.client import QueueClient
    qc = QueueClient()                      # SPARKSWARM_REDIS_URL
    sub = qc.submit("service.scale", {"replicas": {"web": 3}},
                    requester="U123", source="slack", key="slack-<trigger id>")
    for event in qc.follow(sub.run_id, after=sub.stream_id): ...
    qc.get(sub.run_id)                      # the RunRecord

For consumers of events (the notifier): ``EventStream(redis, prefix).follow()``
yields typed events (``sparkswarm.workers.events``) from the stream
``<prefix>events``; each names its ``run_id``.

Importing the package adds the queue's operations to the registry
(``operations``: runs, schedules, Spark job records; ``executor`` is the
queue's Executor). Modules: ``app`` (Celery settings, each explained),
``tasks`` (one task per registered operation, named like it), ``runner`` (a
delivery's life),
``recovery`` (runs whose worker died, lost messages), ``records`` + ``lua`` (run records),
``locks`` (target locks and heartbeats), ``events``, ``schedules`` (RedBeat),
``task_message`` (the Celery message written together with its record),
``delivery_claim`` (a run claimed on the round trip that delivers its message).
"""

from sparkswarm.operations import register as _register
from sparkswarm.workers.operations import register_queue_operations

register_queue_operations(_register)
