"""`sparkswarm spark ...`: run PySpark jobs on a deployed spark stack, and see its state.

The commands are the grammar's (:mod:`sparkswarm.requests.spark`); this
module renders job results and waits for workers after a deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import (
    DETACH_OPTION,
    EXIT_FAILURE,
    JSON_OPTION,
    KEY_OPTION,
    console,
    err_console,
    expose,
    perform,
    print_json,
    print_table,
)
from sparkswarm.requests import spark as grammar

if TYPE_CHECKING:
    from sparkswarm.spark.jobs import SparkJobResult
    from sparkswarm.spark.status import SparkStatus

app = typer.Typer(help=grammar.spark.help, no_args_is_help=True)


def render_job(result: SparkJobResult, as_json: bool) -> None:
    """What the script printed; on failure Spark's log tail (exit 1)."""
    if as_json:
        print_json(result)
    elif result.state == "running":
        console().print(
            f"job {result.job_id} started as service {result.service}; "
            f"collect it with: sparkswarm spark wait {result.job_id} --stack {result.stack}",
            highlight=False,
        )
    else:
        for line in result.output:
            typer.echo(line)
        err = err_console()
        if result.state != "succeeded":
            for line in result.log_tail:
                err.print(line, highlight=False, markup=False)
            err.print(f"job {result.job_id} failed: {result.error}", markup=False)
        else:
            err.print(f"job {result.job_id} succeeded in {result.seconds} s")
    if result.state == "failed":
        raise typer.Exit(EXIT_FAILURE)


def render_status(result: SparkStatus, as_json: bool) -> None:
    """The master's one-line summary, its workers and running apps."""
    if as_json:
        print_json(result)
        return
    console().print(
        f"master {result.url} {result.status}: {result.alive_workers} workers ALIVE, "
        f"cores {result.cores_used}/{result.cores}, memory {result.memory_used_mb}/"
        f"{result.memory_mb} MiB, {len(result.active_apps)} running apps, "
        f"{result.completed_apps} completed",
        highlight=False,
    )
    print_table(result.workers, ["id", "host", "state", "cores", "cores_used", "memory_mb"])
    if result.active_apps:
        print_table(result.active_apps, ["id", "name", "state", "cores", "duration_ms"])


def _removed(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    removed = ", ".join(result.get("removed", [])) or "nothing to remove"
    console().print(f"job {result.get('job_id', '')}: {removed}", highlight=False)


@app.command("submit")
def submit(
    file: str = typer.Argument(..., help="A ready-made job's name (pi) or a PySpark script."),
    args: list[str] | None = typer.Argument(None, help="Arguments for the script."),
    stack: str = grammar.STACK,
    arg: list[str] | None = typer.Option(
        None, "--arg", help="Argument for the script (repeatable)."
    ),
    conf: list[str] | None = typer.Option(
        None, "--conf", help="Spark conf key=value (repeatable)."
    ),
    timeout: float = grammar.JOB_TIMEOUT,
    detach: bool = DETACH_OPTION,
    key: str | None = KEY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a PySpark script (or a ready-made job by name) on the stack's cluster
    and print what it printed. Exits 1 when the job fails, after printing the
    end of Spark's log."""
    from sparkswarm.spark.job_spec import new_job_id

    request = grammar.submit(file=file, args=args, stack=stack, arg=arg, conf=conf, timeout=timeout)
    # The job id is chosen here, once: a redelivered run attaches to its job.
    request = request.with_params(job_id=new_job_id())
    render_job(perform(request, detach=detach, key=key), as_json)


expose(app, "wait", grammar.wait, render_job)
expose(app, "rm", grammar.remove, _removed)


@app.command("status")
def status(
    stack: str = grammar.STACK,
    wait: float = typer.Option(
        0.0,
        "--wait",
        help="Wait up to this many seconds for the master to answer and for every "
        "worker replica to be ALIVE (after a deploy).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the master's state: workers (ALIVE or not), cores, memory, running apps."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.spark.queries import require_stack_service
    from sparkswarm.spark.status import wait_for_workers

    request = grammar.status(stack=stack)
    if wait > 0:
        worker = require_stack_service(gateway(), stack, "worker")
        wanted = int(worker["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 0))
        with err_console().status(f"waiting for {wanted} workers of {stack} to be ALIVE"):
            result = wait_for_workers(gateway(), stack=stack, workers=wanted, timeout=wait)
    else:
        result = perform(request)
    render_status(result, as_json)
