"""The command grammar shared by the CLI, schedules and chat.

Each command is a *builder*: a plain function whose typer-annotated
signature is the command's arguments and options, and whose body turns them
into a :class:`Request` using the core's pure validators. Builders never
touch the engine or Redis and never print, so calling one is parsing.

- The CLI registers every builder as a typer command, adding only
  presentation options (``--json``, ``--detach``, ``--key``) and a renderer.
- :func:`parse` resolves command words to a builder with click's own parser
  (the same one the CLI uses, so both accept exactly the same words) and
  returns the builder's Request.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import typer

from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.requests.model import Request

Builder = Callable[..., Request]

# A file read on behalf of a request is bounded before it is read: a path such
# as /dev/zero must be refused, not read until memory runs out.
MAX_FILE_BYTES = 1024 * 1024

_files_allowed: ContextVar[bool] = ContextVar("sparkswarm_files_allowed", default=True)
# Files that came with the request itself (a chat message's attachments), by name.
_attached: ContextVar[Mapping[str, bytes] | None] = ContextVar("sparkswarm_attached", default=None)


class Group:
    """A command group (``service``, ``stack``, ...) of builders."""

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help
        # Plain help (rich would print it instead of returning it), and a
        # callback so that a group of one command is still a group.
        self.app = typer.Typer(
            help=help, no_args_is_help=True, add_completion=False, rich_markup_mode=None
        )
        self.app.callback()(_group_callback)
        self.builders: dict[str, Builder] = {}
        self.ops: dict[str, str] = {}
        self.terminal_only: dict[str, str] = {}

    def command(self, name: str, op: str) -> Callable[[Builder], Builder]:
        """Register the decorated builder as command ``name`` of this group,
        building requests for operation ``op``."""

        def register(builder: Builder) -> Builder:
            self.app.command(name)(builder)
            self.builders[name] = builder
            self.ops[name] = op
            BUILDER_OPS[builder] = op
            return builder

        return register

    def terminal(self, name: str, why: str) -> None:
        """Name a command that only makes sense in a terminal (not a request)."""
        self.terminal_only[name] = why


def _group_callback() -> None:
    """Nothing to do at group level."""


GROUPS: dict[str, Group] = {}
BUILDER_OPS: dict[Builder, str] = {}


def is_read_builder(builder: Builder) -> bool:
    """True when ``builder`` makes requests for a read operation."""
    from sparkswarm.operations import get_operation

    return get_operation(BUILDER_OPS[builder]).read_only


def group(name: str, help: str) -> Group:
    """Create and remember group ``name``."""
    GROUPS[name] = Group(name, help)
    return GROUPS[name]


def _load_groups() -> None:
    # The group modules register themselves on import.
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
    _load_groups()
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
    token = _files_allowed.set(allow_files)
    given = _attached.set(dict(attached or {}))
    try:
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
    finally:
        _files_allowed.reset(token)
        _attached.reset(given)
    if not isinstance(result, Request) or result.op != grp.ops[name]:
        raise InvalidRequest(f"`{head} {name}` is not a request")
    return dataclasses.replace(result, words=tuple(words))


def usage(words: Sequence[str] = ()) -> str:
    """Plain-text help: every command (no words), a group's commands, or one
    command's usage and options."""
    _load_groups()
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


def local_files_allowed() -> bool:
    """Whether the request being parsed may read files of this host (not in chat)."""
    return _files_allowed.get()


def read_request_bytes(path: str | Path, what: str, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file a request names (a script, a compose file, a job's
    input), read bounded; a file attached to the request (see :func:`parse`)
    is taken from there, whatever may be read of this host.

    Raises InvalidRequest when files may not be read here (chat), when the
    path is not a regular file or is larger than ``limit`` bytes. The size
    is checked before reading, and the read stops at ``limit`` + 1 bytes
    whatever the file claims.
    """
    attached = (_attached.get() or {}).get(str(path))
    if attached is not None:  # came with the request: bounded the same way
        if len(attached) > limit:
            raise InvalidRequest(f"{what} {str(path)!r}: larger than {limit} bytes")
        return attached
    if not _files_allowed.get():
        raise InvalidRequest(
            f"{what}: files of this host cannot be named from here; use a ready-made name"
        )
    file = Path(path)
    try:
        if not file.is_file():
            raise InvalidRequest(f"{what} {str(file)!r}: not a regular file")
        if file.stat().st_size > limit:
            raise InvalidRequest(f"{what} {str(file)!r}: larger than {limit} bytes")
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidRequest(f"{what} {str(file)!r}: cannot read ({exc.strerror})") from None
    if len(data) > limit:
        raise InvalidRequest(f"{what} {str(file)!r}: larger than {limit} bytes")
    return data


def read_request_file(path: str | Path, what: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a file a request names, read bounded (see :func:`read_request_bytes`);
    InvalidRequest also when it is not UTF-8 text."""
    data = read_request_bytes(path, what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{what} {str(path)!r}: not UTF-8 text") from None


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is None (options not given)."""
    return {key: value for key, value in values.items() if value is not None}


def extend_signature(
    func: Callable[..., Any],
    wrapper: Callable[..., Any],
    *,
    remove: Sequence[str] = (),
    add: Sequence[tuple[str, Any, Any]] = (),
) -> None:
    """Give ``wrapper`` the signature typer should see: ``func``'s parameters
    without ``remove``, plus ``add`` as keyword parameters ``(name, type,
    default)``. Typer reads both ``__signature__`` and the annotations."""
    import inspect
    from typing import get_type_hints

    hints = get_type_hints(func)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.name not in remove
    ]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in add
    ]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    wrapper.__doc__ = func.__doc__
    wrapper.__name__ = func.__name__
