"""How commands are declared: groups of builders, and what builders share.

A *builder* is a plain function whose typer-annotated signature is a
command's arguments and options and whose body turns them into a
:class:`Request` using the core's pure validators. Each group module
(``nodes``, ``services``, ...) declares its builders with :func:`group` and
:meth:`Group.command`; :mod:`sparkswarm.requests.grammar` parses words with
them. Also here: reading a file a request names (bounded, and never from
chat) and the signature helper the CLI reuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import typer

from sparkswarm.errors import InvalidRequest
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

    def command(self, name: str, op: str, **settings: Any) -> Callable[[Builder], Builder]:
        """Register the decorated builder as command ``name`` of this group,
        building requests for operation ``op``; ``settings`` go to click
        (``context_settings``)."""

        def register(builder: Builder) -> Builder:
            self.app.command(name, **settings)(builder)
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


@contextmanager
def files_allowed(allow: bool, attached: Mapping[str, bytes] | None = None) -> Iterator[None]:
    """Inside the block, requests may read files of this host only if ``allow``;
    a file named as one of ``attached`` (by name) is read from there instead."""
    token = _files_allowed.set(allow)
    given = _attached.set(dict(attached or {}))
    try:
        yield
    finally:
        _files_allowed.reset(token)
        _attached.reset(given)


def local_files_allowed() -> bool:
    """Whether the request being parsed may read files of this host (not in chat)."""
    return _files_allowed.get()


def read_request_bytes(path: str | Path, what: str, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file a request names (a script, a compose file, a job's
    input), read bounded; a file attached to the request (see
    :func:`files_allowed`) is taken from there, whatever may be read of this host.

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
