"""`sparkswarm stack ...`: deploy compose files (ours or ready-made) as swarm stacks.

Files are read and validated here, before anything is submitted: a bad file
exits with code 2 and changes nothing. What was read travels in the
operation's params, so a queue worker needs no access to this disk.
"""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import DETACH_OPTION, JSON_OPTION

app = typer.Typer(help="Deploy, inspect, roll back and remove stacks.", no_args_is_help=True)

FILES_OPTION = typer.Option(
    None, "--compose-file", "-c", help="Compose file (repeat to merge, later files win)."
)
SET_OPTION = typer.Option(None, "--set", help="Stack parameter key=value (repeatable).")


def _prepare(
    name: str, files: list[str] | None, sets: list[str] | None
) -> tuple[dict[str, Any], Any]:
    """The operation params for a deploy (files read and validated) and the load."""
    from pathlib import Path

    from sparkswarm.stacks.params import (
        declared_params,
        interpolation_env,
        parse_sets,
        ready_made_file,
    )
    from sparkswarm.stacks.source import read_stack_source
    from sparkswarm.stacks.translate import validate_stack_name

    validate_stack_name(name)
    paths = [Path(f) for f in files] if files else [ready_made_file(name)]
    values = parse_sets(sets or [])
    env = interpolation_env(paths[0], values)
    params, loaded = read_stack_source([str(p) for p in paths], env)
    generated = []
    for entry in _generated_secrets(paths[0]):
        secret = env.get(entry["param"])
        if secret and (declared_params(paths[0]) or {}).get(entry["param"]):
            generated.append({"name": secret, "bytes": int(entry.get("bytes", 32))})
    return {"name": name, **params, "generated_secrets": generated}, loaded


def _generated_secrets(stack_file: Any) -> list[dict[str, Any]]:
    from sparkswarm.stacks.params import generated_secrets

    return generated_secrets(stack_file)


def _print_warnings(warnings: list[str]) -> None:
    from rich.markup import escape

    from sparkswarm.cli.common import err_console

    for warning in warnings:
        # Warnings name keys such as "ports[0]": not rich markup.
        err_console().print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _report_services(result: dict[str, Any], as_json: bool, *, title: str) -> None:
    """A deploy or rollback result: the whole JSON, or a row per service."""
    from sparkswarm.cli.common import print_json, show

    if as_json:
        print_json(result)
        return
    show(result.get("services", []), ["service", "result", "changes"], as_json=False, title=title)


@app.command()
def deploy(
    name: str = typer.Argument(..., help="Stack name (also a ready-made stack's name)."),
    files: list[str] = FILES_OPTION,
    sets: list[str] = SET_OPTION,
    prune: bool = typer.Option(False, "--prune", help="Remove services no longer in the files."),
    detach: bool = DETACH_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create or update stack NAME from compose files (or the ready-made stack NAME)."""
    from sparkswarm.cli.common import perform

    params, loaded = _prepare(name, files, sets)
    _print_warnings(loaded.warnings)
    result = perform("stack.deploy", {**params, "prune": prune}, detach=detach)
    _report_services(result, as_json, title=f"stack {name}")


@app.command()
def diff(
    name: str = typer.Argument(..., help="Stack name."),
    files: list[str] = FILES_OPTION,
    sets: list[str] = SET_OPTION,
    prune: bool = typer.Option(False, "--prune", help="Plan removals too."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what `stack deploy` would change, without changing anything."""
    from sparkswarm.cli.common import gateway, print_json, show
    from sparkswarm.stacks.deploy import plan_objects, plan_stack
    from sparkswarm.stacks.translate import translate

    _, loaded = _prepare(name, files, sets)
    _print_warnings(loaded.warnings)
    desired = translate(name, loaded.model)
    plan = plan_stack(gateway(), desired, prune=prune)
    objects = plan_objects(gateway(), desired)
    if as_json:
        print_json({"services": plan.to_json(), "objects": objects})
        return
    if objects:
        show(objects, ["object", "action"], as_json=False, title=f"objects of {name}")
    show(plan.to_json(), ["service", "action", "changes"], as_json=False, title=f"plan {name}")


@app.command("ls")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List stacks (services labelled com.docker.stack.namespace)."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.stacks.queries import list_stacks

    show(list_stacks(gateway()), ["name", "services"], as_json=as_json)


@app.command()
def services(
    name: str = typer.Argument(..., help="Stack name."), as_json: bool = JSON_OPTION
) -> None:
    """List the services of stack NAME."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.stacks.queries import stack_service_rows

    show(
        stack_service_rows(gateway(), name),
        ["id", "name", "mode", "replicas", "image", "ports"],
        as_json=as_json,
    )


@app.command()
def ps(name: str = typer.Argument(..., help="Stack name."), as_json: bool = JSON_OPTION) -> None:
    """List the tasks of stack NAME."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.stacks.queries import stack_task_rows

    show(
        stack_task_rows(gateway(), name),
        ["id", "name", "image", "node", "desired_state", "current_state", "error"],
        as_json=as_json,
    )


@app.command("rm")
def remove(
    name: str = typer.Argument(..., help="Stack name."), as_json: bool = JSON_OPTION
) -> None:
    """Remove stack NAME: services, networks, configs and secrets it created."""
    from sparkswarm.cli.common import perform, print_json

    result = perform("stack.rm", {"name": name})
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"removed stack {name}: {len(result.get('services', []))} services, "
        f"{len(result.get('networks', []))} networks"
    )


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Stack name."),
    detach: bool = DETACH_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Return stack NAME to its previously deployed version (of the last 5 kept)."""
    from sparkswarm.cli.common import perform

    result = perform("stack.rollback", {"name": name}, detach=detach)
    title = f"stack {name} rolled back to snapshot {result.get('rolled_back_to')}"
    _report_services(result, as_json, title=title)
