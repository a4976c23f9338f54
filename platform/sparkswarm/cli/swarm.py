"""`sparkswarm swarm ...`: init, join, leave, join-token, doctor.

init/join/leave/join-token --rotate are the grammar's
(:mod:`sparkswarm.requests.swarm`); showing a join token and the doctor are
terminal commands (the token is a secret; the doctor checks this machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import JSON_OPTION, console, expose, print_json, say
from sparkswarm.requests import swarm as grammar

if TYPE_CHECKING:
    from sparkswarm.swarm import SwarmStatus

app = typer.Typer(help=grammar.swarm.help, no_args_is_help=True)


def _status(verb: str) -> Any:
    def render(result: SwarmStatus, as_json: bool) -> None:
        if as_json:
            print_json(result)
            return
        role = "manager" if result.is_manager else "worker"
        if result.state == "inactive":
            say("left the swarm" if result.changed else "not in a swarm")
            return
        what = verb if result.changed else "already in a swarm, nothing changed;"
        say(f"{what} node {result.node_id} ({role}, address {result.node_addr})")

    return render


expose(app, "init", grammar.init, _status("initialised a swarm:"))
expose(app, "join", grammar.join, _status("joined the swarm as"))
expose(app, "leave", grammar.leave, _status("left"))


@app.command("join-token")
def join_token(
    role: str = typer.Argument(..., help="worker or manager."),
    rotate: bool = typer.Option(False, "--rotate", help="Replace the token with a new one."),
    reveal: bool = typer.Option(False, "--reveal", help="Print the token itself (a secret)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the token."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the join token for ROLE, masked unless --reveal."""
    from sparkswarm.cli.common import gateway, perform
    from sparkswarm.swarm import mask_token, read_join_token

    if rotate:
        perform(grammar.join_token(role=role, rotate=True))
    token = read_join_token(gateway(), role=role)
    shown = token if reveal else mask_token(token)
    if as_json:
        print_json({"role": role, "token": shown, "masked": not reveal, "rotated": rotate})
    elif quiet:
        typer.echo(shown)
    else:
        if rotate:
            say(f"{role} join token rotated.")
        say(f"{role} join token: {shown}")
        if not reveal:
            say("(masked; --reveal prints it)")


@app.command("doctor")
def doctor(
    no_overlay_test: bool = typer.Option(
        False, "--no-overlay-test", help="Do not create a throw-away overlay network."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check the swarm: engine, state, quorum, ports, IPVS, overlay (and the queue's dead
    letters when a broker is set). Exit 1 on any failure."""
    from sparkswarm.cli.common import EXIT_FAILURE, gateway
    from sparkswarm.config import get_settings
    from sparkswarm.doctor import has_failures
    from sparkswarm.doctor_probe import run_doctor

    checks = run_doctor(gateway(), test_overlay=not no_overlay_test)
    if get_settings().redis_url:
        from sparkswarm.workers.client import queue_client
        from sparkswarm.workers.dead_letters import queue_check

        checks.append(queue_check(queue_client()))
    if as_json:
        print_json(checks)
    else:
        _print_checks(checks)
    if has_failures(checks):
        raise typer.Exit(EXIT_FAILURE)


def _print_checks(checks: list[Any]) -> None:
    """One line per check (and one for its fix); coloured on a terminal, else
    plain and never wrapped, so scripts can grep a check's whole line."""
    import sys

    lines = []
    for check in checks:
        lines.append((check.status, f"{check.name:<9} {check.summary}"))
        if check.fix and check.status != "ok":
            lines.append(("", f"{'':<9} fix: {check.fix}"))
    if not sys.stdout.isatty():
        for status, text in lines:
            say(f"{status.upper():<4}  {text}")
        return
    from rich.markup import escape

    colours = {"ok": "green", "warn": "yellow", "fail": "red", "": "default"}
    out = console()
    for status, text in lines:
        mark = f"[{colours[status]}]{status.upper():<4}[/]"
        out.print(f"{mark}  {escape(text)}", highlight=False)
