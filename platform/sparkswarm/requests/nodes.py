"""The ``node`` and ``network`` commands."""

from __future__ import annotations

import re

import typer

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests.builders import group
from sparkswarm.requests.model import Request, request

node = group("node", "Swarm nodes: list, roles, availability, labels.")
network = group("network", "Networks (overlay by default).")

NODE = typer.Argument(..., help="Node id, id prefix or hostname.")


# A node id (prefix) or hostname: letters, digits, '.', '-', '_'. Checked where
# the words enter so that "../x" never becomes an Engine API path.
_NODE_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _node_name(name: str) -> str:
    if not name.strip():
        raise InvalidRequest("no node named: give a node id, id prefix or hostname")
    if not _NODE_REFERENCE.fullmatch(name):
        raise InvalidRequest(
            f"invalid node {name!r}: give a node id, id prefix or hostname "
            "(letters, digits, '.', '-' and '_', starting with a letter or digit)"
        )
    return name


@node.command("ls", "node.ls")
def ls(
    role: str | None = typer.Option(None, "--role", help="Only managers or workers."),
) -> Request:
    """List the swarm's nodes (needs a manager)."""
    from sparkswarm.nodes import check_node_role

    check_node_role(role, "--role")
    return request("node.ls", {"role": role})


@node.command("inspect", "node.inspect")
def inspect(node: str = NODE) -> Request:
    """Print the Engine's full JSON for NODE."""
    return request("node.inspect", {"node": _node_name(node)})


@node.command("promote", "node.promote")
def promote(node: str = NODE) -> Request:
    """Make NODE a manager."""
    return request("node.promote", {"node": _node_name(node)})


@node.command("demote", "node.demote")
def demote(
    node: str = NODE,
    force: bool = typer.Option(False, "--force", help="Demote even if quorum is at risk."),
) -> Request:
    """Make NODE a worker; refused if it is the last manager or quorum would break."""
    return request("node.demote", {"node": _node_name(node), "force": force})


@node.command("drain", "node.availability")
def drain(
    node: str = NODE,
    detach: bool = typer.Option(False, "--detach", "-d", help="Return without waiting."),
) -> Request:
    """Move NODE's tasks away and give it no new ones (waits unless --detach)."""
    params = {"node": _node_name(node), "availability": "drain", "detach": detach}
    return request("node.availability", params)


@node.command("activate", "node.availability")
def activate(node: str = NODE) -> Request:
    """Let NODE receive tasks again."""
    return request("node.availability", {"node": _node_name(node), "availability": "active"})


@node.command("pause", "node.availability")
def pause(node: str = NODE) -> Request:
    """Keep NODE's tasks but give it no new ones."""
    return request("node.availability", {"node": _node_name(node), "availability": "pause"})


@node.command("label", "node.label")
def label(
    node: str = NODE,
    assignments: list[str] | None = typer.Argument(None, help="key=value labels to add."),
    remove: list[str] = typer.Option([], "--rm", help="Label key to remove (repeatable)."),
) -> Request:
    """Add key=value labels to NODE and/or remove keys with --rm."""
    from sparkswarm.nodes import parse_label_assignments

    add = parse_label_assignments(assignments or [])
    if not add and not remove:
        raise InvalidRequest("give key=value labels to add and/or --rm KEY to remove")
    return request("node.label", {"node": _node_name(node), "add": add, "remove": remove})


@network.command("create", "network.create")
def create(
    name: str = typer.Argument(...),
    driver: str = typer.Option("overlay", "--driver", "-d"),
    attachable: bool = typer.Option(False, "--attachable", help="Let standalone containers join."),
    encrypted: bool = typer.Option(False, "--encrypted", help="Encrypt overlay traffic (IPsec)."),
    subnet: str | None = typer.Option(None, "--subnet", help="CIDR, e.g. 10.20.0.0/24."),
    labels: list[str] = typer.Option([], "--label", help="key=value (repeatable)."),
) -> Request:
    """Create network NAME (the same one existing: nothing to do; a different one: error)."""
    from sparkswarm.networks import validate_network_request
    from sparkswarm.nodes import parse_label_assignments

    params = {
        "name": name,
        "driver": driver,
        "attachable": attachable,
        "encrypted": encrypted,
        "subnet": subnet,
        "labels": parse_label_assignments(labels),
    }
    validate_network_request(**params)  # type: ignore[arg-type]
    return request("network.create", params)


@network.command("ls", "network.ls")
def network_ls(
    driver: str | None = typer.Option(None, "--driver", help="Only networks of this driver."),
) -> Request:
    """List networks."""
    return request("network.ls", {"driver": driver})


@network.command("rm", "network.rm")
def rm(name: str = typer.Argument(..., help="The network.")) -> Request:
    """Remove network NAME (an absent one is fine)."""
    from sparkswarm.networks import validate_network_name

    return request("network.rm", {"name": validate_network_name(name)})
