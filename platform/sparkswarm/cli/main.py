"""Entry point: ``sparkswarm`` and its command groups."""

from __future__ import annotations

import copy
import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import typer
from typer.core import TyperGroup

# Every command group and top-level command: its name, and where it lives as
# "module:attribute" (a typer app, or a function for a one-word command). A
# command's module is imported only when that command runs, or when a misspelt
# name needs every command to suggest from; the top-level --help lists the
# request groups from the grammar (LazyGroup.format_help).
COMMANDS: dict[str, str] = {
    "swarm": "sparkswarm.cli.swarm:app",
    "node": "sparkswarm.cli.node:app",
    "service": "sparkswarm.cli.service:app",
    "network": "sparkswarm.cli.network:app",
    "runs": "sparkswarm.cli.runs:app",
    "schedule": "sparkswarm.cli.schedule:app",
    "events": "sparkswarm.cli.events:events",
    "worker": "sparkswarm.cli.worker:worker",
    "beat": "sparkswarm.cli.worker:beat",
    "spark-watcher": "sparkswarm.cli.worker:spark_watcher",
    "watch": "sparkswarm.cli.worker:watch",
    "alerts": "sparkswarm.cli.alerts:app",
    "stack": "sparkswarm.cli.stack:app",
    "images": "sparkswarm.cli.images:app",
    "spark": "sparkswarm.cli.spark:app",
    "lab": "sparkswarm.cli.lab:app",
    "bot": "sparkswarm.cli.bot:app",
    "platform": "sparkswarm.cli.platform:app",
    "metrics": "sparkswarm.cli.metrics:metrics",
}


def load_command(name: str, only: str | None = None) -> Any:
    """The click command (or group) ``name`` of :data:`COMMANDS`, importing its module.

    ``only`` is the word after ``name`` on the command line: when the group
    has a command of that name, the group is built holding that one alone.
    typer turns each command's signature into click parameters as it builds
    a group, and a command line runs one command; any other word (``--help``,
    a misspelt name) gets the whole group, to list or to suggest from.
    """
    module_name, _, attribute = COMMANDS[name].partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    command: Any
    if isinstance(target, typer.Typer):
        # A group even with one command (`images build`), as add_typer makes it.
        command = typer.main.get_group(_narrowed(target, only))
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


def _narrowed(group: typer.Typer, only: str | None) -> typer.Typer:
    """``group`` with command ``only`` alone, or ``group`` when it has none of that name."""
    chosen = [info for info in group.registered_commands if only and info.name == only]
    if not chosen:
        return group
    narrow = copy.copy(group)  # the group's own settings and callback, shared
    narrow.registered_commands = chosen
    return narrow


def _listing_entry(name: str, loaded: Mapping[str, Any]) -> Any:
    """A stand-in for request group ``name`` to list in the help (None if it
    is loaded already or is not a request group: those load, cheaply)."""
    from sparkswarm.requests.builders import GROUPS
    from sparkswarm.requests.grammar import load_groups

    load_groups()
    if name in loaded or name not in GROUPS:
        return None
    return TyperGroup(name=name, help=GROUPS[name].help)


class LazyGroup(TyperGroup):
    """The top-level group: commands are looked up in :data:`COMMANDS` when used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The top-level help: each group listed with the grammar's one line.

        Listing a group needs its help, not its commands: a group not yet
        loaded is listed by a stand-in named and described as in the request
        grammar (which the group modules build their help from), so ``--help``
        does not turn every command's signature into click options.
        """
        stand_ins = {
            name: entry for name in COMMANDS if (entry := _listing_entry(name, self.commands))
        }
        self.commands.update(stand_ins)
        try:
            super().format_help(ctx, formatter)
        finally:
            for name in stand_ins:
                del self.commands[name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in COMMANDS:
            # Unknown: typer suggests the closest of the commands it holds, so hold all.
            for name in COMMANDS:
                self.get_command(ctx, name)
        elif args and args[0] not in self.commands:
            self.commands[args[0]] = load_command(args[0], only=next(iter(args[1:]), None))
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="sparkswarm",
    cls=LazyGroup,
    help="Spark study clusters on Docker Swarm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"


def skip_pydantic_plugin_scan() -> None:
    """Tell pydantic, unless the user said otherwise, to load no plugins.

    The first model pydantic builds in a process makes it look for plugins
    in every installed distribution's entry points (importlib.metadata reads
    each one's metadata); sparkswarm uses none, and every command pays that
    scan. ``PYDANTIC_DISABLE_PLUGINS`` is pydantic's documented switch
    ("Disabling Plugins" in its plugin docs); a user who runs a pydantic
    plugin with sparkswarm sets the variable (empty, or to the plugins to
    leave out) and keeps it.
    """
    os.environ.setdefault(PLUGINS_VARIABLE, "__all__")


def run() -> None:
    """Console-script entry: every refusal is one line on stderr and an exit code.

    Our errors map to their documented codes; usage errors (unknown option,
    a value of the wrong type) are exit 2 with click's message on one line,
    not a usage block, so scripts and the table tests can rely on the shape.
    """
    from sparkswarm.cli.common import EXIT_INVALID, exit_code_for, fail
    from sparkswarm.errors import SparkswarmError

    skip_pydantic_plugin_scan()
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
