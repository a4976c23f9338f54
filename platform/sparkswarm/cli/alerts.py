"""`sparkswarm alerts ...`: the incidents the swarm watcher recorded (no Slack needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import JSON_OPTION

if TYPE_CHECKING:
    from sparkswarm.workers.incidents import Incident, IncidentStore

app = typer.Typer(
    help="Incidents from the swarm watcher: open ones, or one's history.",
    invoke_without_command=True,
)

ALERT_COLUMNS = ["key", "state", "opened", "updated", "title"]


def _store() -> IncidentStore:
    from sparkswarm.cli.common import fail
    from sparkswarm.config import get_settings

    if not get_settings().redis_url:
        raise fail("set SPARKSWARM_REDIS_URL: incidents are kept in the queue's Redis")
    from sparkswarm.workers.client import broker_errors, queue_client
    from sparkswarm.workers.incidents import incident_store

    with broker_errors("alerts"):
        return incident_store(queue_client())


def _when(stamp: float | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S") if stamp else ""


def _row(incident: Incident) -> dict[str, Any]:
    return {
        "key": incident.key,
        "state": incident.state,
        "opened": _when(incident.opened_at),
        "updated": _when(incident.updated_at),
        "title": incident.title,
    }


@app.callback()
def alerts(
    ctx: typer.Context,
    include_resolved: bool = typer.Option(
        False, "--all", "-a", help="Also the resolved incidents still kept."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List open incidents (newest change first); `alerts show KEY` for one's history."""
    if ctx.invoked_subcommand is not None:
        return
    from sparkswarm.cli.common import show
    from sparkswarm.workers.client import broker_errors

    store = _store()
    with broker_errors("alerts"):
        incidents = store.listing(include_resolved=include_resolved)
    if as_json:
        show(incidents, ALERT_COLUMNS, as_json=True)
    else:
        show([_row(i) for i in incidents], ALERT_COLUMNS, as_json=False)


@app.command("show")
def show_alert(
    key: str = typer.Argument(..., help="The incident key, kind:object (e.g. flapping:web)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One incident: what it is now, and its history (opened, updated, resolved)."""
    import json

    from sparkswarm.cli.common import console, print_json, print_table
    from sparkswarm.workers.client import broker_errors

    store = _store()
    with broker_errors("alerts"):
        incident = store.require(key)
        history = store.history(key)
        silenced = store.silenced_by(key)
    if as_json:
        print_json({"incident": incident, "history": history, "silenced_by": silenced})
        return
    out = console()
    for name, value in (
        ("key", incident.key),
        ("state", incident.state + (f" (silenced by {silenced})" if silenced else "")),
        ("title", incident.title),
        ("opened", _when(incident.opened_at)),
        ("resolved", _when(incident.resolved_at)),
        ("updates", incident.updates),
        ("reopened", incident.reopened),
        ("detail", json.dumps(incident.detail)),
    ):
        if value not in ("", None):
            out.print(f"[bold]{name:>9}[/bold]  {value}", highlight=False)
    rows = [
        {
            "at": _when(entry.get("at")),
            "what": entry.get("what", ""),
            "title": entry.get("title") or entry.get("by", ""),
        }
        for entry in history
    ]
    print_table(rows, ["at", "what", "title"])
