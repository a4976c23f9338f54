"""`sparkswarm spark ...`: the cluster (up, down, status) and its jobs.

Thin commands: the params are built by ``sparkswarm.spark.job_request`` /
``sparkswarm.spark.cluster``, performed as operations, and a job record is
rendered by ``sparkswarm.spark.job_record``. Job records live in Redis
(SPARKSWARM_REDIS_URL); without a broker `spark submit` follows its job
from this process and nothing is recorded.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import JSON_OPTION

if TYPE_CHECKING:
    from sparkswarm.spark.job_record import JobRecord

app = typer.Typer(help="Run jobs on a spark stack and show its state.", no_args_is_help=True)

STACK_OPTION = typer.Option("spark", "--stack", "-s", help="Name of the deployed spark stack.")
JOB_COLUMNS = ["id", "name", "state", "requester", "source", "cores", "duration", "app", "reason"]


@app.command("submit")
def submit(
    target: str = typer.Argument(..., help="A PySpark script, or a catalogue job's name (pi)."),
    args: list[str] = typer.Argument(None, help="Arguments for the script."),
    stack: str = STACK_OPTION,
    name: str = typer.Option(None, "--name", help="The application's name."),
    executor_memory: str = typer.Option(None, "--executor-memory", help="e.g. 512m, 1g."),
    total_executor_cores: int = typer.Option(
        None, "--total-executor-cores", help="Cores in total (default: the stack's job_cores)."
    ),
    conf: list[str] = typer.Option(None, "--conf", help="Spark conf key=value (repeatable)."),
    py_files: list[str] = typer.Option(None, "--py-files", help="a.py,b.zip: Python deps."),
    files: list[str] = typer.Option(None, "--files", help="data.csv,...: input files."),
    image: str = typer.Option(None, "--image", help="Driver image (default: the master's)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Return once the driver runs."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Submit a job; without --detach, follow it to its end and print what it printed.

    Exits 1 when the job fails (after printing the end of Spark's log), 2 when
    it is refused (it can never fit the cluster: the message gives the numbers).
    """
    from sparkswarm.cli.common import perform
    from sparkswarm.spark.job_record import JobRecord
    from sparkswarm.spark.job_request import build_submit_params

    params = build_submit_params(
        target,
        args or [],
        stack=stack,
        name=name,
        executor_memory=executor_memory,
        total_executor_cores=total_executor_cores,
        conf=conf or [],
        py_files=py_files or [],
        files=files or [],
        image=image,
    )
    result = perform("spark.submit", params)
    record = JobRecord.model_validate(result["record"])
    _say(f"job {record.id} {record.state} in {result['seconds']} s" + _why(record))
    if detach or record.done:
        if not record.done and not _broker():
            _say("no broker: nothing follows this job; `sparkswarm spark rm` it when done")
        _finish(record, as_json=as_json, print_output=record.done)
        return
    record = _follow(record)
    _finish(record, as_json=as_json, print_output=True)


def _broker() -> bool:
    from sparkswarm.config import get_settings

    return bool(get_settings().redis_url)


def _say(text: str) -> None:
    from sparkswarm.cli.common import err_console

    err_console().print(text, highlight=False, markup=False)


def _why(record: JobRecord) -> str:
    return f": {record.reason}" if record.reason else ""


def _follow(record: JobRecord) -> JobRecord:
    """The job's final record, printing its changes (from its record with a
    broker; observed from here without one)."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.spark.follow import follow_locally

    def changed(new: JobRecord) -> None:
        _say(f"job {new.id} {new.state}{_why(new)}")

    if not _broker():
        return follow_locally(gateway(), record, on_change=changed)
    from sparkswarm.workers.client import broker_errors
    from sparkswarm.workers.spark_jobs import job_store

    store = job_store()
    seen = (record.state, record.reason)
    while not record.done:
        time.sleep(0.5)
        with broker_errors("spark jobs"):
            record = store.get(record.id)
        if (record.state, record.reason) != seen:
            seen = (record.state, record.reason)
            changed(record)
    return record


def _finish(record: JobRecord, *, as_json: bool, print_output: bool) -> None:
    """Print a job's record or output; exit 1 if it failed or was cancelled."""
    from sparkswarm.cli.common import EXIT_FAILURE, print_json

    if as_json:
        print_json(record)
    elif print_output:
        for line in record.output:
            typer.echo(line)
        if record.state != "SUCCEEDED":
            for line in record.log_tail:
                _say(line)
    if record.done:
        _say(
            f"job {record.id} {record.state}"
            + (f" after {record.duration:g} s" if record.duration else "")
            + _why(record)
        )
    if record.state in ("FAILED", "CANCELLED"):
        raise typer.Exit(EXIT_FAILURE)


def _store() -> Any:
    from sparkswarm.cli.common import fail

    if not _broker():
        raise fail("job records live in Redis: set SPARKSWARM_REDIS_URL")
    from sparkswarm.workers.spark_jobs import job_store

    return job_store()


def _record(job_id: str) -> JobRecord:
    from sparkswarm.workers.client import broker_errors

    with broker_errors("spark jobs"):
        record: JobRecord = _store().get(job_id)
    return record


@app.command("jobs")
def jobs(
    state: str = typer.Option(
        None, "--state", help="SUBMITTED, RUNNING, SUCCEEDED, FAILED, CANCELLED."
    ),
    limit: int = typer.Option(20, "--limit", help="At most this many, newest first."),
    stack: str = typer.Option(None, "--stack", "-s", help="Only this stack's jobs."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List jobs, newest first."""
    from sparkswarm.cli.common import fail, show
    from sparkswarm.spark.job_record import JOB_STATES, record_row
    from sparkswarm.workers.client import broker_errors

    if state is not None and state.upper() not in JOB_STATES:
        raise fail(f"--state is one of {', '.join(JOB_STATES)}")
    if not 1 <= limit <= 1000:
        raise fail("--limit is between 1 and 1000")
    with broker_errors("spark jobs"):
        records = _store().list(state=state.upper() if state else None, stack=stack, limit=limit)
    if as_json:
        show(records, [], as_json=True)
    else:
        show([record_row(r) for r in records], JOB_COLUMNS, as_json=False)


@app.command("job")
def job(
    job_id: str = typer.Argument(..., help="The job's id (or its first letters)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one job: what was asked, its state and why, its output."""
    from sparkswarm.cli.common import print_json
    from sparkswarm.spark.job_record import describe

    record = _record(job_id)
    if as_json:
        print_json(record)
        return
    for line in describe(record):
        typer.echo(line)


@app.command("logs")
def logs(
    job_id: str = typer.Argument(..., help="The job's id."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until it ends."),
) -> None:
    """Print the driver's log: live while its containers exist, else the recorded one."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.errors import NotFound
    from sparkswarm.spark.follow import follow_logs
    from sparkswarm.spark.jobs import job_logs

    record = _record(job_id)
    try:
        if follow:
            for line in follow_logs(gateway(), stack=record.stack, job_id=record.id):
                typer.echo(line)
            return
        stdout, stderr = job_logs(gateway(), stack=record.stack, job_id=record.id)
    except NotFound:
        stdout, stderr = record.output, record.log_tail
    for line in stdout:
        typer.echo(line)
    for line in stderr:
        sys.stderr.write(line + "\n")


@app.command("cancel")
def cancel(job_id: str = typer.Argument(..., help="The job's id.")) -> None:
    """Cancel a job: the master kills its application and its driver is removed."""
    from sparkswarm.cli.common import perform

    record = _record(job_id) if _broker() else None
    params = {
        "job_id": record.id if record else job_id,
        "stack": record.stack if record else "spark",
    }
    result = perform("spark.cancel", params)
    _say(
        f"job {params['job_id']} cancelled (application {result.get('app_id') or 'not registered'})"
    )


@app.command("rm")
def remove(
    job_id: str = typer.Argument(..., help="The job's id."),
    stack: str = STACK_OPTION,
) -> None:
    """Remove a job's service, containers and configs now (its record stays)."""
    from sparkswarm.cli.common import console, perform

    result = perform("spark.rm", {"stack": stack, "job_id": job_id})
    removed = ", ".join(result.get("removed", [])) or "nothing to remove"
    console().print(f"job {job_id}: {removed}", highlight=False)


@app.command("up")
def up(
    stack: str = STACK_OPTION,
    workers: int = typer.Option(None, "--workers", help="Worker replicas (default 2)."),
    worker_cores: int = typer.Option(None, "--worker-cores", help="Cores per worker."),
    worker_memory: str = typer.Option(None, "--worker-memory", help="Memory per worker, e.g. 1g."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deploy the ready-made Spark cluster and wait until every worker is ALIVE."""
    from sparkswarm.cli.common import console, perform, print_json
    from sparkswarm.spark.cluster import up_params

    params = up_params(
        stack, workers=workers, worker_cores=worker_cores, worker_memory=worker_memory
    )
    result = perform("spark.up", params)
    if as_json:
        print_json(result)
        return
    console().print(
        f"{stack}: {result['alive_workers']} workers ALIVE, {result['cores']} cores, "
        f"{result['memory_mb']} MiB",
        highlight=False,
    )


@app.command("down")
def down(stack: str = STACK_OPTION) -> None:
    """Remove the Spark cluster and any job containers still on it (records stay)."""
    from sparkswarm.cli.common import console, perform

    perform("spark.down", {"name": stack})
    console().print(f"{stack} removed", highlight=False)


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
