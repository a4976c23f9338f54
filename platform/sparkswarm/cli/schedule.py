"""`sparkswarm schedule ...`: run any mutating command on a cron (RedBeat)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import typer

from sparkswarm.cli.common import expose, show
from sparkswarm.requests import queue as grammar

if TYPE_CHECKING:
    from sparkswarm.workers.schedules import ScheduleBook, ScheduleView

app = typer.Typer(help=grammar.schedule.help, no_args_is_help=True)
# A channel as chat.postMessage takes it: an id (C..., G..., D...) or #name.
_CHANNEL = re.compile(r"^(#[a-z0-9._-]{1,79}|[CGD][A-Z0-9]{2,79})$")

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
    notify: str = typer.Option(
        "", "--notify", help="Slack channel (id) the bot posts each run's outcome to."
    ),
    notify_on: str = typer.Option(
        "", "--notify-on", help="failure (default with --notify) or always."
    ),
) -> None:
    """Add a schedule: `schedule add NAME --cron "0 3 * * *" -- service scale web=0`.

    The command is parsed by the same grammar as the terminal and chat
    (nothing runs now); reads and ``local`` operations (swarm init, join,
    leave: they would act on the worker's own engine) and commands that warn of
    what they break (``network rm ingress``: nobody would be asked) cannot be
    scheduled.
    """
    from sparkswarm.cli.common import console
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.executor import requester_name
    from sparkswarm.operations import get_operation
    from sparkswarm.requests import parse
    from sparkswarm.workers.client import broker_errors
    from sparkswarm.workers.schedules import ScheduleDefinition, parse_cron

    if concurrency not in ("forbid", "allow", "replace"):
        raise InvalidRequest("--concurrency is one of forbid, allow, replace")
    if notify_on and not notify:
        raise InvalidRequest("--notify-on needs --notify CHANNEL")
    if notify_on and notify_on not in ("failure", "always"):
        raise InvalidRequest("--notify-on is one of failure, always")
    if notify and not _CHANNEL.match(notify):
        raise InvalidRequest(
            f"--notify {notify!r} is not a channel: its id (C0123ABCD) or #name "
            "(at most 80 characters)"
        )
    words = [w for w in command if w != "--"]
    if not words:
        raise InvalidRequest("give the command to schedule after `--`")
    if words[0] == "schedule":
        raise InvalidRequest("a schedule cannot run `schedule` commands")
    parse_cron(cron, timezone)
    request = parse(words)
    if request.read_only:
        raise InvalidRequest(f"`{' '.join(words)}` does not change anything; nothing to schedule")
    warnings = get_operation(request.op).warns(dict(request.params))
    if warnings:  # a schedule fires unattended: nobody would be asked
        raise InvalidRequest(
            f"`{' '.join(words)}`: {'; '.join(warnings)}. Run it by hand, not on a schedule"
        )
    if get_operation(request.op).local:
        shown = " ".join(_masked_words(request.op, request.params, words))  # no token in errors
        raise InvalidRequest(
            f"`{shown}` acts on the engine it runs on (a worker's); it cannot be scheduled"
        )
    definition = ScheduleDefinition(
        name=name,
        cron=cron,
        timezone=timezone,
        concurrency=concurrency,
        op=request.op,
        params=request.params,
        command=_masked_words(request.op, request.params, words),
        created_by=requester_name(),
        notify=notify,
        notify_on=notify_on or "failure",
    )
    with broker_errors("schedules"):
        _book().add(definition)
    told = f"; outcomes ({notify_on or 'failure'}) to {notify}" if notify else ""
    console().print(
        f"schedule {name}: {request.op} on {cron!r} ({timezone}, {concurrency}){told}",
        highlight=False,
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


def _schedules(views: list[ScheduleView], as_json: bool) -> None:
    show(views, SCHEDULE_COLUMNS, as_json=as_json)


expose(app, "ls", grammar.schedule_ls, _schedules)


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
