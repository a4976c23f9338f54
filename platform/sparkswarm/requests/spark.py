"""The ``spark`` commands: submit, wait, rm, status."""

from __future__ import annotations

import typer

from sparkswarm.limits import check_wait
from sparkswarm.requests.grammar import group, parse_key_value_options, read_request_file
from sparkswarm.requests.model import Request, request

spark = group("spark", "Run jobs on a spark stack and show its state.")

STACK = typer.Option("spark", "--stack", "-s", help="Name of the deployed spark stack.")
JOB_TIMEOUT = typer.Option(900.0, "--timeout", help="Seconds before the job is removed.")


def _stack(name: str) -> str:
    from sparkswarm.stacks.translate import validate_stack_name

    return validate_stack_name(name)


def _script(file: str) -> tuple[str, str]:
    """(name, text) of the script: a ready-made job by name, or a file of this host."""
    from pathlib import Path

    from sparkswarm.stacks.params import stacks_dir

    catalogue = stacks_dir() / "spark" / "jobs"
    if "/" not in file and not file.endswith(".py") and (catalogue / f"{file}.py").is_file():
        return f"{file}.py", (catalogue / f"{file}.py").read_text(encoding="utf-8")
    from sparkswarm.spark.job_spec import MAX_SCRIPT_BYTES

    return Path(file).name, read_request_file(file, "script", limit=MAX_SCRIPT_BYTES)


@spark.command("submit", "spark.submit")
def submit(
    file: str = typer.Argument(..., help="A ready-made job's name (pi) or a PySpark script."),
    args: list[str] | None = typer.Argument(None, help="Arguments for the script."),
    stack: str = STACK,
    arg: list[str] | None = typer.Option(
        None, "--arg", help="Argument for the script (repeatable)."
    ),
    conf: list[str] | None = typer.Option(
        None, "--conf", help="Spark conf key=value (repeatable)."
    ),
    timeout: float = JOB_TIMEOUT,
) -> Request:
    """Run a PySpark script on the stack's cluster and print what it printed.

    Exits 1 when the job fails, after printing the end of Spark's log.
    """
    from sparkswarm.spark.job_spec import validate_conf, validate_script

    script_name, script = _script(file)
    validate_script(script, script_name)
    conf_values = validate_conf(parse_key_value_options(conf, "--conf"))
    check_wait(timeout)
    params = {
        "stack": _stack(stack),
        "script": script,
        "script_name": script_name,
        "args": [*(args or []), *(arg or [])],
        "conf": conf_values,
        "timeout": timeout,
    }
    return request("spark.submit", params)


@spark.command("wait", "spark.wait")
def wait(
    job_id: str = typer.Argument(..., help="The id `spark submit --detach` printed."),
    stack: str = STACK,
    timeout: float = JOB_TIMEOUT,
) -> Request:
    """Wait for a detached job, print its output, and remove it."""
    from sparkswarm.spark.job_spec import validate_job_id

    params = {
        "stack": _stack(stack),
        "job_id": validate_job_id(job_id),
        "timeout": check_wait(timeout),
    }
    return request("spark.wait", params)


@spark.command("rm", "spark.rm")
def remove(job_id: str = typer.Argument(..., help="The job's id."), stack: str = STACK) -> Request:
    """Stop and remove a job (its service, containers and script config)."""
    from sparkswarm.spark.job_spec import validate_job_id

    return request("spark.rm", {"stack": _stack(stack), "job_id": validate_job_id(job_id)})


@spark.command("status", "spark.status")
def status(stack: str = STACK) -> Request:
    """Show the master's state: workers (ALIVE or not), cores, memory, running apps."""
    return request("spark.status", {"stack": _stack(stack)})
