"""Finding a spark stack's services (read-only helpers shared by jobs and status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.errors import NotFound

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def find_service(gw: Gateway, name: str) -> dict[str, Any] | None:
    """The service called exactly ``name`` (the engine's filter matches prefixes), or None."""
    for service in gw.services(filters={"name": name}):
        if service["Spec"]["Name"] == name:
            return dict(service)
    return None


def require_stack_service(gw: Gateway, stack: str, short_name: str) -> dict[str, Any]:
    """Service ``<stack>_<short_name>``; NotFound naming the stack when it is missing."""
    name = f"{stack}_{short_name}"
    service = find_service(gw, name)
    if service is None:
        raise NotFound(f"no spark stack {stack!r} (service {name} not found)")
    return service
