"""Typed reads of stacks (``stack ls``, ``stack services``, ``stack ps``) for
the operation registry: :mod:`sparkswarm.stacks.queries` with the registry's
keyword parameters, as the models every other listing uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkswarm.services.models import ServiceSummary, TaskInfo
from sparkswarm.stacks import queries
from sparkswarm.stacks.models import StackSummary

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

__all__ = ["StackSummary", "list_stacks", "stack_services", "stack_tasks"]


def list_stacks(gw: Gateway) -> list[StackSummary]:
    """Every stack with at least one service (as ``docker stack ls``)."""
    return queries.list_stacks(gw)


def stack_services(gw: Gateway, *, name: str) -> list[ServiceSummary]:
    """The services of stack ``name``; NotFound when it has none."""
    return queries.stack_service_rows(gw, name)


def stack_tasks(gw: Gateway, *, name: str) -> list[TaskInfo]:
    """The tasks of stack ``name`` (as ``docker stack ps``); NotFound when none."""
    return queries.stack_task_rows(gw, name)
