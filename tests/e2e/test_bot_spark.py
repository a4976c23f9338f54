"""Chat -> queue -> swarm -> Spark: ``/spark submit pi 4`` in the (double's)
channel, run by a real worker on a real Spark stack. The submit run ends as
soon as the driver runs; the bot keeps the thread message and edits it from
the job's events through running to succeeded with the estimate: over HTTP
(also when the bot is killed (SIGKILL) between the run's end and the job's
end) and over Socket Mode. The session's Spark stack (``spark_cluster``),
one redis-server and one worker serve the module; each test has its own
Slack double and bot process.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import payloads
from tests.support.bot_harness import OPERATOR, BotLab
from tests.support.queue_harness import QueueLab, queue_lab, wait_for
from tests.support.spark_cluster import SparkCluster

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ESTIMATE = re.compile(r"Pi is roughly (\d\.\d+)")


@pytest.fixture(scope="module")
def queue(
    spark_cluster: SparkCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[QueueLab, Path]]:
    """A worker (with the job watcher) on a fresh redis-server, for the module."""
    folder = tmp_path_factory.mktemp("q")
    with queue_lab(folder) as lab:
        lab.start_worker(concurrency=2, SPARKSWARM_STACKS_DIR=str(spark_cluster.stacks_dir))
        yield lab, folder


@contextlib.contextmanager
def _bots(queue: tuple[QueueLab, Path]) -> Iterator[BotLab]:
    """A fresh Slack double on the module's queue; the bot processes started
    on it are stopped on exit, so the next test's bot is the only one."""
    lab, folder = queue
    before = len(lab.processes)
    bots = BotLab(lab, folder)
    try:
        yield bots
    finally:
        for proc in lab.processes[before:]:
            proc.stop()
        bots.stop()


@pytest.fixture
def chat(queue: tuple[QueueLab, Path]) -> Iterator[tuple[QueueLab, BotLab]]:
    """The module's worker and an HTTP bot (``sparkswarm bot --http``)."""
    with _bots(queue) as bots:
        bots.start_http()
        yield queue[0], bots


@pytest.fixture
def socket_chat(queue: tuple[QueueLab, Path]) -> Iterator[tuple[QueueLab, BotLab]]:
    """The module's worker and a Socket Mode bot (``sparkswarm bot --socket``)
    connected to the double's websocket."""
    with _bots(queue) as bots:
        bots.start_socket()
        yield queue[0], bots


def _estimate(text: str) -> float:
    found = ESTIMATE.search(text)
    assert found, text
    return float(found.group(1))


def _finals(bots: BotLab, ts: str) -> list[str]:
    """The successful edits of message ``ts`` that show a final state."""
    return [
        str(c.args.get("text"))
        for c in bots.web.calls_of("chat.update")
        if c.args.get("ts") == ts
        and c.status == 200
        and any(k in str(c.args.get("text")) for k in ("*succeeded*", "*failed*", "*cancelled*"))
    ]


def test_spark_submit_pi_from_chat_is_edited_through_to_the_estimate(
    spark_stack: str, chat: tuple[QueueLab, BotLab]
) -> None:
    """Acknowledged; the thread message goes through the job's states to the
    estimate, although the bot is killed (SIGKILL) after the submit run ended
    and before the job did, and the job ends while no bot runs."""
    from sparkswarm.workers.spark_jobs import JobStore

    stack = spark_stack
    lab, bots = chat
    answer = bots.slash("/spark", f"submit pi 4 --stack {stack}", OPERATOR)
    assert answer.status_code == 200
    words = f"spark submit pi 4 --stack {stack}"
    running = wait_for(
        lambda: next(
            (m for m in bots.status_of(words) if "*running*" in m.text and " job `" in m.text),
            None,
        ),
        180,
        "the job running in the thread",
        explain=lambda: lab.processes[0].tail() + "\n" + bots.dump(),
    )
    run = next(r for r in lab.client().list(source="slack") if r.op == "spark.submit")
    assert run.state == "succeeded" and isinstance(run.result, dict)
    job_id = str(run.result["job_id"])
    assert f"job `{job_id}`" in running.text  # the run ended; its message follows the job
    bot = next(p for p in reversed(lab.processes) if "bot-http" in p.log.name and p.alive())
    bot.kill(signal.SIGKILL)
    store = JobStore.for_client(lab.client())
    record = wait_for(lambda: r if (r := store.get(job_id)).done else None, 180, "the job's end")
    assert record.state == "SUCCEEDED", record.reason
    assert not _finals(bots, running.ts), "the killed bot posted the end"
    bots.start_http()
    final = bots.wait_final(words, timeout=60)
    assert final.ts == running.ts and "*succeeded*" in final.text, final.text
    assert abs(_estimate(final.text) - 3.14159) < 0.05
    time.sleep(2.5)  # a second final edit would come within the edit interval
    assert len(_finals(bots, final.ts)) == 1


def test_spark_submit_pi_over_socket_mode_is_edited_through_to_the_estimate(
    spark_stack: str, socket_chat: tuple[QueueLab, BotLab]
) -> None:
    """A real ``slash_commands`` envelope over the double's websocket: acked
    within Slack's 3 s; the thread message is edited through running (with the
    job) to succeeded with the estimate, the final edit exactly once."""
    stack = spark_stack
    lab, bots = socket_chat
    bot = lab.processes[-1]
    envelope = bots.sock.send(
        "slash_commands",
        payloads.slash_command("/spark", f"submit pi 4 --stack {stack}", user=OPERATOR),
    )
    bots.sock.wait_ack(envelope, timeout=3)
    words = f"spark submit pi 4 --stack {stack}"
    final = bots.wait_final(words, timeout=240, proc=bot)
    assert "*succeeded*" in final.text, final.text
    assert abs(_estimate(final.text) - 3.14159) < 0.05
    run = next(
        r
        for r in lab.client().list(source="slack")
        if r.op == "spark.submit" and f"run `{r.id.removeprefix('slack:')[:24]}`" in final.text
    )
    assert run.state == "succeeded" and isinstance(run.result, dict), run
    edits = [
        str(c.args.get("text"))
        for c in bots.web.calls_of("chat.update")
        if c.args.get("ts") == final.ts and c.status == 200
    ]
    running = [
        i for i, t in enumerate(edits) if "*running*" in t and f"job `{run.result['job_id']}`" in t
    ]
    assert running and running[0] < len(edits) - 1, edits  # running shown before the outcome
    time.sleep(2.5)  # a second final edit would come within the edit interval
    assert len(_finals(bots, final.ts)) == 1
    assert bot.alive(), bot.tail()


ATTACHED_JOB = b"""import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("attached").getOrCreate()
with open("numbers.csv", encoding="utf-8") as handle:  # the attached data file
    numbers = [int(line) for line in handle.read().split()]
factor = int(sys.argv[1])
total = spark.sparkContext.parallelize(numbers, 2).map(lambda n: n * factor).sum()
print(f"ATTACHED TOTAL {total} <@U0OTHER>")
spark.stop()
"""


def test_a_script_attached_to_a_mention_runs_on_spark_and_its_output_is_in_the_thread(
    spark_stack: str, chat: tuple[QueueLab, BotLab]
) -> None:
    """``@sparkswarm spark submit --stack S --total-executor-cores 1 3`` with
    job.py and numbers.csv attached (the target left out): the bot reads both
    through files.info and url_private, the worker starts the driver on the
    real cluster, and the thread message ends succeeded with what the script
    printed (escaped: the mention in it pings nobody)."""
    from sparkswarm.bots import double

    stack = spark_stack
    lab, bots = chat
    files = [
        bots.web.share_file("job.py", ATTACHED_JOB),
        bots.web.share_file("numbers.csv", b"1\n2\n3\n4\n"),
    ]
    event = payloads.event_callback(
        f"<@{double.BOT_USER_ID}> spark submit --stack {stack} --total-executor-cores 1 3",
        user=OPERATOR,
        files=files,
    )
    assert bots.event(event).status_code == 200
    words = f"spark submit job.py --stack {stack} --total-executor-cores 1 3 --files numbers.csv"
    final = bots.wait_final(words, timeout=240, proc=lab.processes[-1])
    assert "*succeeded*" in final.text, final.text
    assert "ATTACHED TOTAL 30" in final.text
    assert "&lt;@U0OTHER&gt;" in final.text and "<@U0OTHER>" not in final.text
    assert [c.args["served"] for c in bots.web.calls_of("url_private")] == [True, True]


def test_the_file_attached_after_the_submit_form_runs_on_spark(
    spark_stack: str, chat: tuple[QueueLab, BotLab]
) -> None:
    """``/spark submit`` alone, the form sent with "the .py file you attach
    next": the user's next channel message with job.py (and numbers.csv)
    runs the form's words on the real cluster, followed in that message's
    thread to what the script printed."""
    import uuid

    from sparkswarm.bots import modal

    stack = spark_stack
    lab, bots = chat
    trigger = f"{int(time.time())}.1.{uuid.uuid4().hex}"
    assert bots.slash("/spark", "submit", OPERATOR, trigger_id=trigger).status_code == 200
    view = wait_for(lambda: bots.web.views, 15, "the form", explain=bots.dump)[0]

    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    values = {
        "job": {"value": {"type": "static_select", "selected_option": {"value": modal.NEXT_FILE}}},
        "args": text("3"),
        "stack": text(stack),
        "cores": text("1"),
    }
    sent = payloads.view_submission(view, values, user=OPERATOR)
    form = "application/x-www-form-urlencoded"
    assert bots.post(payloads.interactive_body(sent), form).status_code == 200
    wait_for(lambda: bots.web.responded(OPERATOR), 15, "what the bot waits for")
    files = [
        bots.web.share_file("job.py", ATTACHED_JOB),
        bots.web.share_file("numbers.csv", b"1\n2\n3\n4\n"),
    ]
    event = payloads.event_callback(
        "my script", user=OPERATOR, channel="C0GENERAL", kind="message", files=files
    )
    assert bots.event(event).status_code == 200
    words = f"spark submit job.py 3 --stack {stack} --total-executor-cores 1 --files numbers.csv"
    final = bots.wait_final(words, timeout=240, proc=lab.processes[-1])
    assert "*succeeded*" in final.text, final.text
    assert "ATTACHED TOTAL 30" in final.text
    assert final.thread_ts == event["event"]["ts"]
