"""The queue's own reads: ``runs ls``, ``runs show``, ``schedule ls``."""

from __future__ import annotations

import typer

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests.builders import group
from sparkswarm.requests.model import Request, request
from sparkswarm.states import check_run_state

runs = group("runs", "Operation runs recorded by the queue.")
runs.terminal("cancel", "cancels a queued run from a terminal")
schedule = group("schedule", "Schedules: operations submitted on a cron.")
for _name in ("add", "rm", "pause", "resume"):
    schedule.terminal(_name, "manages schedules from a terminal")


@runs.command("ls", "runs.ls")
def ls(
    state: str | None = typer.Option(
        None, "--state", help="queued, running, succeeded, failed or cancelled."
    ),
    target: str | None = typer.Option(None, "--target", help="service:web, or just web."),
    source: str | None = typer.Option(None, "--source", help="cli, slack or schedule."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
) -> Request:
    """List operation runs, newest first."""
    check_run_state(state)
    from sparkswarm.limits import check_number

    check_number("--limit", limit)
    params = {"state": state, "target": target, "source": source, "limit": limit}
    return request("runs.ls", params)


@runs.command("show", "runs.show")
def show(run_id: str = typer.Argument(..., help="The run id (or a unique prefix).")) -> Request:
    """Show one run's record: parameters, state, timestamps, result or error, notes."""
    if not run_id.strip():
        raise InvalidRequest("give a run id")
    return request("runs.show", {"run_id": run_id})


@schedule.command("ls", "schedule.ls")
def schedule_ls() -> Request:
    """List schedules with their next run, last run and its outcome."""
    return request("schedule.ls")
