"""`sparkswarm node ...`: ls, inspect, promote, demote, drain, activate, pause, label.

The commands are the grammar's (:mod:`sparkswarm.requests.nodes`); this
module renders their results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import expose, print_json, say, show
from sparkswarm.requests import nodes as grammar

if TYPE_CHECKING:
    from sparkswarm.nodes import NodeChange

app = typer.Typer(help=grammar.node.help, no_args_is_help=True)

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


def _change(done: str) -> Any:
    def render(result: NodeChange, as_json: bool) -> None:
        if as_json:
            print_json(result)
            return
        what = done if result.changed else "already so, nothing changed:"
        say(f"{what} {result.node.hostname} ({result.node.id})")

    return render


def _nodes(rows: Any, as_json: bool) -> None:
    show(rows, NODE_COLUMNS, as_json=as_json)


def _raw(data: Any, as_json: bool) -> None:
    print_json(data)


expose(app, "ls", grammar.ls, _nodes)
expose(app, "inspect", grammar.inspect, _raw)
expose(app, "promote", grammar.promote, _change("promoted"))
expose(app, "demote", grammar.demote, _change("demoted"))
expose(app, "drain", grammar.drain, _change("now drain:"))
expose(app, "activate", grammar.activate, _change("now active:"))
expose(app, "pause", grammar.pause, _change("now pause:"))
expose(app, "label", grammar.label, _change("labels updated:"))
