"""Lifecycle states, each defined once: a queued run's (the request layer
checks ``runs ls --state`` against them, the queue records them, the bot
shows them) and a Spark job's (``spark jobs --state``, the job records)."""

from __future__ import annotations

from typing import Literal, get_args

RunState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RUN_STATES: tuple[RunState, ...] = get_args(RunState)
# A run in one of these never changes again.
TERMINAL_STATES: frozenset[RunState] = frozenset({"succeeded", "failed", "cancelled"})

JobState = Literal["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
JOB_STATES: tuple[JobState, ...] = get_args(JobState)
# A job in one of these has ended: its record only gets cleaned up.
FINAL_JOB_STATES: frozenset[JobState] = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def check_run_state(state: str | None) -> None:
    """InvalidRequest unless ``state`` is empty or a run state."""
    if state and state not in RUN_STATES:
        _refuse(state, RUN_STATES)


def check_job_state(state: str | None) -> None:
    """InvalidRequest unless ``state`` is None or a job state (any case)."""
    if state is not None and state.upper() not in JOB_STATES:
        _refuse(state, JOB_STATES)


def _refuse(state: str, known: tuple[str, ...]) -> None:
    from sparkswarm.errors import InvalidRequest

    raise InvalidRequest(f"unknown state {state!r}: one of {', '.join(known)}")
