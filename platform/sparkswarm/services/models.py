"""Results of service operations: frozen stdlib dataclasses.

Results are made by our own code from what the engine answered, never from
user input, so they need no validation on the way in: plain dataclasses keep
pydantic out of the engine commands. pydantic still dumps them
(``to_jsonable_python``) and rebuilds a queued run's recorded result
(``TypeAdapter``, :func:`sparkswarm.operations.rebuild_result`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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


@dataclass(frozen=True, kw_only=True)
class ServiceSummary:
    """One row of ``service ls``."""

    id: str
    name: str
    mode: str
    running: int | None = None
    desired: int | None = None
    replicas: str  # running/desired, or running/completions for jobs
    image: str
    ports: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """One row of ``service ps``."""

    id: str
    name: str  # service.slot, or service.node for global services
    slot: int | None = None
    node: str = ""
    desired_state: str
    current_state: str
    since: str = ""
    error: str = ""
    image: str = ""


@dataclass(frozen=True, kw_only=True)
class ServiceOutcome:
    """What a mutating service operation did and how it ended."""

    service: str
    id: str | None = None
    changed: bool
    outcome: Outcome
    message: str = ""  # the engine's update status message, if any
    task_error: str = ""  # the error of the task that failed, if any
    image: str | None = None
    running: int | None = None
    desired: int | None = None
    elapsed_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ScaleResult:
    """``service scale``: one outcome per service."""

    services: list[ServiceOutcome]


@dataclass(frozen=True, kw_only=True)
class RemoveResult:
    """``service rm``: which services were removed and which did not exist."""

    removed: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
