"""`sparkswarm service ...` commands.

The commands are the grammar's (:mod:`sparkswarm.requests.services`): this
module only adds rendering, and ``logs``, which streams in a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import expose, print_json, show
from sparkswarm.requests import services as grammar

if TYPE_CHECKING:
    from sparkswarm.services.models import RemoveResult, ScaleResult, ServiceOutcome

app = typer.Typer(help=grammar.service.help, no_args_is_help=True)

SERVICE_COLUMNS = ["id", "name", "mode", "replicas", "image", "ports"]
TASK_COLUMNS = ["id", "name", "image", "node", "desired_state", "current_state", "since", "error"]


def summary(result: ServiceOutcome) -> str:
    """One line for a service outcome: ``web: completed (3/3 tasks), image x, 2.1s``."""
    counts = ""
    if result.running is not None and result.desired is not None:
        counts = f" ({result.running}/{result.desired} tasks)"
    line = f"{result.service}: {result.outcome.replace('_', ' ')}{counts}"
    if result.image:
        line += f", image {result.image}"
    if result.elapsed_s:
        line += f", {result.elapsed_s:.1f}s"
    return line


def render_outcome(result: ServiceOutcome, as_json: bool) -> None:
    """A create/update/rollback outcome."""
    if as_json:
        print_json(result)
    else:
        typer.echo(summary(result))


def render_scale(result: ScaleResult, as_json: bool) -> None:
    """One line per scaled service."""
    if as_json:
        print_json(result)
        return
    for outcome in result.services:
        typer.echo(summary(outcome))


def render_removal(result: RemoveResult, as_json: bool) -> None:
    """Removed and absent services."""
    if as_json:
        print_json(result)
        return
    for name in result.removed:
        typer.echo(f"{name}: removed")
    for name in result.absent:
        typer.echo(f"{name}: absent (nothing to remove)")


def render_inspect(data: dict[str, Any], as_json: bool) -> None:
    """The engine's JSON for a service (YAML with --yaml)."""
    if as_json:
        print_json(data)
    else:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


def _table(columns: list[str]) -> Any:
    def render(rows: Any, as_json: bool) -> None:
        show(rows, columns, as_json=as_json)

    return render


expose(app, "create", grammar.create, render_outcome, detach=True)
expose(app, "update", grammar.update, render_outcome, detach=True)
expose(app, "scale", grammar.scale, render_scale, detach=True)
expose(app, "rollback", grammar.rollback, render_outcome, detach=True)
expose(app, "rm", grammar.remove, render_removal)
expose(app, "ls", grammar.list_, _table(SERVICE_COLUMNS))
expose(app, "ps", grammar.ps, _table(TASK_COLUMNS))


@app.command("inspect")
def inspect(
    name: str = typer.Argument(..., help="Service name or ID."),
    as_json: bool = typer.Option(True, "--json/--yaml", help="Print JSON (default) or YAML."),
) -> None:
    """Print the engine's full view of a service."""
    from sparkswarm.cli.common import perform

    render_inspect(perform(grammar.inspect(name=name)), as_json)


@app.command("logs")
def logs(
    name: str = typer.Argument(..., help="Service name or ID."),
    tail: int | None = typer.Option(None, "--tail", "-n", help="Lines per task from the end."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Show timestamps."),
) -> None:
    """Print the logs of a service's tasks (``--follow`` until interrupted)."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.requests.services import service_reference
    from sparkswarm.services.logs import service_logs

    service_reference(name)
    try:
        for line in service_logs(
            gateway(), name=name, tail=tail, follow=follow, timestamps=timestamps
        ):
            typer.echo(line)
    except KeyboardInterrupt:
        pass
