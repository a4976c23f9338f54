"""`sparkswarm schedule ...`: run any mutating command on a cron (RedBeat)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sparkswarm.cli.common import JSON_OPTION

if TYPE_CHECKING:
    from sparkswarm.workers.schedules import ScheduleBook

app = typer.Typer(help="Schedules: operations submitted on a cron.", no_args_is_help=True)

SCHEDULE_COLUMNS = [
    "name",
    "cron",
    "timezone",
    "concurrency",
    "command",
    "paused",
    "next_run",
    "last_run",
    "last_state",
    "skipped",
]


def _book() -> ScheduleBook:
    from sparkswarm.workers.client import queue_client
    from sparkswarm.workers.schedules import ScheduleBook

    return ScheduleBook(queue_client())


@app.command("add", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def add_schedule(
    name: str = typer.Argument(..., help="A name for the schedule."),
    command: list[str] = typer.Argument(
        ..., help="The mutating sparkswarm command to run, after `--`.", show_default=False
    ),
    cron: str = typer.Option(..., "--cron", help='Five-field cron, e.g. "*/10 * * * *".'),
    timezone: str = typer.Option("UTC", "--timezone", help="Zone the cron is read in."),
    concurrency: str = typer.Option(
        "forbid", "--concurrency", help="forbid (skip while the last run runs), allow, replace."
    ),
) -> None:
    """Add a schedule: `schedule add NAME --cron "0 3 * * *" -- service scale web=0`."""
    from sparkswarm.cli.common import capture_operation, console
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.workers.client import broker_errors, requester_name
    from sparkswarm.workers.schedules import ScheduleDefinition, parse_cron

    if concurrency not in ("forbid", "allow", "replace"):
        raise InvalidRequest("--concurrency is one of forbid, allow, replace")
    words = [w for w in command if w != "--"]
    if not words:
        raise InvalidRequest("give the command to schedule after `--`")
    if words[0] == "schedule":
        raise InvalidRequest("a schedule cannot run `schedule` commands")
    parse_cron(cron, timezone)
    op, params = capture_operation(words)
    shown_words = _masked_words(op, params, words)
    definition = ScheduleDefinition(
        name=name,
        cron=cron,
        timezone=timezone,
        concurrency=concurrency,
        op=op,
        params=params,
        command=shown_words,
        created_by=requester_name(),
    )
    with broker_errors("schedules"):
        _book().add(definition)
    console().print(
        f"schedule {name}: {op} on {cron!r} ({timezone}, {concurrency})", highlight=False
    )


def _masked_words(op_name: str, params: dict[str, object], words: list[str]) -> list[str]:
    """``words`` with the values of the operation's secret parameters masked
    (the schedule keeps the real parameters; its listing shows these words)."""
    from sparkswarm.operations import get_operation

    secrets = [
        str(params[name])
        for name in get_operation(op_name).secret_params
        if isinstance(params.get(name), str) and params[name]
    ]
    masked = []
    for word in words:
        for secret in secrets:
            word = word.replace(secret, "***")
        masked.append(word)
    return masked


@app.command("ls")
def list_schedules(as_json: bool = JSON_OPTION) -> None:
    """List schedules with their next run, last run and its outcome."""
    from sparkswarm.cli.common import show
    from sparkswarm.workers.client import broker_errors

    with broker_errors("schedules"):
        views = _book().views()
    show(views, SCHEDULE_COLUMNS, as_json=as_json)


@app.command("rm")
def remove_schedule(name: str = typer.Argument(..., help="The schedule.")) -> None:
    """Remove a schedule (runs it already submitted are kept)."""
    from sparkswarm.cli.common import console
    from sparkswarm.workers.client import broker_errors

    with broker_errors("schedules"):
        _book().remove(name)
    console().print(f"schedule {name} removed", highlight=False)


@app.command("pause")
def pause_schedule(name: str = typer.Argument(..., help="The schedule.")) -> None:
    """Stop a schedule from firing until it is resumed."""
    from sparkswarm.cli.common import console
    from sparkswarm.workers.client import broker_errors

    with broker_errors("schedules"):
        _book().set_paused(name, True)
    console().print(f"schedule {name} paused", highlight=False)


@app.command("resume")
def resume_schedule(name: str = typer.Argument(..., help="The schedule.")) -> None:
    """Let a paused schedule fire again."""
    from sparkswarm.cli.common import console
    from sparkswarm.workers.client import broker_errors

    with broker_errors("schedules"):
        _book().set_paused(name, False)
    console().print(f"schedule {name} resumed", highlight=False)
