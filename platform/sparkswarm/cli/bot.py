"""`sparkswarm bot`: the Slack bot (HTTP or Socket Mode), and `bot try` against a local double."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The Slack bot: chat-ops for the swarm and Spark jobs.", invoke_without_command=True
)


@app.callback()
def bot(
    ctx: typer.Context,
    http: int | None = typer.Option(None, "--http", help="Serve Slack's HTTP requests on PORT."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on with --http."),
    socket: bool = typer.Option(False, "--socket", help="Connect over Socket Mode."),
    health_port: int | None = typer.Option(
        None,
        "--health-port",
        help="Also serve GET /healthz on this port (200 when Redis, the notifier "
        "and the Slack connection are up; 503 and why otherwise).",
    ),
    log_format: str | None = typer.Option(
        None, "--log-format", help="text or json (default SPARKSWARM_LOG_FORMAT)."
    ),
) -> None:
    """Run the bot: `--http PORT` (behind a public HTTPS proxy) or `--socket`."""
    if ctx.invoked_subcommand is not None:
        return
    from sparkswarm.cli.common import fail

    if (http is None) == (not socket):
        raise fail("give exactly one of --http PORT or --socket (or: bot try TEXT)")
    for flag, port in (("--http", http), ("--health-port", health_port)):
        if port is not None and not 0 < port < 65536:
            raise fail(f"{flag} {port}: not a port")
    if health_port is not None and health_port == http:
        raise fail("--health-port must differ from --http")
    from sparkswarm.bots.app import build, serve_http, serve_socket
    from sparkswarm.cli.worker import checked_log_format
    from sparkswarm.config import get_settings

    chosen = checked_log_format(log_format) or get_settings().log_format
    if chosen == "json":
        from sparkswarm.workers.log_format import configure

        configure(get_settings(), "INFO", "json")
    bot_ = build(get_settings(), http=http is not None)
    if http is not None:
        serve_http(bot_, http, host, health_port=health_port)
    else:
        serve_socket(bot_, health_port=health_port, health_host=host)


@app.command("try")
def try_(
    text: str = typer.Argument(
        ..., help='What you would type in Slack, e.g. "/spark submit pi 100".'
    ),
    role: str = typer.Option(
        "operator", "--role", help="Role of the trying user (viewer/operator/admin)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Click Confirm when the bot asks for it."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to follow the run."),
) -> None:
    """Run the real bot against a local Slack double; print what it would post and edit.

    Needs SPARKSWARM_REDIS_URL and a running `sparkswarm worker` for
    anything that runs. Slack itself is never contacted.
    """
    from sparkswarm.bots.trial import run_trial

    run_trial(text, role=role, yes=yes, timeout=timeout, echo=typer.echo)
