"""A typed request: which operation, with which validated parameters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    """What a command line (terminal, schedule or chat) asks for.

    ``op`` names an entry of :mod:`sparkswarm.operations`; ``params`` are its
    JSON-able keyword parameters, already validated by the core's pure
    checks; ``read_only`` requests change nothing. ``words`` are the command
    words it was parsed from (empty when built directly by the CLI);
    ``warnings`` are what parsing noticed and the user should see (keys a
    compose file sets that swarm ignores, ...).
    """

    model_config = ConfigDict(frozen=True)

    op: str
    params: dict[str, Any] = Field(default_factory=dict)
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
