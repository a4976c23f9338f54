"""The ``swarm`` commands: init, join, leave, join-token (rotation)."""

from __future__ import annotations

import typer

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests.builders import group
from sparkswarm.requests.model import Request, request

swarm = group("swarm", "Swarm membership, join tokens and the doctor.")
swarm.terminal("doctor", "checks this machine's engine in a terminal")

LISTEN_ADDR = typer.Option("0.0.0.0:2377", "--listen-addr", help="Manager listen address.")


@swarm.command("init", "swarm.init")
def init(
    advertise_addr: str | None = typer.Option(
        None, "--advertise-addr", help="Address other nodes reach this one at."
    ),
    listen_addr: str = LISTEN_ADDR,
    default_addr_pool: list[str] = typer.Option(
        [], "--default-addr-pool", help="CIDR for overlay subnets (repeatable)."
    ),
) -> Request:
    """Make this engine the first manager of a new swarm (an existing swarm is reported)."""
    from sparkswarm.swarm import validate_address_pools, validate_node_address

    validate_address_pools(default_addr_pool)
    validate_node_address(advertise_addr, "--advertise-addr")
    validate_node_address(listen_addr, "--listen-addr")
    params = {
        "advertise_addr": advertise_addr,
        "listen_addr": listen_addr,
        "default_addr_pool": default_addr_pool,
    }
    return request("swarm.init", params)


@swarm.command("join", "swarm.join")
def join(
    remote: str = typer.Argument(..., help="A manager's address, HOST:2377."),
    token: str = typer.Option(
        ...,
        "--token",
        envvar="SPARKSWARM_JOIN_TOKEN",
        show_envvar=True,
        help="Join token (sparkswarm swarm join-token); the variable keeps it out of `ps`.",
    ),
    advertise_addr: str | None = typer.Option(None, "--advertise-addr"),
    listen_addr: str = LISTEN_ADDR,
    availability: str = typer.Option(
        "active", "--availability", help="active, pause or drain (join without tasks)."
    ),
) -> Request:
    """Join this engine to the swarm managed at REMOTE."""
    from sparkswarm.swarm import JOIN_TOKEN_FORMAT, normalise_remote, validate_node_address

    if not JOIN_TOKEN_FORMAT.fullmatch(token):
        raise InvalidRequest(
            "that is not a join token (SWMTKN-1-...; see: sparkswarm swarm join-token)"
        )
    if availability not in ("active", "pause", "drain"):
        raise InvalidRequest(f"availability must be active, pause or drain, not {availability!r}")
    normalise_remote(remote)
    validate_node_address(advertise_addr, "--advertise-addr")
    validate_node_address(listen_addr, "--listen-addr")
    params = {
        "token": token,
        "remote": remote,
        "advertise_addr": advertise_addr,
        "listen_addr": listen_addr,
        "availability": availability,
    }
    return request("swarm.join", params)


@swarm.command("leave", "swarm.leave")
def leave(force: bool = typer.Option(False, "--force", help="Leave even as a manager.")) -> Request:
    """Take this engine out of its swarm (nothing to do if it is in none)."""
    return request("swarm.leave", {"force": force})


@swarm.command("join-token", "swarm.rotate_join_token")
def join_token(
    role: str = typer.Argument(..., help="worker or manager."),
    rotate: bool = typer.Option(False, "--rotate", help="Replace the token with a new one."),
) -> Request:
    """Rotate the join token for ROLE (`--rotate`). Showing a token is not a
    request: it is a secret, printed only in the terminal that asks."""
    if role not in ("worker", "manager"):
        raise InvalidRequest(f"role must be worker or manager, not {role!r}")
    if not rotate:
        raise InvalidRequest(
            "`swarm join-token` without --rotate shows a secret; run it in a terminal"
        )
    return request("swarm.rotate_join_token", {"role": role})
