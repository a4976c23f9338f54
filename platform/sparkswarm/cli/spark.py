"""`sparkswarm spark ...`: run PySpark jobs on a deployed spark stack, and see its state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sparkswarm.cli.common import DETACH_OPTION, JSON_OPTION

app = typer.Typer(help="Run jobs on a spark stack and show its state.", no_args_is_help=True)

STACK_OPTION = typer.Option("spark", "--stack", "-s", help="Name of the deployed spark stack.")


@app.command("submit")
def submit(
    file: Path = typer.Argument(
        ..., help="The PySpark script to run.", exists=True, dir_okay=False, readable=True
    ),
    stack: str = STACK_OPTION,
    arg: list[str] = typer.Option(None, "--arg", help="Argument for the script (repeatable)."),
    conf: list[str] = typer.Option(None, "--conf", help="Spark conf key=value (repeatable)."),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds before the job is removed."),
    detach: bool = DETACH_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run FILE with spark-submit on the stack's cluster and print what it printed.

    Exits 1 when the job fails, after printing the end of Spark's log.
    """
    from sparkswarm.bounded import read_text_bounded
    from sparkswarm.cli.common import fail, perform
    from sparkswarm.spark.job_spec import MAX_SCRIPT_BYTES, new_job_id

    conf_values: dict[str, str] = {}
    for pair in conf or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--conf {pair!r}: expected key=value")
        conf_values[key] = value
    # Bounded: the size is checked before reading (`spark submit /dev/zero`).
    script = read_text_bounded(str(file), MAX_SCRIPT_BYTES, "script")
    params = {
        "stack": stack,
        "script": script,
        "script_name": file.name,
        "args": list(arg or []),
        "conf": conf_values,
        "timeout": timeout,
        "job_id": new_job_id(),
    }
    result = perform("spark.submit", params, detach=detach)
    _show_job(result, as_json=as_json)


@app.command("wait")
def wait(
    job_id: str = typer.Argument(..., help="The id `spark submit --detach` printed."),
    stack: str = STACK_OPTION,
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds before the job is removed."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Wait for a detached job, print its output, and remove it."""
    from sparkswarm.cli.common import perform

    result = perform("spark.wait", {"stack": stack, "job_id": job_id, "timeout": timeout})
    _show_job(result, as_json=as_json)


@app.command("rm")
def remove(
    job_id: str = typer.Argument(..., help="The job's id."),
    stack: str = STACK_OPTION,
) -> None:
    """Stop and remove a job (its service, containers and script config)."""
    from sparkswarm.cli.common import console, perform

    result = perform("spark.rm", {"stack": stack, "job_id": job_id})
    removed = ", ".join(result.get("removed", [])) or "nothing to remove"
    console().print(f"job {job_id}: {removed}", highlight=False)


def _show_job(result: dict[str, Any], *, as_json: bool) -> None:
    """Print a job result: what the script printed; on failure Spark's log tail (exit 1)."""
    from sparkswarm.cli.common import EXIT_FAILURE, console, err_console, print_json

    if as_json:
        print_json(result)
    elif result["state"] == "running":
        console().print(
            f"job {result['job_id']} started as service {result['service']}; "
            f"collect it with: sparkswarm spark wait {result['job_id']} --stack {result['stack']}",
            highlight=False,
        )
    else:
        for line in result.get("output", []):
            typer.echo(line)
        err = err_console()
        if result["state"] != "succeeded":
            for line in result.get("log_tail", []):
                err.print(line, highlight=False, markup=False)
            err.print(f"job {result['job_id']} failed: {result.get('error')}", markup=False)
        else:
            err.print(f"job {result['job_id']} succeeded in {result['seconds']} s")
    if result["state"] == "failed":
        raise typer.Exit(EXIT_FAILURE)


@app.command("status")
def status(
    stack: str = STACK_OPTION,
    wait: float = typer.Option(
        0.0,
        "--wait",
        help="Wait up to this many seconds for the master to answer and for every "
        "worker replica to be ALIVE (after a deploy).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the master's state: workers (ALIVE or not), cores, memory, running apps."""
    from sparkswarm.cli.common import console, err_console, gateway, print_json, print_table
    from sparkswarm.spark.queries import require_stack_service
    from sparkswarm.spark.status import spark_status, wait_for_workers

    if wait > 0:
        worker = require_stack_service(gateway(), stack, "worker")
        wanted = int(worker["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 0))
        with err_console().status(f"waiting for {wanted} workers of {stack} to be ALIVE"):
            result = wait_for_workers(gateway(), stack=stack, workers=wanted, timeout=wait)
    else:
        result = spark_status(gateway(), stack=stack)
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
