"""What every CLI command shares: output, exit codes, running operations.

Exit codes: 0 ok, 2 invalid input (also unknown objects and refused
permissions), 1 any other failure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
DETACH_OPTION = typer.Option(False, "--detach", "-d", help="Return without waiting.")

_gateway: Gateway | None = None


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
    from rich.markup import escape

    # Messages quote user input and patterns such as "[a-z]": not rich markup.
    # soft_wrap: one refusal is one line, whatever the width (scripts grep it).
    err_console().print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def console() -> Any:
    from rich.console import Console

    return Console()


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` (pydantic models included) as indented JSON."""
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, default=str) + "\n")


def to_jsonable(data: Any) -> Any:
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [to_jsonable(item) for item in data]
    if isinstance(data, dict):
        return {k: to_jsonable(v) for k, v in data.items()}
    return data


def print_table(rows: Iterable[Any], columns: Sequence[str], *, title: str | None = None) -> None:
    """Print rows (dicts or pydantic models) as a table of ``columns``.

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
        data = to_jsonable(row)
        table.add_row(*(_cell(data.get(column)) for column in columns))
    console().print(table)


def plain_table(rows: Iterable[Any], columns: Sequence[str]) -> str:
    """Tab-separated lines: a header of ``columns`` in capitals, then one line per row.

    Tabs and newlines inside a value become spaces, so each row stays one line.
    """
    lines = ["\t".join(column.upper().replace("_", " ") for column in columns)]
    for row in rows:
        data = to_jsonable(row)
        cells = (_text(data.get(column)) for column in columns)
        lines.append("\t".join(" ".join(cell.split()) for cell in cells))
    return "\n".join(lines) + "\n"


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


def perform(name: str, params: dict[str, Any], *, detach: bool = False) -> dict[str, Any]:
    """Run mutating operation ``name``: through the queue when a broker is
    configured (SPARKSWARM_REDIS_URL) and the operation is not ``local`` (swarm
    init/join/leave act on this engine), in this process otherwise. Shows progress;
    returns the result. With ``detach`` and a broker: prints the run id and
    ends the command at once.

    Inside :func:`capture_operation` it only records ``(name, params)``.
    """
    if _capturing:
        raise _Captured(name, params)
    from sparkswarm.config import get_settings
    from sparkswarm.operations import get_operation

    if get_settings().redis_url and not get_operation(name).local:
        from sparkswarm.cli.progress_display import submit_and_follow

        return submit_and_follow(name, params, detach=detach)
    from sparkswarm.cli.progress_display import run_with_progress

    return run_with_progress(name, params, detach=detach)


_capturing = False


class _Captured(Exception):
    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name)
        self.name = name
        self.params = params


def capture_operation(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The operation and parameters the CLI command ``argv`` would perform,
    without performing it (schedules store these).

    Raises InvalidRequest if ``argv`` is not a valid mutating command.
    """
    global _capturing
    import contextlib
    import io

    from sparkswarm.cli.main import app
    from sparkswarm.errors import InvalidRequest

    command = typer.main.get_command(app)
    _capturing = True
    try:
        # A read-only command runs for real here; keep its output to itself.
        with contextlib.redirect_stdout(io.StringIO()):
            command.main(args=list(argv), prog_name="sparkswarm", standalone_mode=False)
    except _Captured as captured:
        return captured.name, captured.params
    except (typer.Exit, typer.Abort) as exc:
        raise InvalidRequest(f"`{' '.join(argv)}` is not an operation (it exited)") from exc
    except typer.TyperException as exc:  # usage errors of typer's own click
        shown = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise InvalidRequest(f"`{' '.join(argv)}`: {shown}") from exc
    finally:
        _capturing = False
    raise InvalidRequest(f"`{' '.join(argv)}` does not change anything; nothing to schedule")
