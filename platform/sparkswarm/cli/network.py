"""`sparkswarm network ...`: create, ls, rm."""

from __future__ import annotations

import typer

from sparkswarm.cli.common import JSON_OPTION

app = typer.Typer(help="Networks (overlay by default).", no_args_is_help=True)

NETWORK_COLUMNS = ("id", "name", "driver", "scope", "attachable", "encrypted", "subnets", "labels")


@app.command("create")
def create(
    name: str = typer.Argument(...),
    driver: str = typer.Option("overlay", "--driver", "-d"),
    attachable: bool = typer.Option(False, "--attachable", help="Let standalone containers join."),
    encrypted: bool = typer.Option(False, "--encrypted", help="Encrypt overlay traffic (IPsec)."),
    subnet: str = typer.Option(None, "--subnet", help="CIDR, e.g. 10.20.0.0/24."),
    labels: list[str] = typer.Option([], "--label", help="key=value (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create network NAME (the same one existing: nothing to do; a different one: error)."""
    from sparkswarm.cli.common import console, perform, print_json
    from sparkswarm.nodes import parse_label_assignments

    params = {
        "name": name,
        "driver": driver,
        "attachable": attachable,
        "encrypted": encrypted,
        "subnet": subnet,
        "labels": parse_label_assignments(labels),
    }
    result = perform("network.create", params)
    if as_json:
        print_json(result)
    else:
        what = "created" if result["changed"] else "exists already, nothing changed:"
        console().print(f"{what} {name} ({result['network']['id']})", highlight=False)


@app.command("ls")
def ls(
    driver: str = typer.Option(None, "--driver", help="Only networks of this driver."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List networks."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.networks import list_networks

    networks = list_networks(gateway(), driver=driver)
    if not as_json:  # the table shows short IDs, as `docker network ls` does
        networks = [n.model_copy(update={"id": n.id[:12]}) for n in networks]
    show(networks, NETWORK_COLUMNS, as_json=as_json)


@app.command("rm")
def rm(names: list[str] = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Remove networks (an absent one is fine)."""
    from sparkswarm.cli.common import console, perform, print_json
    from sparkswarm.networks import validate_network_name

    for name in names:  # all checked before any is removed
        validate_network_name(name)
    results = [perform("network.rm", {"name": name}) for name in names]
    if as_json:
        print_json(results)
        return
    for result in results:
        what = "removed" if result["changed"] else "absent, nothing to do:"
        console().print(f"{what} {result['name']}", highlight=False)
