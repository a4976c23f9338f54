"""Results of stack operations and queries: JSON-able pydantic models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sparkswarm.model_base import LazyModel


class StackServiceChange(LazyModel):
    """What a deployment did to one service of the stack."""

    service: str = Field(description="The service's name in the compose file.")
    result: Literal["created", "updated", "unchanged", "removed"]
    changes: list[str] = Field(default_factory=list)


class StackResult(LazyModel):
    """``stack deploy`` and ``stack rollback``: one row per service, and the snapshot."""

    stack: str
    services: list[StackServiceChange]
    snapshot: int | None = Field(None, description="The new snapshot, if anything changed.")
    waited: bool = Field(description="Whether changed services were followed to convergence.")
    warnings: list[str] = Field(default_factory=list)
    rolled_back_to: int | None = Field(None, description="The snapshot a rollback deployed.")


class StackRemoval(LazyModel):
    """``stack rm``: the names of what was removed."""

    stack: str
    services: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list)
    configs: list[str] = Field(default_factory=list)


class StackSummary(LazyModel):
    """``stack ls``: a stack and how many services it has."""

    name: str
    services: int


class PlannedObject(LazyModel):
    """``stack diff``: a network, secret or config that deploying would create."""

    object: str
    action: Literal["create"] = "create"
