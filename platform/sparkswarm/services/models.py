"""Results of service operations: JSON-able pydantic models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sparkswarm.model_base import LazyModel

Outcome = Literal[
    "created",  # a new service, converged (or started, with detach)
    "unchanged",  # the service already matched the request; nothing sent
    "completed",  # the update (or scale) finished and the service converged
    "detached",  # the change was accepted; we did not wait for it
    "paused",  # the rolling update stopped on a failed task (a failure)
    "rolled_back",  # the update failed and the engine rolled it back (a failure)
    "rollback_paused",  # the rollback itself stopped on a failed task (a failure)
    "removed",
    "absent",  # nothing to remove
]


class ServiceSummary(LazyModel):
    """One row of ``service ls``."""

    id: str
    name: str
    mode: str
    running: int | None = None
    desired: int | None = None
    replicas: str = Field(description="running/desired, or running/completions for jobs")
    image: str
    ports: list[str] = Field(default_factory=list)


class TaskInfo(LazyModel):
    """One row of ``service ps``."""

    id: str
    name: str = Field(description="service.slot, or service.node for global services")
    slot: int | None = None
    node: str = ""
    desired_state: str
    current_state: str
    since: str = ""
    error: str = ""
    image: str = ""


class ServiceOutcome(LazyModel):
    """What a mutating service operation did and how it ended."""

    service: str
    id: str | None = None
    changed: bool
    outcome: Outcome
    message: str = Field("", description="the engine's update status message, if any")
    task_error: str = Field("", description="the error of the task that failed, if any")
    image: str | None = None
    running: int | None = None
    desired: int | None = None
    elapsed_s: float = 0.0


class ScaleResult(LazyModel):
    """``service scale``: one outcome per service."""

    services: list[ServiceOutcome]


class RemoveResult(LazyModel):
    """``service rm``: which services were removed and which did not exist."""

    removed: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
