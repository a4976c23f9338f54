"""Runs an operation while showing its progress with rich."""

from __future__ import annotations

from typing import Any


def run_with_progress(name: str, params: dict[str, Any], *, detach: bool) -> Any:
    """Run operation ``name`` in-process, rendering progress messages live;
    return its typed result.

    On a terminal: a rich status line, and the messages marked ``log`` as
    log lines. Into a pipe or a file: those messages alone, one plain
    ``[HH:MM:SS] message`` line each (no rich: faster to start, never wrapped).
    """
    import sys

    from sparkswarm.cli.common import gateway
    from sparkswarm.operations import call_operation

    params = {**params}
    if detach:
        params.setdefault("detach", True)
    if not sys.stderr.isatty():
        return call_operation(gateway(), name, params, _plain_progress)

    from rich.console import Console

    console = Console(stderr=True, log_path=False)
    with console.status(f"{name} ...") as status:

        def progress(message: str, /, **details: Any) -> None:
            status.update(f"{name}: {message}")
            if details.get("log"):
                console.log(message, highlight=False)

        return call_operation(gateway(), name, params, progress)


def _plain_progress(message: str, /, **details: Any) -> None:
    import sys
    import time

    if details.get("log"):
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
        sys.stderr.flush()


def submit_and_follow(
    name: str, params: dict[str, Any], *, detach: bool, key: str | None = None
) -> Any:
    """Submit operation ``name`` to the queue; follow its events to the end.

    Shows each event as it arrives (progress in a status line, task state
    changes, retries and recovery as log lines) and returns the result. With
    ``detach``, prints the run id and ends the command (``typer.Exit(0)``).
    ``key`` is the idempotency key (the same key twice runs once). Raises the
    recorded error (same class as in-process) if the run failed, Conflict if
    ``key`` was used for other parameters, Unavailable if the broker cannot be
    reached (the message names the run and how to follow it again, once it
    was submitted).
    """
    import sys

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
    record = follow_run(client, submission.run_id, name, after=submission.stream_id or "0-0")
    if record.state == "succeeded":
        return record.result
    raise _error_of(record)


def follow_run(client: Any, run_id: str, name: str, *, after: str = "0-0") -> Any:
    """Show the events of run ``run_id`` from stream id ``after`` until it
    ends; its final record. Rides out a Redis outage of up to the
    ``follow_grace`` setting; after that raises Unavailable naming the run
    and how to follow it again."""
    import time

    from rich.console import Console

    from sparkswarm.errors import Unavailable

    console = Console(stderr=True, log_path=False)
    grace = client.settings.follow_grace
    started = time.monotonic()
    noticed = False

    def on_quiet(record: Any) -> None:
        nonlocal noticed
        waited = time.monotonic() - started
        if noticed or record.state != "queued" or waited < client.settings.queued_notice:
            return
        noticed = True
        blocker = client.store.blocker(record)
        ahead = client.store.find(blocker) if blocker else None
        console.log(queued_notice(record, ahead, waited), highlight=False)

    def on_lost(exc: Exception) -> None:
        console.log(
            f"lost the broker while following run {run_id} ({exc}); re-attaching for up "
            f"to {grace:g} s. The run goes on regardless: `sparkswarm runs show {run_id} "
            "--follow` follows it again.",
            highlight=False,
        )

    def on_back() -> None:
        console.log(f"broker back; following run {run_id} again", highlight=False)

    try:
        with console.status(f"{name}: queued as {run_id}") as status:
            for event in client.follow(
                run_id,
                after=after,
                on_quiet=on_quiet,
                grace=grace,
                on_lost=on_lost,
                on_back=on_back,
            ):
                _render(console, status, name, event)
        return client.get(run_id)
    except Unavailable as exc:
        raise Unavailable(
            f"run {run_id}: {exc}. The run goes on without us; follow it again with "
            f"`sparkswarm runs show {run_id} --follow`"
        ) from exc


def queued_notice(record: Any, ahead: Any, waited: float) -> str:
    """Why run ``record`` is still queued after ``waited`` seconds: the run
    ``ahead`` of it on its target (a RunRecord, or None if none is)."""
    if ahead is not None:
        return (
            f"{record.id} waits for {record.target}: run {ahead.id} ({ahead.op}, "
            f"{ahead.state}) goes first"
        )
    return (
        f"{record.id} still queued after {waited:.0f} s: is a worker running "
        "(`sparkswarm worker`)? Ctrl-C stops following; the run stays queued."
    )


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
