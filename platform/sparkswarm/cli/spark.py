"""`sparkswarm spark ...`: the cluster (up, down, status) and its jobs.

The commands are the grammar's (:mod:`sparkswarm.requests.spark`); this
module renders results, follows a submitted job to its end, prints a job's
log, and waits for workers after a deploy. Job records live in Redis
(SPARKSWARM_REDIS_URL); without a broker `spark submit` follows its job
from this process and nothing is recorded.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

from sparkswarm.cli.common import (
    EXIT_FAILURE,
    JSON_OPTION,
    KEY_OPTION,
    console,
    err_console,
    expose,
    perform,
    print_json,
    print_table,
    show,
)
from sparkswarm.requests import spark as grammar
from sparkswarm.requests.builders import extend_signature

if TYPE_CHECKING:
    from sparkswarm.spark.job_record import JobRecord
    from sparkswarm.spark.sql import SqlAnswer
    from sparkswarm.spark.status import SparkStatus

app = typer.Typer(help=grammar.spark.help, no_args_is_help=True)

JOB_COLUMNS = ["id", "name", "state", "requester", "source", "cores", "duration", "app", "reason"]


def _say(text: str) -> None:
    err_console().print(text, highlight=False, markup=False)


def _why(record: JobRecord) -> str:
    return f": {record.reason}" if record.reason else ""


def _broker() -> bool:
    from sparkswarm.config import get_settings

    return bool(get_settings().redis_url)


def submit(**kwargs: Any) -> None:
    """Submit a job; without --detach, follow it to its end and print what it
    printed (exit 1 if it failed or was cancelled, 2 if it was refused)."""
    detach = kwargs.pop("detach")
    as_json = kwargs.pop("as_json")
    key = kwargs.pop("key")
    result = perform(grammar.submit(**kwargs), key=key)
    record = result.record
    _say(f"job {record.id} {record.state} in {result.seconds} s" + _why(record))
    if detach or record.done:
        if not record.done and not _broker():
            _say("no broker: nothing follows this job; `sparkswarm spark rm` it when done")
        render_record_end(record, as_json=as_json, print_output=record.done)
        return
    render_record_end(follow(record), as_json=as_json, print_output=True)


extend_signature(
    grammar.submit,
    submit,
    add=[
        (
            "detach",
            bool,
            typer.Option(False, "--detach", "-d", help="Return once the driver runs."),
        ),
        ("key", str | None, KEY_OPTION),
        ("as_json", bool, JSON_OPTION),
    ],
)
app.command("submit")(submit)


def follow(record: JobRecord) -> JobRecord:
    """The job's final record, printing its changes (from its record with a
    broker; observed from this process without one)."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.spark.follow import follow_locally

    def changed(new: JobRecord) -> None:
        _say(f"job {new.id} {new.state}{_why(new)}")

    if not _broker():
        return follow_locally(gateway(), record, on_change=changed)
    from sparkswarm.workers.client import broker_errors, queue_client
    from sparkswarm.workers.spark_jobs import JobStore

    store = JobStore.for_client(queue_client())
    seen = (record.state, record.reason)
    while not record.done:
        time.sleep(0.5)
        with broker_errors("spark jobs"):
            record = store.get(record.id)
        if (record.state, record.reason) != seen:
            seen = (record.state, record.reason)
            changed(record)
    return record


def render_record_end(record: JobRecord, *, as_json: bool, print_output: bool) -> None:
    """A job's record or output; exit 1 if it failed or was cancelled."""
    if as_json:
        print_json(record)
    elif print_output:
        for line in record.output:
            typer.echo(line)
        if record.state != "SUCCEEDED":
            for line in record.log_tail:
                _say(line)
    if record.done:
        took = f" after {record.duration:g} s" if record.duration else ""
        _say(f"job {record.id} {record.state}{took}{_why(record)}")
    if record.state in ("FAILED", "CANCELLED"):
        raise typer.Exit(EXIT_FAILURE)


def render_jobs(records: list[JobRecord], as_json: bool) -> None:
    from sparkswarm.spark.job_record import record_row

    if as_json:
        print_json(records)
    else:
        show([record_row(r) for r in records], JOB_COLUMNS, as_json=False)


def render_job(record: JobRecord, as_json: bool) -> None:
    from sparkswarm.spark.job_record import describe

    if as_json:
        print_json(record)
        return
    for line in describe(record):
        typer.echo(line)


def render_cancelled(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    app_id = result.get("app_id") or "not registered"
    _say(f"job {result.get('job_id')} cancelled (application {app_id})")


def render_removed(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    removed = ", ".join(result.get("removed", [])) or "nothing to remove"
    console().print(f"job {result.get('job_id', '')}: {removed}", highlight=False)


def render_up(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    console().print(
        f"{result['stack']}: {result['alive_workers']} workers ALIVE, {result['cores']} cores, "
        f"{result['memory_mb']} MiB",
        highlight=False,
    )


def render_down(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    jobs = ", ".join(result.get("jobs_removed") or []) or "none"
    console().print(
        f"{result.get('name', 'stack')} removed (jobs removed: {jobs})", highlight=False
    )


def jobs(**kwargs: Any) -> None:
    """`spark jobs`: the grammar's request, told who calls (for `mine`)."""
    from sparkswarm.executor import requester_name
    from sparkswarm.requests.model import request

    as_json = kwargs.pop("as_json")
    asked = grammar.jobs(**kwargs)
    render_jobs(perform(request(asked.op, {**asked.params, "caller": requester_name()})), as_json)


extend_signature(grammar.jobs, jobs, add=[("as_json", bool, JSON_OPTION)])
app.command("jobs")(jobs)
expose(app, "job", grammar.job, render_job)
expose(app, "cancel", grammar.cancel, render_cancelled)
expose(app, "rm", grammar.remove, render_removed)
expose(app, "up", grammar.up, render_up)
expose(app, "down", grammar.down, render_down)


def render_sql(result: SqlAnswer, as_json: bool) -> None:
    """The statement's rows as a table (every fetched row), then the count and the time."""
    if as_json:
        print_json(result)
        return
    if result.columns:
        rows = [dict(zip(result.columns, row, strict=False)) for row in result.rows]
        print_table(rows, result.columns)
    more = f" (more than {result.row_count}: only these were fetched)" if result.more else ""
    session = "warm" if result.warm else "new"
    _say(f"{result.row_count} rows{more} in {result.seconds:.2f} s ({session} session)")


expose(app, "sql", grammar.sql, render_sql)
expose(app, "sql-cancel", grammar.sql_cancel, lambda result, as_json: print_json(result))


@app.command("connect-url")
def connect_url(
    stack: str = grammar.STACK,
    host: str | None = typer.Option(
        None,
        "--host",
        help="Host to put in the URL instead of the node's address (localhost through "
        "an SSH tunnel: pyspark sends a token without TLS only to localhost).",
    ),
) -> None:
    """Print the sc:// URL (with the token) a notebook or `pyspark --remote` uses.

    Only here, on stdout: the token is never logged or sent to chat."""
    import dataclasses

    from sparkswarm.cli.common import gateway
    from sparkswarm.spark.connect import connect_endpoint
    from sparkswarm.stacks.convert import validate_stack_name

    endpoint = connect_endpoint(gateway(), stack=validate_stack_name(stack))
    if host is not None:
        endpoint = dataclasses.replace(endpoint, host=host)
    if not endpoint.published:
        _say(
            f"not published: reachable from containers on {stack}_spark only "
            "(deploy with --set connect_port=PORT to publish it)"
        )
    elif endpoint.token and endpoint.host not in ("localhost", "127.0.0.1"):
        _say(
            "pyspark sends a token only over TLS or to localhost: from another machine, "
            f"tunnel (ssh -L 15002:{endpoint.host}:{endpoint.port} ...) and use --host localhost"
        )
    typer.echo(endpoint.url())


@app.command("logs")
def logs(
    job_id: str = typer.Argument(..., help="The job's id."),
    follow_: bool = typer.Option(False, "--follow", "-f", help="Keep printing until it ends."),
) -> None:
    """Print the driver's log: live while its containers exist, else the recorded one."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.errors import NotFound
    from sparkswarm.spark.follow import follow_logs
    from sparkswarm.spark.jobs import job_logs

    record = perform(grammar.job(job_id=job_id))
    try:
        if follow_:
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
