"""`sparkswarm spark ...`: run PySpark jobs on a deployed spark stack, and see its state."""

from __future__ import annotations

from pathlib import Path

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
    from sparkswarm.cli.common import EXIT_FAILURE, console, err_console, fail, perform, print_json
    from sparkswarm.spark.job_spec import new_job_id

    conf_values: dict[str, str] = {}
    for pair in conf or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--conf {pair!r}: expected key=value")
        conf_values[key] = value
    try:
        script = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read: {exc}") from None
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
    if as_json:
        print_json(result)
    elif result["state"] == "running":
        console().print(f"job {result['job_id']} started as service {result['service']}")
    else:
        for line in result.get("output", []):
            typer.echo(line)
        if result["state"] != "succeeded":
            err = err_console()
            for line in result.get("log_tail", []):
                err.print(line, highlight=False, markup=False)
            err.print(f"job {result['job_id']} failed: {result.get('error')}", markup=False)
        else:
            err_console().print(f"job {result['job_id']} succeeded in {result['seconds']} s")
    if result["state"] == "failed":
        raise typer.Exit(EXIT_FAILURE)


@app.command("status")
def status(stack: str = STACK_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Show the master's state: workers (ALIVE or not), cores, memory, running apps."""
    from sparkswarm.cli.common import console, gateway, print_json, print_table
    from sparkswarm.spark.status import spark_status

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
