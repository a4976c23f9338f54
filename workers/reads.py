"""Reads answered from Redis (``runs ls``, ``runs show``, ``schedule ls``):
the registry's ``executor="queue"`` operations. Whoever holds a queue client
answers them (the CLI, the bot); no worker and no engine are involved."""

from __future__ import annotations

from sparkswarm.errors import InvalidRequest
from sparkswarm.states import RUN_STATES
from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.records import RunRecord
from sparkswarm.workers.schedules import ScheduleBook, ScheduleView


def list_runs(
    client: QueueClient,
    *,
    state: str | None = None,
    target: str | None = None,
    source: str | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """Run records, newest first; InvalidRequest for an unknown state or limit < 1."""
    if state and state not in RUN_STATES:
        raise InvalidRequest(f"unknown state {state!r}: one of {', '.join(RUN_STATES)}")
    if limit < 1:
        raise InvalidRequest("--limit must be at least 1")
    return client.list(state=state, target=target, source=source, limit=limit)


def show_run(client: QueueClient, *, run_id: str) -> RunRecord:
    """One run's record by id or unique id prefix; NotFound when there is none."""
    return client.get(run_id)


def list_schedules(client: QueueClient) -> list[ScheduleView]:
    """Every schedule with its next run and the last run's outcome."""
    return ScheduleBook(client).views()
