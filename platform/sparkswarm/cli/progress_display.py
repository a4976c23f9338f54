"""Runs an operation while showing its progress with rich."""

from __future__ import annotations

from typing import Any


def run_with_progress(name: str, params: dict[str, Any], *, detach: bool) -> Any:
    """Run operation ``name`` in-process, rendering progress messages live;
    return its typed result."""
    from rich.console import Console

    from sparkswarm.cli.common import gateway
    from sparkswarm.operations import call_operation

    console = Console(stderr=True, log_path=False)
    with console.status(f"{name} ...") as status:

        def progress(message: str, /, **details: Any) -> None:
            status.update(f"{name}: {message}")
            if details.get("log"):
                console.log(message, highlight=False)

        params = {**params}
        if detach:
            params.setdefault("detach", True)
        return call_operation(gateway(), name, params, progress)


def submit_and_follow(
    name: str, params: dict[str, Any], *, detach: bool, key: str | None = None
) -> Any:
    """Submit operation ``name`` to the queue; follow its events to the end.

    Shows each event as it arrives (progress in a status line, task state
    changes, retries and recovery as log lines) and returns the result. With
    ``detach``, prints the run id and ends the command (``typer.Exit(0)``).
    Raises the recorded error (same class as in-process) if the run failed,
    Unavailable if the broker cannot be reached.
    """
    import sys
    import time

    from rich.console import Console

    from sparkswarm.workers.client import queue_client, requester_name

    client = queue_client()
    submission = client.submit(name, params, requester=requester_name(), source="cli", key=key)
    if detach:
        # The command's own rendering expects a finished result: end it here.
        import typer

        sys.stdout.write(submission.run_id + "\n")
        raise typer.Exit(0)
    console = Console(stderr=True, log_path=False)
    if not submission.created:
        console.print(f"run {submission.run_id} exists already; following it", highlight=False)
    submitted = time.monotonic()
    warned = False

    def on_quiet(record: Any) -> None:
        nonlocal warned
        if record.state == "queued" and not warned and time.monotonic() - submitted > 10:
            warned = True
            console.log(
                f"{submission.run_id} still queued after 10 s: is a worker running "
                "(`sparkswarm worker`)? Ctrl-C stops following; the run stays queued."
            )

    with console.status(f"{name}: queued as {submission.run_id}") as status:
        after = submission.stream_id or "0-0"
        for event in client.follow(submission.run_id, after=after, on_quiet=on_quiet):
            _render(console, status, name, event)
    record = client.get(submission.run_id)
    if record.state == "succeeded":
        return record.result
    raise _error_of(record)


def _render(console: Any, status: Any, name: str, event: Any) -> None:
    kind = event.type
    if kind == "operation.progress":
        status.update(f"{name}: {event.message}")
        if event.details.get("log"):
            console.log(event.message, highlight=False)
    elif kind == "operation.started":
        status.update(f"{name}: started on {event.worker}")
    elif kind in ("task.state", "operation.retrying", "operation.recovered", "operation.waiting"):
        console.log(event.message or f"{event.task} {event.state}", highlight=False)


def _error_of(record: Any) -> Exception:
    """The error a failed or cancelled record stands for, as one of our classes."""
    from sparkswarm import errors

    message = record.error or f"run {record.id} {record.state}"
    cls = getattr(errors, record.error_type or "", None)
    if isinstance(cls, type) and issubclass(cls, errors.SparkswarmError):
        return cls(message)
    if record.state == "cancelled":
        return errors.Conflict(message)
    return errors.OperationFailed(message)
