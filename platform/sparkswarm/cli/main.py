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
app.command("spark-watcher")(worker.spark_watcher)
app.add_typer(stack.app, name="stack")
app.add_typer(images.app, name="images")
app.add_typer(spark.app, name="spark")
app.add_typer(lab.app, name="lab")
app.add_typer(__import__("sparkswarm.cli.bot", fromlist=["app"]).app, name="bot")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """Console-script entry: every refusal is one line on stderr and an exit code.

    Our errors map to their documented codes; usage errors (unknown option,
    a value of the wrong type) are exit 2 with click's message on one line,
    not a usage block, so scripts and the table tests can rely on the shape.
    """
    from sparkswarm.cli.common import EXIT_INVALID, exit_code_for, fail
    from sparkswarm.errors import SparkswarmError

    try:
        code = app(standalone_mode=False)
    except SparkswarmError as exc:
        fail(str(exc))
        sys.exit(exit_code_for(exc))
    except typer.Abort:
        fail("aborted", 1)
        sys.exit(1)
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if not message:  # no arguments: the help was printed already
            sys.exit(getattr(exc, "exit_code", EXIT_INVALID))
        context = getattr(exc, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        fail(f"{message}{where}")
        sys.exit(getattr(exc, "exit_code", EXIT_INVALID))
    sys.exit(code if isinstance(code, int) else 0)
