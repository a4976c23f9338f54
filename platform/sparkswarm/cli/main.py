"""Entry point: ``sparkswarm`` and its command groups."""

from __future__ import annotations

import logging
import sys

import typer

from sparkswarm.cli import (
    events,
    images,
    lab,
    network,
    node,
    runs,
    schedule,
    service,
    spark,
    stack,
    swarm,
    worker,
)

app = typer.Typer(
    name="sparkswarm",
    help="Spark study clusters on Docker Swarm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(swarm.app, name="swarm")
app.add_typer(node.app, name="node")
app.add_typer(service.app, name="service")
app.add_typer(network.app, name="network")
app.add_typer(runs.app, name="runs")
app.add_typer(schedule.app, name="schedule")
app.command("events")(events.events)
app.command("worker")(worker.worker)
app.command("beat")(worker.beat)
app.add_typer(stack.app, name="stack")
app.add_typer(images.app, name="images")
app.add_typer(spark.app, name="spark")
app.add_typer(lab.app, name="lab")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """Console-script entry: our errors become a message and an exit code.

    Typer (standalone mode) handles usage errors itself with exit code 2.
    """
    from sparkswarm.errors import SparkswarmError

    try:
        app()
    except SparkswarmError as exc:
        from sparkswarm.cli.common import exit_code_for, fail

        fail(str(exc))
        sys.exit(exit_code_for(exc))
