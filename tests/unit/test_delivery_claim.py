"""The claim a delivered message carries to the pool (workers/delivery_claim.py)
is only trusted when this worker took it."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from sparkswarm.workers.delivery_claim import WORKER_TOKEN, Claim, delivery_token


def test_a_claim_taken_by_this_worker_process_is_read_back() -> None:
    token = delivery_token()
    claim = Claim.from_header(Claim(token, "started", 1, "", "").as_header())
    assert claim == Claim(token, "started", 1, "", "")


def test_each_delivery_claims_with_a_token_of_its_own() -> None:
    tokens = {delivery_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith(f"{WORKER_TOKEN}:") for t in tokens)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "started",
        # a process that is neither this one nor its parent
        [f"{socket.gethostname()}:{os.getpid() + os.getppid() + 1}:abc:1-1", "started", 1, "", ""],
        [f"elsewhere:{os.getpid()}:abc:1-1", "started", 1, "", ""],  # another host
        ["started", 1, "", ""],
        [delivery_token(), "started", "1", "", ""],
        [delivery_token(), "started", True, "", ""],
        [delivery_token(), 7, 1, "", ""],
    ],
)
def test_a_header_this_worker_did_not_write_is_no_claim(header: Any) -> None:
    assert Claim.from_header(header) is None
