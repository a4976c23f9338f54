"""Finding a spark stack's services (read-only helpers shared by jobs and status).

``find_service`` is the services' own lookup, re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound, Unavailable
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


def running_container(gw: Gateway, service: dict[str, Any], what: str) -> str:
    """The id of a running container of ``service`` on this engine (``what``
    names it in the error). Unavailable when there is none here."""
    containers = gw.containers(
        filters={"label": f"com.docker.swarm.service.id={service['ID']}", "status": "running"}
    )
    if not containers:
        raise Unavailable(
            f"{what} is not running on this engine "
            "(starting, or on another node: point SPARKSWARM_MANAGERS at that node)"
        )
    return str(containers[0]["Id"])
