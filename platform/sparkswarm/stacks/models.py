"""Results of stack operations and queries: JSON-able frozen dataclasses.

Dataclasses rather than pydantic models so that a command starts without
importing pydantic; :func:`sparkswarm.results.to_jsonable` dumps them (keys
in field order, as before). Keyword-only, as pydantic models were, which also
lets a required field follow one with a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class StackServiceChange:
    """What a deployment did to one service of the stack."""

    #: The service's name in the compose file.
    service: str
    result: Literal["created", "updated", "unchanged", "removed"]
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StackResult:
    """``stack deploy`` and ``stack rollback``: one row per service, and the snapshot."""

    stack: str
    services: list[StackServiceChange]
    #: The new snapshot, if anything changed.
    snapshot: int | None = None
    #: Whether changed services were followed to convergence.
    waited: bool
    warnings: list[str] = field(default_factory=list)
    #: The snapshot a rollback deployed.
    rolled_back_to: int | None = None


@dataclass(frozen=True, kw_only=True)
class StackRemoval:
    """``stack rm``: the names of what was removed."""

    stack: str
    services: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StackSummary:
    """``stack ls``: a stack and how many services it has."""

    name: str
    services: int


@dataclass(frozen=True, kw_only=True)
class PlannedObject:
    """``stack diff``: a network, secret or config that deploying would create."""

    object: str
    action: Literal["create"] = "create"
