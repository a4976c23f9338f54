"""Typed reads of stacks (``stack ls``, ``stack services``, ``stack ps``) for
the operation registry: the same rows as :mod:`sparkswarm.stacks.queries`,
as the models every other listing uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from sparkswarm.services.models import ServiceSummary, TaskInfo
from sparkswarm.stacks import queries

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


class StackSummary(BaseModel):
    """One row of ``stack ls``."""

    name: str
    services: int


def list_stacks(gw: Gateway) -> list[StackSummary]:
    """Every stack with at least one service (as ``docker stack ls``)."""
    return [StackSummary.model_validate(row) for row in queries.list_stacks(gw)]


def stack_services(gw: Gateway, *, name: str) -> list[ServiceSummary]:
    """The services of stack ``name``; NotFound when it has none."""
    return [ServiceSummary.model_validate(row) for row in queries.stack_service_rows(gw, name)]


def stack_tasks(gw: Gateway, *, name: str) -> list[TaskInfo]:
    """The tasks of stack ``name`` (as ``docker stack ps``); NotFound when none."""
    return [TaskInfo.model_validate(row) for row in queries.stack_task_rows(gw, name)]
