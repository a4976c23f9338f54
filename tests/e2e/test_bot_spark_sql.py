"""Chat -> queue -> Spark Connect: ``/spark sql SELECT 1+1`` in the (double's)
channel answered in its thread by a real worker's warm session on a real
Spark stack (``connect=true``, published with its token: the session's
``connect_stack``, tests/conftest.py); a running statement's Cancel button
refuses a viewer and interrupts for an operator. One redis-server and one
worker serve the module; each test has its own Slack double and HTTP bot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots.sqlview import CANCEL_ACTION
from tests.support.bot_harness import OPERATOR, VIEWER, BotLab
from tests.support.queue_harness import QueueLab, queue_lab, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.spark]


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QueueLab, Path]]:
    folder = tmp_path_factory.mktemp("q")
    with queue_lab(folder) as lab:
        lab.start_worker(concurrency=2, SPARKSWARM_SPARK_WATCHER_IN_WORKER="false")
        yield lab, folder


@pytest.fixture
def chat(queue: tuple[QueueLab, Path]) -> Iterator[tuple[QueueLab, BotLab]]:
    lab, folder = queue
    before = len(lab.processes)
    bots = BotLab(lab, folder)
    try:
        bots.start_http()
        yield lab, bots
    finally:
        for proc in lab.processes[before:]:
            proc.stop()
        bots.stop()


def test_spark_sql_from_chat_answers_2_in_the_thread(
    connect_stack: str,
    chat: tuple[QueueLab, BotLab],
) -> None:
    lab, bots = chat
    for statement in ("SELECT 1 AS one", "SELECT 1+1 AS two"):  # the second one warm
        answer = bots.slash("/spark", f"sql --stack {connect_stack} {statement}", OPERATOR)
        assert answer.status_code == 200
        words = f"spark sql --stack {connect_stack} -- {statement}"
        final = bots.wait_final(words, timeout=240, proc=lab.processes[0])
        assert "*succeeded*" in final.text, final.text
    table = final.blocks[1]["text"]["text"]
    assert table.splitlines()[-1].strip("`").strip() == "2", table
    assert "1 rows in" in final.text and "(warm session)" in final.text


def test_the_cancel_button_checks_the_role_then_interrupts(
    connect_stack: str,
    chat: tuple[QueueLab, BotLab],
) -> None:
    lab, bots = chat
    statement = "SELECT count(*) FROM range(100000000002)"
    bots.slash("/spark", f"sql --stack {connect_stack} {statement}", OPERATOR)
    words = f"spark sql --stack {connect_stack} -- {statement}"

    def with_button() -> Any:
        for message in bots.status_of(words):
            if "*running*" in message.text and message.blocks[-1]["type"] == "actions":
                return message
        return None

    running = wait_for(with_button, 120, "the running statement with its Cancel button")
    run_id = running.blocks[-1]["elements"][0]["value"]
    assert bots.click(running, VIEWER, CANCEL_ACTION, value=run_id).status_code == 200
    wait_for(
        lambda: any("operator role" in m.text for m in bots.ephemerals(VIEWER)),
        30,
        "the viewer told the role it needs",
    )
    assert lab.client().get(run_id).state == "running"
    assert bots.click(running, OPERATOR, CANCEL_ACTION, value=run_id).status_code == 200
    final = bots.wait_final(words, timeout=120, proc=lab.processes[0])
    assert "*failed*" in final.text, final.text
    assert f"cancelled by {OPERATOR}" in json.dumps(final.blocks)
