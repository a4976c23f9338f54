"""`sparkswarm runs ...`: operation records kept by the queue."""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import JSON_OPTION

app = typer.Typer(help="Operation runs recorded by the queue.", no_args_is_help=True)

RUN_COLUMNS = ["id", "op", "target", "state", "source", "requester", "created", "took"]


def _row(record: object) -> dict[str, object]:
    from datetime import UTC, datetime

    data = record.model_dump(mode="json")  # type: ignore[attr-defined]
    created = datetime.fromtimestamp(data["created_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    took = ""
    if data.get("started_at") and data.get("finished_at"):
        took = f"{data['finished_at'] - data['started_at']:.1f}s"
    # Short ids like docker's; `runs show` and `runs cancel` take any unique prefix.
    return {**data, "id": data["id"][:12], "created": created, "took": took}


@app.command("ls")
def list_runs(
    state: str = typer.Option(
        None, "--state", help="queued, running, succeeded, failed or cancelled."
    ),
    target: str = typer.Option(None, "--target", help="service:web, or just web."),
    source: str = typer.Option(None, "--source", help="cli, slack or schedule."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List operation runs, newest first."""
    from sparkswarm.cli.common import show
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.workers.client import queue_client
    from sparkswarm.workers.records import TERMINAL_STATES

    if state and state not in {"queued", "running", *TERMINAL_STATES}:
        raise InvalidRequest(f"unknown state {state!r}")
    if limit < 1:
        raise InvalidRequest("--limit must be at least 1")
    records = queue_client().list(state=state, target=target, source=source, limit=limit)
    if as_json:
        show(records, RUN_COLUMNS, as_json=True)
    else:
        show([_row(r) for r in records], RUN_COLUMNS, as_json=False)


@app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="The run id."),
    follow: bool = typer.Option(
        False,
        "--follow",
        "-f",
        help="Follow the run's events until it ends first; exit 1 unless it succeeded.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one run's record: parameters, state, timestamps, result or error, notes."""
    from sparkswarm.cli.common import EXIT_FAILURE, print_json
    from sparkswarm.workers.client import queue_client

    client = queue_client()
    record = client.get(run_id)
    if follow and not record.done:
        from sparkswarm.cli.progress_display import follow_run

        record = follow_run(client, record.id, record.op)
    if as_json:
        print_json(record)
    else:
        _print_record(record)
    if follow and record.state != "succeeded":
        raise typer.Exit(EXIT_FAILURE)


def _print_record(record: Any) -> None:
    import json

    from sparkswarm.cli.common import console

    out = console()
    row = {**_row(record), "id": record.id}
    for key in (
        "id",
        "op",
        "target",
        "state",
        "source",
        "requester",
        "schedule",
        "created",
        "took",
        "deliveries",
        "retries",
        "worker",
        "error_type",
        "error",
    ):
        value = row.get(key)
        if value not in (None, "", 0) or key in ("state", "deliveries"):
            out.print(f"[bold]{key:>11}[/bold]  {value}", highlight=False)
    out.print(f"[bold]{'params':>11}[/bold]  {json.dumps(record.params)}", highlight=False)
    if record.result is not None:
        out.print(f"[bold]{'result':>11}[/bold]  {json.dumps(record.result)}", highlight=False)
    for note in record.notes:
        out.print(f"[bold]{'note':>11}[/bold]  {note}", highlight=False)


@app.command("cancel")
def cancel_run(run_id: str = typer.Argument(..., help="The run id.")) -> None:
    """Cancel a run that is still queued (a running operation is not interrupted)."""
    from sparkswarm.cli.common import console
    from sparkswarm.workers.client import queue_client, requester_name

    record = queue_client().cancel(run_id, requester=requester_name())
    console().print(f"{record.id} {record.state}", highlight=False)
