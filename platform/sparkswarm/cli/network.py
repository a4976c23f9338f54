"""`sparkswarm network ...`: create, ls, rm (grammar: :mod:`sparkswarm.requests.nodes`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import (
    JSON_OPTION,
    KEY_OPTION,
    YES_OPTION,
    ask_first,
    expose,
    perform,
    print_json,
    say,
    show,
)
from sparkswarm.requests import nodes as grammar

if TYPE_CHECKING:
    from sparkswarm.networks import NetworkChange, NetworkInfo

app = typer.Typer(help=grammar.network.help, no_args_is_help=True)

NETWORK_COLUMNS = ("id", "name", "driver", "scope", "attachable", "encrypted", "subnets", "labels")


def _created(result: NetworkChange, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    what = "created" if result.changed else "exists already, nothing changed:"
    network = result.network
    say(f"{what} {result.name} ({network.id if network else ''})")


def _networks(networks: list[NetworkInfo], as_json: bool) -> None:
    if not as_json:  # the table shows short IDs, as `docker network ls` does
        networks = [replace(n, id=n.id[:12]) for n in networks]
    show(networks, NETWORK_COLUMNS, as_json=as_json)


expose(app, "create", grammar.create, _created)
expose(app, "ls", grammar.network_ls, _networks)


@app.command("rm")
def rm(
    names: list[str] = typer.Argument(..., help="The networks."),
    key: str | None = KEY_OPTION,
    as_json: bool = JSON_OPTION,
    yes: bool = YES_OPTION,
) -> None:
    """Remove networks (an absent one is fine); every name is checked before any is removed.

    Removing ``ingress`` asks first (it carries the routing mesh); ``--yes`` skips that.
    """
    requests = [grammar.rm(name=name) for name in names]
    if not yes:
        for request in requests:
            ask_first(request)
    results: list[Any] = [
        perform(request, key=f"{key}-{i}" if key else None) for i, request in enumerate(requests)
    ]
    if as_json:
        print_json(results)
        return
    for result in results:
        what = "removed" if result.changed else "absent, nothing to do:"
        say(f"{what} {result.name}")
