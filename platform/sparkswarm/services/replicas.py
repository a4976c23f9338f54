"""Replica counts: ``service scale``'s SERVICE=REPLICAS pairs, and a spec with
a new count (pure).

Apart from :mod:`sparkswarm.services.changes` (``service update``'s changes,
a pydantic model that validates the user's flags), so that ``service scale``
loads no pydantic.
"""

from __future__ import annotations

import copy
from typing import Any

from sparkswarm import limits
from sparkswarm.errors import InvalidRequest
from sparkswarm.services import flags
from sparkswarm.services.modes import mode_name


def set_replicas(spec: dict[str, Any], replicas: int) -> dict[str, Any]:
    """A copy of ``spec`` with ``replicas`` tasks.

    Raises InvalidRequest for global and job services: they have no replica count
    to scale (``docker-py``'s ``Service.scale`` would wrongly turn them into
    replicated services); and for a count below 0 or above the limit.
    """
    mode = mode_name(spec.get("Mode") or {})
    if mode != "replicated":
        raise InvalidRequest(
            f"service {spec.get('Name')!r} is a {mode} service: only replicated services "
            "can be scaled"
        )
    limits.check_replicas(replicas, service=str(spec.get("Name") or "the service"))
    changed = copy.deepcopy(spec)
    changed["Mode"] = {"Replicated": {"Replicas": replicas}}
    return changed


def parse_scale_pairs(pairs: list[str]) -> dict[str, int]:
    """``["web=3", "api=0"]`` -> ``{"web": 3, "api": 0}`` (``service scale`` arguments).

    Raises InvalidRequest for a pair without ``=``, a bad service name, a
    count that is not plain ASCII digits, a count over the limit, or no pair.
    """
    if not pairs:
        raise InvalidRequest("nothing to scale: give SERVICE=REPLICAS")
    replicas: dict[str, int] = {}
    for pair in pairs:
        service, equals, count = pair.partition("=")
        if not equals or not service.strip():
            raise InvalidRequest(f"invalid scale argument {pair!r}: expected SERVICE=REPLICAS")
        service = flags.validate_service_name(service.strip())
        number = limits.parse_count(count, f"scale argument {pair!r} (expected SERVICE=REPLICAS)")
        replicas[service] = limits.check_replicas(number, service=service)
    return replicas
