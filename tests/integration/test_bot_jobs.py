"""The notifier following a Spark job after its ``spark.submit`` run ended,
on a real redis-server (run records, job records and the events stream as the
worker and the watcher write them) and the Slack double (a real HTTP server,
reached through the bot's own Slack client). No Spark cluster: the job's
states are recorded here the way the watcher records them (``JobStore``).
The full path with a real cluster is ``tests/e2e/test_bot_spark.py``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double
from tests.support.queue_harness import QueueLab, queue_lab, wait_for

pytestmark = pytest.mark.integration
CHANNEL = "C0OPS"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QueueLab]:
    with queue_lab(tmp_path) as lab:  # redis-server only: no worker, no swarm
        yield lab


@pytest.fixture
def web() -> Iterator[double.SlackDouble]:
    web = double.SlackDouble().start()
    web.invite(CHANNEL)
    yield web
    web.stop()


def _out(web: double.SlackDouble) -> Any:
    from slack_sdk import WebClient

    from sparkswarm.bots.scrub import Scrubber
    from sparkswarm.bots.slack_out import SlackOut

    client = WebClient(token=web.bot_token, base_url=web.api_url.rstrip("/") + "/", timeout=10)
    return SlackOut(client, Scrubber([]))


@contextmanager
def notifier_running(qc: Any, web: double.SlackDouble) -> Iterator[Any]:
    """A bot's notifier thread; leaving the block stops it (like a killed bot,
    it keeps nothing: what it follows is in Redis)."""
    from sparkswarm.bots.notifier import Notifier

    notifier = Notifier(qc, _out(web), interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield notifier
    finally:
        stop.set()
        thread.join(5)


def _submitted(qc: Any, web: double.SlackDouble, notifier: Any) -> tuple[str, str, str, Any]:
    """A spark.submit run from chat whose worker started the job and succeeded,
    as the worker writes it: (run id, job id, message ts, job store)."""
    from sparkswarm.spark.job_record import JobAsk, JobRecord
    from sparkswarm.workers.events import OperationSucceeded
    from sparkswarm.workers.spark_jobs import JobStore, job_id_for_run

    out = notifier.out
    sub = qc.submit("spark.submit", {"stack": "spark"}, requester="U0OPER", source="slack")
    thread = out.post(CHANNEL, "<@U0OPER>: `spark submit pi 4`")
    ts = out.post(CHANNEL, "queued", thread_ts=thread)
    notifier.follow(sub.run_id, CHANNEL, ts, "spark submit pi 4", thread)
    store = JobStore.for_client(qc)
    job = JobRecord(
        id=job_id_for_run(sub.run_id),
        stack="spark",
        service="spark_job_x",
        name="pi",
        script="pi.py",
        args=["4"],
        requester="U0OPER",
        source="slack",
        run_id=sub.run_id,
        ask=JobAsk(cores=1, executor_memory_mb=512),
        reason="waiting for a free core (0 of 1 free)",
    )
    assert store.create(job)
    result: dict[str, Any] = {"stack": "spark", "job_id": job.id, "state": "SUBMITTED"}
    result["service"] = job.service
    result |= {"seconds": 1.0, "record": job.model_dump(mode="json")}
    event = OperationSucceeded(run_id=sub.run_id, op="spark.submit", result=result)
    qc.store.finish(sub.run_id, "succeeded", event.model_dump_json(), result=result)
    return sub.run_id, job.id, ts, store


def _text(web: double.SlackDouble, ts: str) -> str:
    return str(web.messages[(CHANNEL, ts)].text)


def _finals(web: double.SlackDouble, ts: str) -> list[str]:
    return [
        str(c.args.get("text"))
        for c in web.calls_of("chat.update")
        if c.args.get("ts") == ts and c.status == 200 and "*succeeded*" in str(c.args.get("text"))
    ]


def test_job_is_followed_past_its_run_and_a_restarted_bot_posts_its_end_once(
    lab: QueueLab, web: double.SlackDouble
) -> None:
    qc = lab.client()
    with notifier_running(qc, web) as first:
        run_id, job_id, ts, store = _submitted(qc, web, first)
        wait_for(
            lambda: "*submitted*" in _text(web, ts),
            10,
            "submitted",
            explain=lambda: str(web.calls[-10:]),
        )
        assert f"job `{job_id}`" in _text(web, ts)
        assert "waiting for a free core" in _text(web, ts)
        assert run_id in qc.redis.smembers(first.following_key)  # the run ended; still followed
        store.update(job_id, {"state": "RUNNING", "app_id": "app-1", "started_at": time.time()})
        wait_for(lambda: "*running*" in _text(web, ts), 10, "running")
        assert "application app-1" in _text(web, ts)
        time.sleep(1.0)  # the job record is checked every second: nothing new, no edit
        edits = [str(c.args["text"]) for c in web.calls_of("chat.update") if c.args["ts"] == ts]
        assert all(a != b for a, b in itertools.pairwise(edits)), edits
    # The bot is down while the job ends, and the events it would have read
    # are gone (trimmed): the restarted bot takes the end from the job record.
    output = ["Pi is roughly 3.14159", *[f"line {i}" for i in range(12)]]
    store.update(job_id, {"state": "SUCCEEDED", "output": output, "finished_at": time.time()})
    qc.redis.xtrim(qc.events.key, maxlen=0)
    assert not _finals(web, ts)
    with notifier_running(qc, web) as second:
        wait_for(
            lambda: run_id in second.finished,
            10,
            "the final edit",
            explain=lambda: str(web.calls[-10:]),
        )
    final = _text(web, ts)
    assert "*succeeded*" in final and f"job `{job_id}`" in final and " in " in final
    assert "line 11" in final and "Pi is roughly" not in final  # the end of it...
    uploads = web.calls_of("files.completeUploadExternal")
    assert len(uploads) == 1 and uploads[0].args.get("thread_ts")  # ...and all of it as a file
    content = b"".join(f.get("content", b"") for f in web.files.values()).decode()
    assert "Pi is roughly 3.14159" in content
    # A third bot process finds the end posted: no second final edit, no second file.
    with notifier_running(qc, web):
        time.sleep(1.5)
    assert len(_finals(web, ts)) == 1
    assert len(web.calls_of("files.completeUploadExternal")) == 1
    assert run_id not in qc.redis.smembers(second.following_key)


def test_failed_and_cancelled_jobs_end_the_thread_with_reason_and_who(
    lab: QueueLab, web: double.SlackDouble
) -> None:
    qc = lab.client()
    with notifier_running(qc, web) as notifier:
        run_a, job_a, ts_a, store = _submitted(qc, web, notifier)
        run_b, job_b, ts_b, _ = _submitted(qc, web, notifier)
        reason = "the driver raised: ZeroDivisionError: division by zero"
        store.update(job_a, {"state": "FAILED", "reason": reason, "finished_at": time.time()})
        store.update(
            job_b,
            {
                "state": "CANCELLED",
                "reason": "cancelled by U0ADMIN",
                "cancelled_by": "U0ADMIN",
                "finished_at": time.time(),
            },
        )
        wait_for(lambda: {run_a, run_b} <= set(notifier.finished), 10, "both ends")
    assert "*failed*" in _text(web, ts_a) and f"reason: {reason}" in _text(web, ts_a)
    assert "*cancelled*" in _text(web, ts_b) and "by <@U0ADMIN>" in _text(web, ts_b)
    assert not web.calls_of("files.completeUploadExternal")
