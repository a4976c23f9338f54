"""The gateway's one classification of Engine errors, the retry helper and the poller."""

from __future__ import annotations

import pytest

from sparkswarm import retry
from sparkswarm.errors import (
    Conflict,
    InUse,
    InvalidRequest,
    NotFound,
    OutOfSequence,
    Refused,
    SparkswarmError,
    Unavailable,
)
from sparkswarm.gateway import classify
from sparkswarm.waiting import poll


@pytest.mark.parametrize(
    ("status", "text", "kind", "retryable"),
    [
        (500, "rpc error: code = Unknown desc = update out of sequence", OutOfSequence, True),
        (409, "service web already exists", Conflict, True),
        (404, "service web not found", NotFound, False),
        (400, "invalid mount config", InvalidRequest, False),
        (406, "node is not part of a swarm", InvalidRequest, False),
        (503, "This node is not a swarm manager.", InvalidRequest, False),
        (401, "unauthorized", Refused, False),
        (403, "error while removing network: network web id 3f has active endpoints", InUse, False),
        (400, "rpc error: code = InvalidArgument desc = config 'c' is in use by s", InUse, False),
        (400, "port '8080' is already in use by service 'web'", InvalidRequest, False),
        (403, "permission denied", Refused, False),
        (413, "request entity too large", Refused, False),
        (501, "not implemented", Refused, False),
        (
            500,
            "rpc error: code = ResourceExhausted desc = grpc: received message larger than max",
            Refused,
            False,
        ),
        (
            500,
            "rpc error: code = Unknown desc = raft: no elected cluster leader",
            Unavailable,
            True,
        ),
        (503, "the swarm does not have a leader", Unavailable, True),
        (302, "moved", Refused, False),
        (301, "", Refused, False),
    ],
)
def test_engine_errors_are_classified_by_status_and_typed(
    status: int, text: str, kind: type[SparkswarmError], retryable: bool
) -> None:
    error = classify(status, text)
    assert type(error) is kind
    assert error.retryable is retryable
    assert str(error) == text


def test_out_of_sequence_is_a_conflict() -> None:
    assert isinstance(classify(500, "update out of sequence"), Conflict)


def test_retry_rereads_and_backs_off_longer_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", pauses.append)
    versions = iter(range(1, 10))
    sent: list[int] = []
    retried: list[int] = []

    def send(version: int) -> str:
        sent.append(version)
        if len(sent) < 3:
            raise OutOfSequence("update out of sequence")
        return f"sent at {version}"

    result = retry.update_with_retry(
        lambda: next(versions), send, backoff=0.5, on_retry=retried.append
    )
    assert result == "sent at 3"
    assert sent == [1, 2, 3]
    assert pauses == [0.5, 1.0]
    assert retried == [1, 2]


def test_retry_gives_up_with_the_last_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda _: None)
    tries: list[int] = []

    def send(_: None) -> None:
        tries.append(1)
        raise OutOfSequence(f"update out of sequence #{len(tries)}")

    with pytest.raises(OutOfSequence, match="#3"):
        retry.update_with_retry(lambda: None, send, attempts=3)


def test_poll_returns_the_first_answer_or_none_after_the_deadline() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    answers = iter([None, None, "ready"])
    assert poll(lambda: next(answers), timeout=10, interval=1, clock=lambda: now[0], sleep=sleep)
    checks: list[float] = []

    def never() -> None:
        checks.append(now[0])

    now[0] = 0.0
    assert poll(never, timeout=3, interval=1, clock=lambda: now[0], sleep=sleep) is None
    assert checks == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_remove_when_free_waits_while_busy_and_tells_gone_from_removed() -> None:
    from sparkswarm.errors import InUse, NotFound
    from sparkswarm.waiting import remove_when_free

    outcomes: list[Exception | None] = [InUse("in use"), InUse("in use"), None]

    def remove() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    assert remove_when_free(remove, busy=InUse, timeout=5, interval=0.001) is True

    def gone() -> None:
        raise NotFound("no such network")

    assert remove_when_free(gone, busy=InUse, timeout=5, interval=0.001) is False

    def stuck() -> None:
        raise InUse("still in use")

    with pytest.raises(InUse, match="still in use"):
        remove_when_free(stuck, busy=InUse, timeout=0.01, interval=0.001)
