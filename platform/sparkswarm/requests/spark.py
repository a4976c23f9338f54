"""The ``spark`` commands: the cluster (up, down, status) and its jobs.

``submit`` reads the script and the files that travel with it here (a
catalogue job by name, or files of this host where files may be read: not
from chat); ``logs`` streams from a terminal. Job records are queue reads.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests.builders import group, read_request_bytes
from sparkswarm.requests.model import Request, request
from sparkswarm.states import JOB_STATES, check_job_state

spark = group("spark", "Run jobs on a spark stack and show its state.")
spark.terminal("logs", "prints a job's driver log in a terminal")
spark.terminal("connect-url", "prints a secret token in a terminal")

STACK = typer.Option("spark", "--stack", "-s", help="Name of the deployed spark stack.")


def _stack(name: str) -> str:
    from sparkswarm.stacks.convert import validate_stack_name

    return validate_stack_name(name)


def _read(path: Path, what: str) -> bytes:
    from sparkswarm.spark.job_request import CONFIG_LIMIT

    return read_request_bytes(path, what, limit=CONFIG_LIMIT)


@spark.command("submit", "spark.submit")
def submit(
    target: str = typer.Argument(..., help="A catalogue job's name (pi) or a PySpark script."),
    args: list[str] | None = typer.Argument(None, help="Arguments for the script."),
    stack: str = STACK,
    arg: list[str] | None = typer.Option(
        None, "--arg", help="Argument for the script (repeatable; after ARGS)."
    ),
    name: str | None = typer.Option(None, "--name", help="The application's name."),
    executor_memory: str | None = typer.Option(
        None, "--executor-memory", help="Memory per executor, e.g. 512m, 1g."
    ),
    total_executor_cores: int | None = typer.Option(
        None, "--total-executor-cores", help="Cores in total (default: the stack's job_cores)."
    ),
    conf: list[str] | None = typer.Option(
        None, "--conf", help="Spark conf key=value (repeatable)."
    ),
    py_files: list[str] | None = typer.Option(
        None, "--py-files", help="a.py,b.zip: Python dependencies."
    ),
    files: list[str] | None = typer.Option(None, "--files", help="data.csv,...: input files."),
    image: str | None = typer.Option(None, "--image", help="Driver image (default: the master's)."),
) -> Request:
    """Submit a job: it is checked against the cluster, its driver started, and
    it runs on as a record of its own (`spark jobs`). Exits 2 when it can never
    fit the cluster (the message gives the numbers)."""
    from sparkswarm.spark.job_request import build_submit_params

    params = build_submit_params(
        target,
        [*(args or []), *(arg or [])],
        stack=_stack(stack),
        name=name,
        executor_memory=executor_memory,
        total_executor_cores=total_executor_cores,
        conf=conf or [],
        py_files=py_files or [],
        files=files or [],
        image=image,
        read=_read,
    )
    return request("spark.submit", params)


@spark.command("jobs", "spark.jobs")
def jobs(
    who: str | None = typer.Argument(
        None, help="mine (your jobs) or all (everyone's); unsaid: all in a terminal, yours in chat."
    ),
    mine: bool = typer.Option(False, "--mine", help="Only your jobs (as `mine`)."),
    state: str | None = typer.Option(None, "--state", help=", ".join(JOB_STATES) + "."),
    limit: int = typer.Option(20, "--limit", help="At most this many, newest first."),
    stack: str | None = typer.Option(None, "--stack", "-s", help="Only this stack's jobs."),
) -> Request:
    """List Spark jobs, newest first: state (QUEUED ones with their place), who
    asked, duration, reason."""
    if who is not None and who.lower() not in ("mine", "all"):
        raise InvalidRequest(f"spark jobs takes mine or all, not {who!r}")
    if mine and who is not None and who.lower() == "all":
        raise InvalidRequest("spark jobs: --mine or all, not both")
    check_job_state(state)
    from sparkswarm.limits import check_number

    check_number("--limit", limit)
    # None: the front end decides (everyone's in a terminal, the caller's in chat).
    only_mine = True if mine or (who or "").lower() == "mine" else None
    if (who or "").lower() == "all":
        only_mine = False
    params = {
        "state": state.upper() if state else None,
        "stack": stack,
        "limit": limit,
        "mine": only_mine,
    }
    return request("spark.jobs", params)


@spark.command("job", "spark.job")
def job(job_id: str = typer.Argument(..., help="The job's id (or a unique prefix).")) -> Request:
    """Show one job: what was asked, its state and why, its output, its UI links."""
    if not job_id.strip():
        raise InvalidRequest("give a job id")
    return request("spark.job", {"job_id": job_id.strip()})


@spark.command("cancel", "spark.cancel")
def cancel(job_id: str = typer.Argument(..., help="The job's id."), stack: str = STACK) -> Request:
    """Cancel a job: the master kills its application and its driver is removed."""
    from sparkswarm.spark.job_spec import validate_job_id

    return request("spark.cancel", {"job_id": validate_job_id(job_id), "stack": _stack(stack)})


@spark.command("rm", "spark.rm")
def remove(job_id: str = typer.Argument(..., help="The job's id."), stack: str = STACK) -> Request:
    """Remove a job's service, containers and configs now (its record stays)."""
    from sparkswarm.spark.job_spec import validate_job_id

    return request("spark.rm", {"stack": _stack(stack), "job_id": validate_job_id(job_id)})


@spark.command("up", "spark.up")
def up(
    stack: str = STACK,
    workers: int | None = typer.Option(None, "--workers", help="Worker replicas (default 2)."),
    worker_cores: int | None = typer.Option(None, "--worker-cores", help="Cores per worker."),
    worker_memory: str | None = typer.Option(
        None, "--worker-memory", help="Memory per worker, e.g. 1g."
    ),
    connect: bool = typer.Option(
        False, "--connect", help="Also run a Spark Connect server (for spark sql, notebooks)."
    ),
    connect_port: int | None = typer.Option(
        None, "--connect-port", help="Publish the Connect server on this host port (token on)."
    ),
) -> Request:
    """Deploy the ready-made Spark cluster and wait until every worker is ALIVE."""
    from sparkswarm.spark.cluster import up_params

    params = up_params(
        _stack(stack),
        workers=workers,
        worker_cores=worker_cores,
        worker_memory=worker_memory,
        connect=connect,
        connect_port=connect_port,
    )
    return request("spark.up", params)


@spark.command("down", "spark.down")
def down(stack: str = STACK) -> Request:
    """Remove the Spark cluster and any job containers still on it (records stay)."""
    return request("spark.down", {"name": _stack(stack)})


@spark.command("status", "spark.status")
def status(stack: str = STACK) -> Request:
    """Show the master's state: workers (ALIVE or not), cores, memory, running apps."""
    return request("spark.status", {"stack": _stack(stack)})


# "-1" in "SELECT -1" is a word of the statement, not an unknown option.
@spark.command("sql", "spark.sql", context_settings={"ignore_unknown_options": True})
def sql(
    statement: list[str] = typer.Argument(
        ..., help="The SQL statement (the rest of the words; quote it in a shell)."
    ),
    stack: str = STACK,
) -> Request:
    """Answer a SQL statement through the stack's Spark Connect server (a warm
    session held by the worker): a table, the row count, the time taken. The
    stack runs one with `spark up --connect`; a statement is interrupted after
    SPARKSWARM_SPARK_SQL_TIMEOUT seconds."""
    from sparkswarm.spark.sql import validate_statement

    return request(
        "spark.sql", {"stack": _stack(stack), "statement": validate_statement(" ".join(statement))}
    )


@spark.command("sql-cancel", "spark.sql_cancel")
def sql_cancel(
    run_id: str = typer.Argument(..., help="The run of the statement."), stack: str = STACK
) -> Request:
    """Interrupt a running `spark sql` statement (the chat's Cancel button)."""
    if not run_id.strip() or len(run_id) > 200:
        raise InvalidRequest("give the run id of the statement")
    return request("spark.sql_cancel", {"stack": _stack(stack), "run_id": run_id.strip()})
