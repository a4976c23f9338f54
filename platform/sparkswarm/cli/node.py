"""`sparkswarm node ...`: ls, inspect, promote, demote, drain, activate, pause, label."""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import DETACH_OPTION, JSON_OPTION

app = typer.Typer(help="Swarm nodes: list, roles, availability, labels.", no_args_is_help=True)

NODE_COLUMNS = (
    "id",
    "hostname",
    "role",
    "status",
    "availability",
    "manager_status",
    "engine_version",
    "address",
    "labels",
)


def _report(result: dict[str, Any], as_json: bool, done: str) -> None:
    from sparkswarm.cli.common import console, print_json

    if as_json:
        print_json(result)
        return
    node = result.get("node") or {}
    what = done if result.get("changed") else "already so, nothing changed:"
    console().print(f"{what} {node.get('hostname')} ({node.get('id')})", highlight=False)


@app.command("ls")
def ls(
    role: str = typer.Option(None, "--role", help="Only managers or workers."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the swarm's nodes (needs a manager)."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.nodes import list_nodes

    show(list_nodes(gateway(), role=role), NODE_COLUMNS, as_json=as_json)


@app.command("inspect")
def inspect(
    node: str = typer.Argument(..., help="Node id, id prefix or hostname."),
    as_json: bool = typer.Option(True, "--json", help="Always JSON (accepted for symmetry)."),
) -> None:
    """Print the Engine's full JSON for NODE."""
    from sparkswarm.cli.common import gateway, print_json
    from sparkswarm.nodes import inspect_node

    print_json(inspect_node(gateway(), node=node))


@app.command("promote")
def promote(node: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Make NODE a manager."""
    from sparkswarm.cli.common import perform

    _report(perform("node.promote", {"node": node}), as_json, "promoted")


@app.command("demote")
def demote(
    node: str = typer.Argument(...),
    force: bool = typer.Option(False, "--force", help="Demote even if quorum is at risk."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Make NODE a worker; refused if it is the last manager or quorum would break."""
    from sparkswarm.cli.common import perform

    _report(perform("node.demote", {"node": node, "force": force}), as_json, "demoted")


def _set_availability(node: str, availability: str, detach: bool, as_json: bool) -> None:
    from sparkswarm.cli.common import perform

    params = {"node": node, "availability": availability, "detach": detach}
    _report(perform("node.availability", params), as_json, f"now {availability}:")


@app.command("drain")
def drain(
    node: str = typer.Argument(...), detach: bool = DETACH_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Move NODE's tasks away and give it no new ones (waits unless --detach)."""
    _set_availability(node, "drain", detach, as_json)


@app.command("activate")
def activate(node: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Let NODE receive tasks again."""
    _set_availability(node, "active", False, as_json)


@app.command("pause")
def pause(node: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Keep NODE's tasks but give it no new ones."""
    _set_availability(node, "pause", False, as_json)


@app.command("label")
def label(
    node: str = typer.Argument(...),
    assignments: list[str] = typer.Argument(None, help="key=value labels to add."),
    remove: list[str] = typer.Option([], "--rm", help="Label key to remove (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add key=value labels to NODE and/or remove keys with --rm."""
    from sparkswarm.cli.common import perform
    from sparkswarm.nodes import parse_label_assignments

    add = parse_label_assignments(assignments or [])
    _report(
        perform("node.label", {"node": node, "add": add, "remove": remove}),
        as_json,
        "labels updated:",
    )
