"""`sparkswarm lab ...`: a real multi-node swarm on this machine, to learn and rehearse on.

Not queued operations: a lab is made of processes and namespaces on this
host, so every command acts here, as root.
"""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import JSON_OPTION
from sparkswarm.cli.progress_display import live_progress

app = typer.Typer(
    help="A local multi-node swarm (one engine per network namespace) to learn swarm on.",
    no_args_is_help=True,
)

NAME_OPTION = typer.Option("lab", "--name", "-n", help="The lab's name.")


def _backend() -> Any:
    from sparkswarm.lab.backend import NetnsBackend

    return NetnsBackend()


def _show(status: Any, *, as_json: bool, verb: str = "") -> None:
    from sparkswarm.cli.common import console, print_json, print_table

    if as_json:
        print_json(status)
        return
    out = console()
    if verb:
        out.print(verb, highlight=False)
    rows = [
        {
            **node.model_dump(),
            "manager_status": node.manager_status or ("-" if node.role == "worker" else ""),
        }
        for node in status.nodes
    ]
    columns = ["name", "hostname", "role", "address", "engine", "engine_version", "status"]
    print_table(rows, [*columns, "availability", "manager_status"], title=f"lab {status.name}")
    if status.swarm_error:
        out.print(f"swarm: no manager answers: {status.swarm_error}", highlight=False)
    else:
        out.print(f"leader: {status.leader or 'none'}", highlight=False)
    out.print("point sparkswarm at the lab with:", highlight=False)
    out.print(f"  {status.env}", highlight=False, soft_wrap=True)
    out.print(f'  (or: eval "$(sparkswarm lab env --name {status.name})")', highlight=False)


@app.command("up")
def up(
    managers: int = typer.Option(None, "--managers", "-m", help="Manager nodes (default 3)."),
    workers: int = typer.Option(None, "--workers", "-w", help="Worker nodes (default 2)."),
    name: str = NAME_OPTION,
    image: list[str] = typer.Option(
        None,
        "--image",
        help="Image to copy from this machine's engine into every node (repeatable; "
        "default: the Spark and web images present here).",
    ),
    no_images: bool = typer.Option(False, "--no-images", help="Copy no image."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start lab NAME (or report it, if it runs): nodes, swarm, images."""
    from sparkswarm.lab.lifecycle import lab_up

    images = [] if no_images else (list(image) if image else None)
    with live_progress(f"lab {name} up") as progress:
        status = lab_up(
            _backend(),
            name=name,
            managers=managers,
            workers=workers,
            images=images,
            progress=progress,
        )
    verb = (
        f"lab {name} is up ({status.seconds} s)"
        if status.changed
        else f"lab {name} exists and runs; nothing changed"
    )
    if status.images:
        verb += f"; images: {'; '.join(status.images)}"
    _show(status, as_json=as_json, verb=verb)


@app.command("status")
def status(name: str = NAME_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Show the lab's nodes: engine, role, leader, reachability, engine version."""
    from sparkswarm.lab.host import require_host
    from sparkswarm.lab.status import lab_status, require_state

    require_host()
    _show(lab_status(require_state(name), _backend()), as_json=as_json)


@app.command("env")
def env(name: str = NAME_OPTION) -> None:
    """Print the `export SPARKSWARM_MANAGERS=...` line for the lab's managers."""
    from sparkswarm.lab.status import managers_env, require_state

    typer.echo(managers_env(require_state(name)))


@app.command("kill")
def kill(
    node: str = typer.Argument(..., help="The node (m1, w2, or its hostname)."),
    name: str = NAME_OPTION,
) -> None:
    """Stop NODE's engine abruptly, as if the machine had died (its containers die too)."""
    from sparkswarm.cli.common import console
    from sparkswarm.lab.lifecycle import lab_kill

    killed = lab_kill(_backend(), name=name, node=node)
    console().print(
        f"{killed.name} ({killed.hostname}, {killed.address}): engine stopped; "
        f"bring it back with: sparkswarm lab restore {killed.name} --name {name}",
        highlight=False,
    )


@app.command("restore")
def restore(
    node: str = typer.Argument(..., help="The node (m1, w2, or its hostname)."),
    name: str = NAME_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start NODE's engine again and wait until the swarm has it back."""
    from sparkswarm.lab.lifecycle import lab_restore

    with live_progress(f"lab {name} restore {node}") as progress:
        status = lab_restore(_backend(), name=name, node=node, progress=progress)
    _show(status, as_json=as_json, verb=f"{node} is back")


@app.command("down")
def down(name: str = NAME_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Remove the lab: every engine, namespace, link, mount and folder (also after a crash)."""
    from sparkswarm.cli.common import console, print_json
    from sparkswarm.lab.lifecycle import lab_down

    with live_progress(f"lab {name} down") as progress:
        result = lab_down(_backend(), name=name, progress=progress)
    if as_json:
        print_json(result)
    elif not result.changed:
        console().print(f"there is no lab {name}; nothing to remove", highlight=False)
    else:
        console().print(
            f"lab {name} removed ({', '.join(result.removed) or 'no node'}) in {result.seconds} s",
            highlight=False,
        )
        for problem in result.problems:
            console().print(f"  note: {problem}", highlight=False)
