"""Finding a spark stack's services (read-only helpers shared by jobs and status).

``find_service`` is the services' own lookup, re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound
from sparkswarm.services.queries import find_service

__all__ = ["find_service", "require_stack_service"]

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def require_stack_service(gw: Gateway, stack: str, short_name: str) -> dict[str, Any]:
    """Service ``<stack>_<short_name>``; NotFound naming the stack when it is missing."""
    name = f"{stack}_{short_name}"
    service = find_service(gw, name)
    if service is None:
        raise NotFound(f"no spark stack {stack!r} (service {name} not found)")
    return service
