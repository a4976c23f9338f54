"""Shows an operation's progress: live in this process, or a queued run's events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkswarm.progress import ProgressFn
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.run_record import RunRecord


@contextmanager
def live_progress(name: str) -> Iterator[ProgressFn]:
    """A ProgressFn that shows operation ``name``'s progress while the block runs.

    On a terminal: a rich status line, and the messages marked ``log`` as
    log lines. Into a pipe or a file: those messages alone, one plain
    ``[HH:MM:SS] message`` line each (no rich to import, never wrapped).
    """
    import sys

    if not sys.stderr.isatty():
        yield _plain_progress
        return

    from rich.console import Console

    console = Console(stderr=True, log_path=False)
    with console.status(f"{name} ...") as status:

        def progress(message: str, /, **details: Any) -> None:
            status.update(f"{name}: {message}")
            if details.get("log"):
                console.log(message, highlight=False)

        yield progress


def _plain_progress(message: str, /, **details: Any) -> None:
    import sys
    import time

    if details.get("log"):
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
        sys.stderr.flush()


def follow_run(client: QueueClient, run_id: str, name: str, *, after: str = "0-0") -> RunRecord:
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

    def on_quiet(record: RunRecord) -> None:
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


def queued_notice(record: RunRecord, ahead: RunRecord | None, waited: float) -> str:
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


def error_of(record: RunRecord) -> Exception:
    """The error a failed or cancelled record stands for, as one of our classes."""
    from sparkswarm import errors

    message = record.error or f"run {record.id} {record.state}"
    cls = getattr(errors, record.error_type or "", None)
    if isinstance(cls, type) and issubclass(cls, errors.SparkswarmError):
        return cls(message)
    if record.state == "cancelled":
        return errors.Conflict(message)
    return errors.OperationFailed(message)
