"""Results of stack operations and queries: frozen stdlib dataclasses (made by
our code from the engine's answers; see :mod:`sparkswarm.services.models`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class StackServiceChange:
    """What a deployment did to one service of the stack."""

    service: str  # the service's name in the compose file
    result: Literal["created", "updated", "unchanged", "removed"]
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StackResult:
    """``stack deploy`` and ``stack rollback``: one row per service, and the snapshot."""

    stack: str
    services: list[StackServiceChange]
    snapshot: int | None = None  # the new snapshot, if anything changed
    waited: bool  # whether changed services were followed to convergence
    warnings: list[str] = field(default_factory=list)
    rolled_back_to: int | None = None  # the snapshot a rollback deployed


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
