"""A typed request: which operation, with which validated parameters.

A frozen dataclass, not a model: a plain value holding parameters the
grammar has already checked (there is nothing left to validate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """What a command line (terminal, schedule or chat) asks for.

    ``op`` names an entry of :mod:`sparkswarm.operations`; ``params`` are its
    JSON-able keyword parameters, already validated by the core's pure
    checks; ``read_only`` requests change nothing. ``words`` are the command
    words it was parsed from (empty when built directly by the CLI);
    ``warnings`` are what parsing noticed and the user should see (keys a
    compose file sets that swarm ignores, ...).
    """

    op: str
    params: dict[str, Any] = field(default_factory=dict)
    read_only: bool = False
    words: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def request(
    op: str, params: dict[str, Any] | None = None, *, warnings: tuple[str, ...] = ()
) -> Request:
    """A Request for registered operation ``op`` (``read_only`` from the registry).

    Raises InvalidRequest for an unknown operation.
    """
    from sparkswarm.operations import get_operation

    return Request(
        op=op, params=params or {}, read_only=get_operation(op).read_only, warnings=warnings
    )
