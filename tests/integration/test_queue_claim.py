"""A run is claimed on the round trip that delivers its message (see
workers/delivery_claim.py): real redis-server, a real `sparkswarm worker`,
every command the worker sends watched with MONITOR.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.queue_harness import QueueLab, queue_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("claim")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(lab: QueueLab) -> Any:
    return lab.start_worker(concurrency=2)


def watched(lab: QueueLab, action: Any) -> list[dict[str, Any]]:
    """The commands Redis executed while ``action()`` ran (MONITOR)."""
    marker = f"end-of-watch-{uuid.uuid4().hex}"
    seen: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        with lab.client().redis.monitor() as monitor:
            ready.set()
            while True:
                command = monitor.next_command()
                if marker in command["command"]:
                    return
                seen.append(command)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    qc = lab.client()
    qc.redis.ping()  # MONITOR answers before it listens: make sure it does
    try:
        action()
    finally:
        qc.redis.echo(marker)
        thread.join(30)
    return seen


def test_a_run_is_claimed_in_the_round_trip_that_records_its_message_as_unacked(
    lab: QueueLab, worker: Any
) -> None:
    qc = lab.client()
    qc.redis.ping()
    run: dict[str, str] = {}

    def submit_and_wait() -> None:
        sub = qc.submit("queue.noop", {}, requester="t", source="api")
        run["id"] = sub.run_id
        assert qc.wait(sub.run_id, 60).state == "succeeded"

    commands = watched(lab, submit_and_wait)
    record = qc.get(run["id"])
    assert record.deliveries == 1

    def connection(command: dict[str, Any]) -> tuple[str, Any]:
        return (command["client_address"], command["client_port"])

    claims = [
        c
        for c in commands
        if c["command"].startswith(f"EVALSHA {qc.store.claim_sha} ") and run["id"] in c["command"]
    ]
    assert len(claims) == 1, [c["command"][:80] for c in claims]
    claim = claims[0]
    # On the worker's broker connection, between the MULTI and EXEC that
    # record the message as unacked (kombu's ZADD + HSET).
    same = [c["command"] for c in commands if connection(c) == connection(claim)]
    at = same.index(claim["command"])
    multi = max(i for i in range(at) if same[i] == "MULTI")
    assert same[multi + 1].startswith("ZADD unacked_index ")
    assert same[multi + 2].startswith("HSET unacked ")
    assert same[at + 1] == "EXEC"
