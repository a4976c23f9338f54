"""The command grammar shared by the CLI, schedules and chat.

Each command is a *builder* (declared in :mod:`sparkswarm.requests.builders`
by the group modules): a plain function whose typer-annotated signature is
the command's arguments and options, and whose body turns them into a
:class:`Request` using the core's pure validators. Builders never touch the
engine or Redis and never print, so calling one is parsing.

- The CLI registers every builder as a typer command, adding only
  presentation options (``--json``, ``--detach``, ``--key``) and a renderer.
- :func:`parse` resolves command words to a builder with click's own parser
  (the same one the CLI uses, so both accept exactly the same words) and
  returns the builder's Request.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import typer

from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.requests.builders import GROUPS, files_allowed
from sparkswarm.requests.model import Request


def load_groups() -> None:
    """Import the group modules (each registers itself in ``GROUPS``)."""
    from sparkswarm.requests import nodes, queue, services, spark, stacks, swarm  # noqa: F401


@cache
def _click_group(name: str) -> Any:
    """The click group typer makes of group ``name`` (its ``commands`` by name)."""
    return typer.main.get_command(GROUPS[name].app)


def _closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return found[0] if found else None


def _usage_line(group_name: str, command_name: str) -> str:
    command = _click_group(group_name).commands[command_name]
    with typer.Context(command, info_name=f"sparkswarm {group_name} {command_name}") as ctx:
        line: str = command.get_usage(ctx)
        return line.replace("Usage: ", "usage: ", 1)


def parse(
    words: Sequence[str], *, allow_files: bool = True, attached: Mapping[str, bytes] | None = None
) -> Request:
    """The Request that command ``words`` (what follows ``sparkswarm``) ask for.

    Nothing runs and nothing is printed. With ``allow_files=False`` (chat) a
    command that would read a file of this host is refused; a file named
    exactly as one of ``attached`` (a chat message's attachments, by name) is
    read from there instead, with the same limits. Raises
    InvalidRequest with the usage of the closest command when the words are
    not a valid request.
    """
    load_groups()
    words = [str(word) for word in words]
    if not words:
        raise InvalidRequest("no command given\n" + usage())
    if "--help" in words or "-h" in words:
        raise InvalidRequest(usage([w for w in words if w not in ("--help", "-h")]))
    head = words[0]
    if head not in GROUPS:
        guess = _closest(head, list(GROUPS))
        hint = f"; did you mean `{guess}`?" if guess else ""
        raise InvalidRequest(f"unknown command {head!r}{hint}\n" + usage([guess] if guess else []))
    grp = GROUPS[head]
    if len(words) < 2:
        raise InvalidRequest(f"`{head}` needs a command\n" + usage([head]))
    name = words[1]
    if name in grp.terminal_only:
        raise InvalidRequest(f"`{head} {name}` {grp.terminal_only[name]}; it is not a request")
    if name not in grp.builders:
        guess = _closest(name, [*grp.builders, *grp.terminal_only])
        hint = f"; did you mean `{head} {guess}`?" if guess else ""
        shown = usage([head, guess]) if guess in grp.builders else usage([head])
        raise InvalidRequest(f"unknown command `{head} {name}`{hint}\n{shown}")
    command = _click_group(head).commands[name]
    try:
        with files_allowed(allow_files, attached):
            result = command.main(
                args=words[2:], prog_name=f"sparkswarm {head} {name}", standalone_mode=False
            )
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        shown = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise InvalidRequest(f"{shown}\n{_usage_line(head, name)}") from None
    except (typer.Exit, typer.Abort) as exc:  # an eager option ended parsing
        raise InvalidRequest(_usage_line(head, name)) from exc
    except NotFound as exc:  # a ready-made stack or job that does not exist
        raise InvalidRequest(str(exc)) from None
    if not isinstance(result, Request) or result.op != grp.ops[name]:
        raise InvalidRequest(f"`{head} {name}` is not a request")
    return dataclasses.replace(result, words=tuple(words))


def usage(words: Sequence[str] = ()) -> str:
    """Plain-text help: every command (no words), a group's commands, or one
    command's usage and options."""
    load_groups()
    words = [w for w in words if w]
    if not words or words[0] not in GROUPS:
        lines = ["commands:"]
        for grp in GROUPS.values():
            names = ", ".join(sorted(grp.builders))
            lines.append(f"  {grp.name} ({names}): {grp.help}")
        return "\n".join(lines)
    grp = GROUPS[words[0]]
    if len(words) < 2 or words[1] not in grp.builders:
        lines = [f"sparkswarm {grp.name}: {grp.help}"]
        for name in sorted(grp.builders):
            command = _click_group(grp.name).commands[name]
            lines.append(f"  {grp.name} {name}: {command.get_short_help_str(limit=70)}")
        return "\n".join(lines)
    command = _click_group(grp.name).commands[words[1]]
    with typer.Context(command, info_name=f"sparkswarm {grp.name} {words[1]}") as ctx:
        return _plain(command.get_help(ctx))


def _plain(text: str) -> str:
    # typer renders help with rich when it can; keep only the text.
    return "\n".join(line.rstrip() for line in text.splitlines())
