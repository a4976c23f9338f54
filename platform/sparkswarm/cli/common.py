"""What every CLI command shares: output, exit codes, running operations.

Exit codes: 0 ok, 2 invalid input (also unknown objects and refused
permissions), 1 any other failure.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sparkswarm.executor import Executor
    from sparkswarm.gateway import Gateway
    from sparkswarm.requests import Request

EXIT_FAILURE = 1
EXIT_INVALID = 2

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
DETACH_OPTION = typer.Option(False, "--detach", "-d", help="Return without waiting.")
YES_OPTION = typer.Option(
    False, "--yes", "-y", help="Do not ask first (the command warns when it would break more)."
)

_gateway: Gateway | None = None
_executor: Executor | None = None


def gateway() -> Gateway:
    """The process's gateway to the swarm (configured from settings)."""
    global _gateway
    if _gateway is None:
        from sparkswarm.gateway import Gateway

        _gateway = Gateway.from_settings()
    return _gateway


def exit_code_for(exc: BaseException) -> int:
    """Map one of our errors to the documented exit code."""
    from sparkswarm.errors import Forbidden, InvalidRequest, NotFound

    if isinstance(exc, InvalidRequest | NotFound | Forbidden):
        return EXIT_INVALID
    return EXIT_FAILURE


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print ``message`` to stderr and return the Exit to raise."""
    _to_stderr("error", "red", message, soft_wrap=True)
    return typer.Exit(code)


def _to_stderr(label: str, colour: str, message: str, *, soft_wrap: bool) -> None:
    """``label: message`` on stderr: coloured on a terminal, else plain text.

    Into a pipe or a file the line is written as is (no rich: nothing to
    import on that path, and rich would wrap long lines at 80 columns).
    """
    if not sys.stderr.isatty():
        sys.stderr.write(f"{label}: {message}\n")
        return
    from rich.markup import escape

    # Messages quote user input and patterns such as "[a-z]": not rich markup.
    # soft_wrap: one refusal is one line, whatever the width (scripts grep it).
    err_console().print(
        f"[{colour}]{label}:[/{colour}] {escape(message)}", highlight=False, soft_wrap=soft_wrap
    )


def say(text: str) -> None:
    """Print one line of plain text on stdout, literally (no markup, no
    wrapping, no rich to import): what the engine commands report."""
    sys.stdout.write(text + "\n")


def console() -> Any:
    from rich.console import Console

    return Console()


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` (results and pydantic models included) as indented JSON."""
    sys.stdout.write(json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    """A value json cannot write, as one it can: a result (a dataclass) as its
    fields; anything else (pydantic models, dates) as pydantic dumps it, so
    pydantic_core loads only for those, never for an engine command's result."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def print_table(rows: Iterable[Any], columns: Sequence[str], *, title: str | None = None) -> None:
    """Print rows (dicts, results or pydantic models) as a table of ``columns``.

    On a terminal: a rich table. Into a pipe or a file: plain tab-separated
    columns under a header line, never truncated or ellipsised (as
    ``docker ... ls`` prints), so ``sparkswarm schedule ls | grep NAME``
    finds the whole name; the title, if any, goes to stderr so that stdout
    holds the header and the rows only.
    """
    if not sys.stdout.isatty():
        if title:
            sys.stderr.write(title + "\n")
        sys.stdout.write(plain_table(rows, columns))
        return
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column.upper().replace("_", " "))
    for row in rows:
        data = _row(row)
        table.add_row(*(_cell(data.get(column)) for column in columns))
    console().print(table)


def plain_table(rows: Iterable[Any], columns: Sequence[str]) -> str:
    """Tab-separated lines: a header of ``columns`` in capitals, then one line per row.

    Tabs and newlines inside a value become spaces, so each row stays one line.
    """
    lines = ["\t".join(column.upper().replace("_", " ") for column in columns)]
    for row in rows:
        data = _row(row)
        cells = (_text(data.get(column)) for column in columns)
        lines.append("\t".join(" ".join(cell.split()) for cell in cells))
    return "\n".join(lines) + "\n"


def _row(row: Any) -> dict[str, Any]:
    """A table row's values by column name, as ``--json`` writes them (see
    :func:`_jsonable`: a dict or result of plain values loads nothing more)."""
    data: dict[str, Any] = json.loads(json.dumps(row, default=_jsonable))
    return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _cell(value: Any) -> Any:
    from rich.text import Text

    # A Text cell is shown as is: labels, errors and commands may hold "[...]".
    return Text(_text(value))


def show(data: Any, columns: Sequence[str], *, as_json: bool, title: str | None = None) -> None:
    """Print a list as JSON or as a table, as the user asked."""
    if as_json:
        print_json(data)
    else:
        print_table(data, columns, title=title)


KEY_OPTION = typer.Option(
    None, "--key", help="Idempotency key: the same key again runs once (queue only)."
)

Renderer = Callable[[Any, bool], None]


def executor() -> Executor:
    """The process's executor, chosen once from settings (see
    :func:`sparkswarm.workers.executor.executor_for`): the queue's when a
    broker is configured, with this process's engine for engine reads and
    ``local`` operations; this process alone otherwise."""
    global _executor
    if _executor is None:
        from sparkswarm.config import get_settings
        from sparkswarm.executor import LocalExecutor
        from sparkswarm.workers.executor import executor_for

        _executor = executor_for(get_settings(), local=LocalExecutor(gateway))
    return _executor


def perform(request: Request, *, detach: bool = False, key: str | None = None) -> Any:
    """Carry out ``request`` with the process's executor; its typed result.

    Reads are answered at once. A change shows its progress: live when it
    runs in this process, its run's events when it was queued. With
    ``detach`` a queued run's id is printed and the command ends at once
    (``typer.Exit(0)``); an operation in this process is told not to wait.
    Raises a failed run's recorded error as the same class as in-process.
    """
    from sparkswarm.executor import Origin, requester_name
    from sparkswarm.operations import get_operation, rebuild_result

    op = get_operation(request.op)
    for warning in request.warnings:
        warn(warning)
    if op.read_only:
        return executor().read(request)
    from sparkswarm.cli.progress_display import error_of, follow_run, live_progress

    origin = Origin(requester_name(), "cli")
    with live_progress(request.op) as progress:
        run = executor().submit(request, origin=origin, key=key, detach=detach, progress=progress)
    if run.run_id is None:
        return run.result
    if detach:
        sys.stdout.write(run.run_id + "\n")
        raise typer.Exit(0)
    from sparkswarm.workers.client import queue_client

    if not run.created:
        sys.stderr.write(f"run {run.run_id} exists already; following it\n")
    record = follow_run(queue_client(), run.run_id, request.op, after=run.stream_id or "0-0")
    if record.state != "succeeded":
        raise error_of(record)
    return rebuild_result(request.op, record.result)


def warn(message: str) -> None:
    """Print a warning to stderr, literally."""
    _to_stderr("warning", "yellow", message, soft_wrap=False)


def expose(
    app: typer.Typer,
    name: str,
    builder: Callable[..., Request],
    render: Renderer,
    *,
    detach: bool = False,
) -> None:
    """Register ``builder`` (a grammar command) as CLI command ``name`` of ``app``.

    The command takes the builder's arguments and options plus ``--json``,
    ``--detach`` (when ``detach``) and ``--key`` (changes only); it builds
    the request, performs it and renders the typed result.
    """
    from sparkswarm.requests.builders import extend_signature, is_read_builder

    extra: list[tuple[str, Any, Any]] = [("as_json", bool, JSON_OPTION)]
    if detach:
        extra.append(("detach", bool, DETACH_OPTION))

    if not is_read_builder(builder):
        extra.append(("key", str | None, KEY_OPTION))
    if _warns(builder):
        extra.append(("yes", bool, YES_OPTION))

    added = {option for option, _, _ in extra}

    def command(**kwargs: Any) -> None:
        as_json = kwargs.pop("as_json")
        yes = kwargs.pop("yes", False)
        # Only what this wrapper added is presentation; the rest is the builder's
        # (node drain's own --detach is a parameter of its request).
        options = {key: kwargs.pop(key) for key in ("detach", "key") if key in added}
        request = builder(**kwargs)
        if not yes:
            ask_first(request)
        render(perform(request, **options), as_json)

    extend_signature(builder, command, add=extra)
    app.command(name, epilog=permission_note(builder))(command)


def _warns(builder: Callable[..., Request]) -> bool:
    """Whether the builder's operation may warn of what it breaks (then --yes exists)."""
    from sparkswarm.operations import get_operation, nothing
    from sparkswarm.requests.builders import BUILDER_OPS

    return get_operation(BUILDER_OPS[builder]).warns is not nothing


def ask_first(request: Request) -> None:
    """Say what ``request`` breaks (the registry's warnings) and ask to go on.

    On a terminal the user answers y/N; otherwise (a script, a pipe) nothing
    is asked and nothing runs. Raises InvalidRequest (exit 2) when not
    confirmed, naming ``--yes``.
    """
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.operations import get_operation

    warnings = get_operation(request.op).warns(dict(request.params))
    if not warnings:
        return
    text = "; ".join(warnings)
    if sys.stdin.isatty() and sys.stderr.isatty():
        warn(text)
        if typer.confirm("Go ahead?", default=False, err=True):
            return
        raise InvalidRequest("not confirmed; nothing changed")
    raise InvalidRequest(f"{text}. Nothing changed; add --yes to go ahead")


def permission_note(builder: Callable[..., Request]) -> str:
    """What the registry says about a command: the role chat needs, and
    whether chat asks for a confirmation first."""
    from sparkswarm.operations import always, get_operation, never, nothing
    from sparkswarm.requests.builders import BUILDER_OPS

    op = get_operation(BUILDER_OPS[builder])
    if not op.chat:
        return f"Operation {op.name}; not offered in chat."
    note = f"Operation {op.name}; in chat needs the {op.role} role"
    if op.destructive is always:
        note += " and a confirmation (destructive)"
    elif op.destructive is not never:
        when = (op.destructive.__doc__ or "").strip().rstrip(".")
        note += f" and a confirmation when destructive ({when})"
    if op.elevates is not nothing:
        note += (
            "; the admin role and a confirmation when it reaches the hosts"
            " (host mounts, capabilities)"
        )
    if op.warns is not nothing:
        what = (op.warns.__doc__ or "").strip().rstrip(".")
        note += f"; it warns and asks first for {what}"
    return note + "."
