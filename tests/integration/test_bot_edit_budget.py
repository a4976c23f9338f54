"""The notifier's edits of several runs at once against the Slack double,
which meters ``chat.update`` as Slack does (tier 3): on a real redis-server
(run records and the events stream as a worker writes them), no worker, no
swarm. Progress of many runs must share the method's budget, never draw
429s, and leave room for every outcome.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double
from tests.support.queue_harness import QueueLab, queue_lab, wait_for

pytestmark = pytest.mark.integration
CHANNEL = "C0OPS"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QueueLab]:
    with queue_lab(tmp_path) as lab:  # redis-server only
        yield lab


def test_progress_of_six_runs_stays_within_chat_updates_tier_and_every_outcome_is_posted(
    lab: QueueLab,
) -> None:
    from slack_sdk import WebClient

    from sparkswarm.bots.blockkit import section
    from sparkswarm.bots.notifier import Notifier
    from sparkswarm.bots.scrub import Scrubber
    from sparkswarm.bots.slack_out import SlackOut
    from sparkswarm.workers.events import OperationSucceeded, TaskStateChanged

    qc = lab.client()
    with double.SlackDouble() as web:
        web.invite(CHANNEL)
        client = WebClient(token=web.bot_token, base_url=web.api_url, timeout=10)
        # A short interval per message: the shared budget is what must hold.
        notifier = Notifier(qc, SlackOut(client, Scrubber([])), interval=0.2)
        stop = threading.Event()
        thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
        thread.start()
        try:
            runs: list[tuple[str, str]] = []
            for i in range(6):
                sub = qc.submit(
                    "service.scale", {"replicas": {f"w{i}": 2}}, requester="U0OPER", source="slack"
                )
                ts = notifier.out.post(CHANNEL, "queued", [section("queued")])
                assert ts is not None
                notifier.follow(sub.run_id, CHANNEL, ts, f"service scale w{i}=2")
                runs.append((sub.run_id, ts))
            states = ("pending", "starting", "running")
            for step in range(60):  # six seconds of task changes in every run
                for run_id, _ in runs:
                    qc.events.publish(
                        TaskStateChanged(
                            run_id=run_id,
                            op="service.scale",
                            task=f"t{step % 4}",
                            state=states[step % 3],
                            message=f"step {step}",
                        )
                    )
                time.sleep(0.1)
            for run_id, _ in runs:
                result: dict[str, Any] = {"service": run_id[:8], "running": 2}
                event = OperationSucceeded(run_id=run_id, op="service.scale", result=result)
                qc.store.finish(run_id, "succeeded", event.model_dump_json(), result=result)
            wait_for(
                lambda: {r for r, _ in runs} <= set(notifier.finished),
                60,
                "every outcome",
                explain=lambda: str([(c.method, c.status) for c in web.calls[-20:]]),
            )
        finally:
            stop.set()
            thread.join(5)
        updates = web.calls_of("chat.update")
        assert [c for c in updates if c.status == 429] == []
        assert len([c for c in updates if "*running*" in str(c.args["text"])]) >= 6
        for _, ts in runs:
            message = web.messages[(CHANNEL, ts)]
            assert "*succeeded*" in message.text and message.blocks
