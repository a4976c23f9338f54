"""`sparkswarm stack ...`: deploy compose files (ours or ready-made) as swarm stacks.

The commands are the grammar's (:mod:`sparkswarm.requests.stacks`), which
reads and validates the files before anything is submitted; ``diff`` is a
terminal command that compares them with the swarm.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import JSON_OPTION, expose, print_json, show
from sparkswarm.requests import stacks as grammar

if TYPE_CHECKING:
    from sparkswarm.stacks.models import StackRemoval, StackResult

app = typer.Typer(help=grammar.stack.help, no_args_is_help=True)

SERVICE_COLUMNS = ["id", "name", "mode", "replicas", "image", "ports"]
TASK_COLUMNS = ["id", "name", "image", "node", "desired_state", "current_state", "error"]


def _services_of(title: str) -> Any:
    def render(result: StackResult | None, as_json: bool) -> None:
        """A deploy or rollback result: the whole JSON, or a row per service."""
        if as_json or result is None:
            print_json(result)
            return
        shown = title.format(**asdict(result))
        show(result.services, ["service", "result", "changes"], as_json=False, title=shown)

    return render


def _removed(result: StackRemoval | None, as_json: bool) -> None:
    if as_json or result is None:
        print_json(result)
        return
    typer.echo(
        f"removed stack {result.stack}: {len(result.services)} services, "
        f"{len(result.networks)} networks"
    )


def _table(columns: list[str]) -> Any:
    def render(rows: Any, as_json: bool) -> None:
        show(rows, columns, as_json=as_json)

    return render


expose(app, "deploy", grammar.deploy, _services_of("stack {stack}"), detach=True)
expose(app, "rm", grammar.remove, _removed)
expose(
    app,
    "rollback",
    grammar.rollback,
    _services_of("stack {stack} rolled back to snapshot {rolled_back_to}"),
    detach=True,
)
expose(app, "ls", grammar.list_, _table(["name", "services"]))
expose(app, "services", grammar.services, _table(SERVICE_COLUMNS))
expose(app, "ps", grammar.ps, _table(TASK_COLUMNS))


@app.command()
def diff(
    name: str = typer.Argument(..., help="Stack name."),
    files: list[str] | None = grammar.FILES,
    sets: list[str] | None = grammar.SETS,
    prune: bool = typer.Option(False, "--prune", help="Plan removals too."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what `stack deploy` would change, without changing anything."""
    from sparkswarm.cli.common import gateway, warn
    from sparkswarm.stacks.convert import translate
    from sparkswarm.stacks.deploy import plan_objects, plan_stack

    _, loaded = grammar.deploy_params(name, files, sets)
    for warning in loaded.warnings:
        warn(warning)
    desired = translate(name, loaded.model)
    plan = plan_stack(gateway(), desired, prune=prune)
    objects = plan_objects(gateway(), desired)
    if as_json:
        print_json({"services": plan.to_json(), "objects": objects})
        return
    if objects:
        show(objects, ["object", "action"], as_json=False, title=f"objects of {name}")
    show(plan.to_json(), ["service", "action", "changes"], as_json=False, title=f"plan {name}")
