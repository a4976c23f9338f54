"""Read commands in chat (``service ls``, ``runs ls``, ``spark job ID``, ...).

A read the registry answers from the queue's records (runs, schedules, Spark
jobs) is answered at once through the executor's ``read``; any other read is
submitted to a worker and waited for on the dispatcher's read pool (the wait
holds none of the threads that take new commands). Either way the answer is
posted in the conversation within Slack's limits (``blockkit.reply``), the
whole of it as a file when the message cannot hold it, and through the
command's ``response_url`` where the bot cannot post.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from sparkswarm.bots import answers, blockkit, present
from sparkswarm.errors import SparkswarmError
from sparkswarm.executor import Origin
from sparkswarm.requests.model import Request

if TYPE_CHECKING:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher

log = logging.getLogger(__name__)
SCREENFUL = 15  # rows of a listing answered in chat
FILE_TITLE = 80  # characters of an uploaded answer's title (its first line)


def queue_read(d: Dispatcher, req: ChatRequest, request: Request) -> None:
    """Answer runs ls / runs show / schedule ls / spark jobs / spark job from
    the queue's records (the registry's queue reads); no worker involved."""
    params = dict(request.params)
    if request.op in ("runs.ls", "spark.jobs"):
        params["limit"] = min(int(params.get("limit") or SCREENFUL), SCREENFUL)
    if request.op == "spark.jobs":  # the caller's own unless they said all
        params["caller"] = req.user
        params["mine"] = params.get("mine") is not False
    result = d.executor.read(Request(op=request.op, params=params, read_only=True))
    blocks: list[blockkit.Block] | None
    if request.op == "spark.jobs":
        text, blocks = answers.jobs_answer(result)
    elif request.op == "spark.job":
        text, blocks = answers.job_answer(result)
    elif request.op == "runs.show":
        full = json.dumps(result.model_dump(mode="json"), indent=1)
        post(d, req, f"run {result.id}", full, None)
        return
    elif request.op == "runs.ls":
        text, blocks = answers.runs_answer(result)
    else:
        rows = [item.model_dump(mode="json") for item in result]
        columns = ["name", "cron", "command", "next_run", "last_state"]
        text, blocks = answers.table_answer("schedules", rows, columns, "schedule ls")
    post(d, req, text, text, blocks)


def worker_read(d: Dispatcher, req: ChatRequest, request: Request, shown: str) -> None:
    """Submit a read to a worker and answer with its result (run on the read pool)."""
    try:
        sub = d.executor.submit(request, origin=Origin(req.user, "slack"), key=d.run_id(req.key))
        if sub.run_id is None or not sub.created:
            return
        record = d.qc.wait(sub.run_id, timeout=d.settings.bot_read_timeout)
        if record.state != "succeeded":
            d.tell(req, present.read_failed(shown, record.error or ""))
            return
        text, blocks = answers.read_answer(shown, record.result or {})
        post(d, req, text, text, blocks)
    except (SparkswarmError, TimeoutError) as exc:
        d.tell(req, present.read_failed(shown, str(exc)))
    except Exception:
        from sparkswarm.bots.dispatch import INTERNAL_ERROR

        log.exception("read failed")
        d.tell(req, INTERNAL_ERROR)


def worker_answer(d: Dispatcher, request: Request, user: str, key: str) -> Any:
    """What a worker answers to the read ``request`` of ``user`` (``key``: the
    submission's idempotency key: a retry reads once). Raises SparkswarmError
    when the read was not queued or failed, TimeoutError when no worker
    answered within ``bot_read_timeout``."""
    sub = d.executor.submit(request, origin=Origin(user, "slack"), key=key)
    if sub.run_id is None:
        raise SparkswarmError("the read was not queued")
    record = d.qc.wait(sub.run_id, timeout=d.settings.bot_read_timeout)
    if record.state != "succeeded":
        raise SparkswarmError(record.error or record.state)
    return record.result


def post(
    d: Dispatcher, req: ChatRequest, text: str, full: str, blocks: list[blockkit.Block] | None
) -> None:
    """Post a read answer (see ``blockkit.reply``): a message within Slack's
    limits, and the whole answer as a file when the message cannot hold it.
    Where the bot cannot post, the answer goes to the user through response_url."""
    from sparkswarm.bots.dispatch import CANNOT_POST

    if d.halted.is_set():
        return
    answer = blockkit.reply(text, full, blocks, d.settings.bot_file_threshold)
    if answer.blocks is not None and answer.text is not None:
        posted = d.out.post(req.channel, answer.text, answer.blocks, thread_ts=req.thread_ts)
        if posted is None and req.response_url:
            d.respond(req.response_url, answer.text, blocks=answer.blocks)
    if answer.file is not None:
        title = blockkit.shorten_plain(text.partition("\n")[0], FILE_TITLE)
        if not d.out.upload(
            req.channel, "sparkswarm.txt", answer.file, thread_ts=req.thread_ts, title=title
        ):
            d.tell(req, f"{blockkit.clip(title, 200)}: too long for a message, and {CANNOT_POST}")
