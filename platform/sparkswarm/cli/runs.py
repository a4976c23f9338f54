"""`sparkswarm runs ...`: operation records kept by the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sparkswarm.cli.common import JSON_OPTION, console, expose, print_json, show
from sparkswarm.requests import queue as grammar

if TYPE_CHECKING:
    from sparkswarm.workers.run_record import RunRecord

app = typer.Typer(help=grammar.runs.help, no_args_is_help=True)

RUN_COLUMNS = ["id", "op", "target", "state", "source", "requester", "created", "took"]


def _row(record: RunRecord) -> dict[str, object]:
    from datetime import UTC, datetime

    data = record.model_dump(mode="json")
    created = datetime.fromtimestamp(data["created_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    took = ""
    if data.get("started_at") and data.get("finished_at"):
        took = f"{data['finished_at'] - data['started_at']:.1f}s"
    # Short ids like docker's; `runs show` and `runs cancel` take any unique prefix.
    return {**data, "id": data["id"][:12], "created": created, "took": took}


def _list(records: list[RunRecord], as_json: bool) -> None:
    if as_json:
        show(records, RUN_COLUMNS, as_json=True)
    else:
        show([_row(r) for r in records], RUN_COLUMNS, as_json=False)


def _show(record: RunRecord, as_json: bool) -> None:
    """One run's record: parameters, state, timestamps, result or error, notes."""
    if as_json:
        print_json(record)
        return
    import json

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


expose(app, "ls", grammar.ls, _list)


@app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="The run id (or a unique prefix)."),
    follow: bool = typer.Option(
        False,
        "--follow",
        "-f",
        help="Follow the run's events until it ends, then show it; exit 1 unless it "
        "succeeded (re-attaches to a run whose CLI lost the broker).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one run's record: parameters, state, timestamps, result or error, notes."""
    from sparkswarm.cli.common import EXIT_FAILURE, perform
    from sparkswarm.workers.client import queue_client

    record = perform(grammar.show(run_id=run_id))
    if follow and not record.done:
        from sparkswarm.cli.progress_display import follow_run

        record = follow_run(queue_client(), record.id, record.op)
    _show(record, as_json)
    if follow and record.state != "succeeded":
        raise typer.Exit(EXIT_FAILURE)


@app.command("cancel")
def cancel_run(run_id: str = typer.Argument(..., help="The run id.")) -> None:
    """Cancel a run that is still queued (a running operation is not interrupted)."""
    from sparkswarm.cli.common import console
    from sparkswarm.executor import requester_name
    from sparkswarm.workers.client import queue_client

    record = queue_client().cancel(run_id, requester=requester_name())
    console().print(f"{record.id} {record.state}", highlight=False)


@app.command("dead-letters")
def dead_letters(
    limit: int = typer.Option(50, "--limit", "-n", help="Show at most this many, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Queue items workers could not run and moved aside (not a message, a
    task nobody knows, a message that does not match its run's record)."""
    from datetime import UTC, datetime

    from sparkswarm.cli.common import fail
    from sparkswarm.workers.client import queue_client

    if limit < 1:
        raise fail("--limit must be at least 1")
    letters = queue_client().dead_letters(limit)
    if as_json:
        show(letters, ["at", "queue", "reason", "preview"], as_json=True)
        return
    rows = [
        {
            "at": datetime.fromtimestamp(letter.at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "queue": letter.queue,
            "reason": letter.reason,
            "preview": letter.preview,
        }
        for letter in letters
    ]
    show(rows, ["at", "queue", "reason", "preview"], as_json=False)
