"""How a ``spark.submit`` run's thread message follows its Spark job (pure):
the view folds the job's ``spark.job`` events and its record, never moves
back, and is done only when the job is; plus the spark commands in chat."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from sparkswarm.bots import answers, commands, present
from sparkswarm.bots.jobview import job_output
from sparkswarm.spark.job_record import JobAsk, JobRecord
from sparkswarm.workers.events import OperationStarted, OperationSucceeded, SparkJobChanged


def _job_event(state: str, at: float, **extra: Any) -> SparkJobChanged:
    return SparkJobChanged(run_id="r1", op="spark.submit", job_id="j1", state=state, at=at, **extra)


def _record(**changes: Any) -> JobRecord:
    base = JobRecord(
        id="j1",
        stack="spark",
        service="s",
        name="pi",
        script="pi.py",
        ask=JobAsk(cores=1, executor_memory_mb=512),
        created_at=100.0,
    )
    return base.model_copy(update=changes)


def _submitted_view() -> present.RunView:
    view = present.RunView("slack:1.2", "spark submit pi 4", created_at=99.0)
    view.apply(OperationStarted(run_id="r1", op="spark.submit", at=99.5))
    view.apply(_job_event("SUBMITTED", 100.0, message="spark job j1 (pi) SUBMITTED"))
    assert view.shown == "running" and not view.done  # the run has not ended yet
    result = {"job_id": "j1", "state": "SUBMITTED", "record": {"state": "SUBMITTED"}}
    view.apply(OperationSucceeded(run_id="r1", op="spark.submit", at=101.0, result=result))
    return view


def test_a_submit_run_that_succeeded_is_not_done_until_its_job_is() -> None:
    view = _submitted_view()
    assert view.state == "succeeded" and view.awaits_job and not view.done
    assert view.shown == "submitted"
    view.apply(_job_event("SUBMITTED", 101.5, reason="waiting for a free core (0 of 1 free)"))
    text, _ = present.status_message(view)
    assert "*submitted*" in text and "job `j1`" in text and "waiting: waiting for" in text
    assert "*succeeded*" not in text  # the run's success is not the job's
    assert view.job is not None
    running = _record(state="RUNNING", app_id="app-7")
    assert view.job.apply_record(running) and not view.job.apply_record(running)
    view.apply(_job_event("RUNNING", 103.0, app_id="app-7"))
    text, _ = present.status_message(view)
    assert "*running*" in text and "application app-7" in text
    view.apply(_job_event("SUCCEEDED", 110.0))
    assert view.done and view.shown == "succeeded"
    # The end as the record has it (the event carries no output).
    assert view.job is not None and not view.job.complete
    view.job.apply_record(_record(state="SUCCEEDED", finished_at=112.5, output=["Pi is 3.14"]))
    text, blocks = present.status_message(view)
    assert ":white_check_mark: *succeeded*" in text and "in 12.5 s" in text
    assert "Pi is 3.14" in str(blocks)


def test_an_older_event_after_a_newer_record_does_not_move_the_job_back() -> None:
    view = _submitted_view()
    assert view.job is not None
    assert view.job.apply_record(_record(state="CANCELLED", cancelled_by="U0ADM", finished_at=1.0))
    assert not view.job.apply_event(_job_event("RUNNING", 105.0))
    view.apply(_job_event("RUNNING", 105.0))
    assert view.shown == "cancelled" and view.done
    assert "by <@U0ADM>" in present.status_message(view)[0]


def test_a_job_that_never_ran_or_a_run_that_failed_ends_at_once() -> None:
    never = present.RunView("r", "spark submit pi 4")
    result = {"job_id": "j1", "state": "FAILED", "record": {"state": "FAILED"}}
    never.apply(OperationSucceeded(run_id="r", op="spark.submit", result=result))
    assert never.done and never.shown == "failed"
    other = present.RunView("x", "service scale web=1")
    other.apply(OperationSucceeded(run_id="x", op="service.scale", result={"job_id": "j9"}))
    assert other.job is None and other.done  # only a spark.submit starts a job

    @dataclass
    class Failed:
        type: str = "operation.failed"
        at: float = 2.0
        error: str = "no alive workers"
        message: str = ""
        op: str = "spark.submit"
        extra: dict[str, Any] = field(default_factory=dict)

    refused = present.RunView("r2", "spark submit pi 4")
    refused.apply(Failed())
    assert refused.done and "reason: no alive workers" in present.status_message(refused)[0]


def test_failed_job_shows_its_reason_and_long_output_is_cut() -> None:
    view = _submitted_view()
    assert view.job is not None
    view.job.apply_record(_record(state="FAILED", reason="killed for memory (exit 137)"))
    assert "reason: killed for memory (exit 137)" in present.status_message(view)[0]
    long = _submitted_view()
    assert long.job is not None
    long.job.apply_record(
        _record(state="SUCCEEDED", output=[f"row {i}" for i in range(30)] + ["x" * 500])
    )
    lines, cut = job_output(long.job)
    assert cut and "row 29" in lines[-3] and len(lines[-2]) == 200
    assert "31 lines in all" in lines[-1] and "row 0" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "op", "role", "destructive"),
    [
        ("jobs", "spark.jobs", "viewer", False),
        ("job abc123", "spark.job", "viewer", False),
        ("cancel abc123", "spark.cancel", "operator", True),
        ("up --workers 1", "spark.up", "operator", False),
        ("down", "spark.down", "admin", True),
    ],
)
def test_spark_commands_in_chat_follow_the_registry(
    text: str, op: str, role: str, destructive: bool
) -> None:
    request = commands.parse(commands.words_of("/spark", text))
    policy = commands.policy(request.op, dict(request.params))
    assert (request.op, policy.role, policy.destructive, policy.chat) == (
        op,
        role,
        destructive,
        True,
    )


def test_jobs_and_job_answers_are_block_kit() -> None:
    now = time.time()
    records = [
        _record(state="RUNNING", requester="U0OPER", source="slack", created_at=now - 5),
        _record(id="j2", state="FAILED", reason="no alive workers", finished_at=now),
    ]
    text, blocks = answers.jobs_answer(records)
    assert blocks[0]["type"] == "header" and len(blocks) == 3
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*id*\nj1" in fields and "*state*\n:arrows_counterclockwise: running" in fields
    assert "*by*\nU0OPER (slack)" in fields
    assert "no alive workers" in text
    text, blocks = answers.job_answer(_record(state="SUCCEEDED", output=["Pi is roughly 3.1"]))
    assert ":white_check_mark: *succeeded* spark job `j1` (pi)" in blocks[0]["text"]["text"]
    assert "Pi is roughly 3.1" in blocks[1]["text"]["text"]


def test_a_queued_job_shows_its_place_then_moves_on_when_it_starts() -> None:
    view = present.RunView("slack:1.3", "spark submit pi", created_at=99.0)
    view.apply(OperationStarted(run_id="r1", op="spark.submit", at=99.5))
    view.apply(_job_event("QUEUED", 100.0, reason="2 ahead of you (your quota: 1 job)"))
    result = {"job_id": "j1", "state": "QUEUED", "record": {"state": "QUEUED"}}
    view.apply(OperationSucceeded(run_id="r1", op="spark.submit", at=100.5, result=result))
    text, _ = present.status_message(view)
    assert "*queued*" in text and "waiting: 2 ahead of you" in text and not view.done
    view.apply(_job_event("QUEUED", 101.0, reason="0 ahead of you (your quota: 1 job)"))
    assert "waiting: 0 ahead of you" in present.status_message(view)[0]
    view.apply(_job_event("SUBMITTED", 102.0))
    view.apply(_job_event("QUEUED", 101.5, reason="1 ahead of you"))  # older: ignored
    assert view.job is not None and view.job.state == "SUBMITTED"
