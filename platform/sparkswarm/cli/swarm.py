"""`sparkswarm swarm ...`: init, join, leave, join-token, doctor."""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import JSON_OPTION

app = typer.Typer(help="Swarm membership, join tokens and the doctor.", no_args_is_help=True)


def _show_status(result: dict[str, Any], as_json: bool, verb: str) -> None:
    from sparkswarm.cli.common import console, print_json

    if as_json:
        print_json(result)
        return
    role = "manager" if result.get("is_manager") else "worker"
    what = verb if result.get("changed") else "already in a swarm, nothing changed;"
    if result.get("state") == "inactive":
        what = "not in a swarm" if not result.get("changed") else "left the swarm"
        console().print(what)
        return
    console().print(
        f"{what} node {result.get('node_id')} ({role}, address {result.get('node_addr')})",
        highlight=False,
    )


@app.command("init")
def init(
    advertise_addr: str = typer.Option(
        None, "--advertise-addr", help="Address other nodes reach this one at."
    ),
    listen_addr: str = typer.Option(
        "0.0.0.0:2377", "--listen-addr", help="Manager listen address."
    ),
    default_addr_pool: list[str] = typer.Option(
        [], "--default-addr-pool", help="CIDR for overlay subnets (repeatable)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Make this engine the first manager of a new swarm (an existing swarm is reported)."""
    from sparkswarm.cli.common import perform

    params = {
        "advertise_addr": advertise_addr,
        "listen_addr": listen_addr,
        "default_addr_pool": default_addr_pool,
    }
    _show_status(perform("swarm.init", params), as_json, "initialised a swarm:")


@app.command("join")
def join(
    remote: str = typer.Argument(..., help="A manager's address, HOST:2377."),
    token: str = typer.Option(
        ...,
        "--token",
        envvar="SPARKSWARM_JOIN_TOKEN",
        show_envvar=True,
        help="Join token (sparkswarm swarm join-token); the variable keeps it out of `ps`.",
    ),
    advertise_addr: str = typer.Option(None, "--advertise-addr"),
    listen_addr: str = typer.Option("0.0.0.0:2377", "--listen-addr"),
    availability: str = typer.Option(
        "active", "--availability", help="active, pause or drain (join without tasks)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Join this engine to the swarm managed at REMOTE."""
    from sparkswarm.cli.common import perform

    params = {
        "token": token,
        "remote": remote,
        "advertise_addr": advertise_addr,
        "listen_addr": listen_addr,
        "availability": availability,
    }
    _show_status(perform("swarm.join", params), as_json, "joined the swarm as")


@app.command("leave")
def leave(
    force: bool = typer.Option(False, "--force", help="Leave even as a manager."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Take this engine out of its swarm (nothing to do if it is in none)."""
    from sparkswarm.cli.common import perform

    _show_status(perform("swarm.leave", {"force": force}), as_json, "left")


@app.command("join-token")
def join_token(
    role: str = typer.Argument(..., help="worker or manager."),
    rotate: bool = typer.Option(False, "--rotate", help="Replace the token with a new one."),
    reveal: bool = typer.Option(False, "--reveal", help="Print the token itself (a secret)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the token."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the join token for ROLE, masked unless --reveal."""
    from sparkswarm.cli.common import console, gateway, perform, print_json
    from sparkswarm.swarm import mask_token, read_join_token

    if rotate:
        perform("swarm.rotate_join_token", {"role": role})
    token = read_join_token(gateway(), role=role)
    shown = token if reveal else mask_token(token)
    if as_json:
        print_json({"role": role, "token": shown, "masked": not reveal, "rotated": rotate})
    elif quiet:
        typer.echo(shown)
    else:
        if rotate:
            console().print(f"{role} join token rotated.")
        console().print(f"{role} join token: {shown}", highlight=False, soft_wrap=True)
        if not reveal:
            console().print("(masked; --reveal prints it)")


@app.command("doctor")
def doctor(
    no_overlay_test: bool = typer.Option(
        False, "--no-overlay-test", help="Do not create a throw-away overlay network."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check the swarm: engine, state, quorum, ports, IPVS, overlay. Exit 1 on any failure."""
    from sparkswarm.cli.common import EXIT_FAILURE, console, gateway, print_json
    from sparkswarm.doctor import has_failures, run_doctor

    checks = run_doctor(gateway(), test_overlay=not no_overlay_test)
    if as_json:
        print_json(checks)
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        out = console()
        for check in checks:
            mark = f"[{colours[check.status]}]{check.status.upper():<4}[/]"
            out.print(f"{mark}  {check.name:<9} {check.summary}", highlight=False)
            if check.fix and check.status != "ok":
                out.print(f"{'':<4}  {'':<9} fix: {check.fix}", highlight=False)
    if has_failures(checks):
        raise typer.Exit(EXIT_FAILURE)
