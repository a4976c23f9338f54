"""The Celery message of a run, built here so that the run record and its
message are written to Redis in one atomic script (``lua.CREATE``).

Why not ``app.send_task``: recording first and publishing second leaves a
window where a crash (or a Redis hiccup) gives a queued record without a
message, and the publish through kombu's producer costs more than the whole
record write. The envelope below is exactly what kombu's Redis transport
pushes for ``send_task`` to a queue through the default exchange (Celery
message protocol 2, JSON body, base64 body encoding; priority 0 -> the
list named like the queue). tests/integration/test_queue.py checks it
against kombu's own output and a real worker consumes nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from functools import cache
from typing import Any


@cache
def _same_for_every_run(pid: int) -> dict[str, str]:
    """The headers ``as_task_v2`` would compute for each message that are
    the same for every run message process ``pid`` sends: ``origin`` (host
    name and pid) and ``argsrepr`` (runs take no positional arguments)."""
    from celery.utils.nodenames import anon_nodename
    from celery.utils.saferepr import saferepr

    return {"origin": anon_nodename(), "argsrepr": saferepr(())}


def task_envelope(
    app: Any,
    name: str,
    task_id: str,
    kwargs: dict[str, Any],
    queue: str,
    *,
    kwargs_shown: dict[str, Any] | None = None,
) -> str:
    """The JSON kombu would LPUSH onto list ``queue`` for this task call.

    ``kwargs_shown`` replaces the kwargs in the header that workers log
    (``kwargsrepr``): pass them with secrets masked.
    """
    message = app.amqp.as_task_v2(
        task_id,
        name,
        args=(),
        kwargs=kwargs,
        kwargsrepr=repr(kwargs_shown if kwargs_shown is not None else kwargs),
        **_same_for_every_run(os.getpid()),
    )
    body = json.dumps(message.body).encode()
    properties = dict(message.properties)
    properties.update(
        delivery_mode=2,  # persistent
        delivery_info={"exchange": "", "routing_key": queue},
        priority=0,
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": properties,
    }
    return json.dumps(envelope)
