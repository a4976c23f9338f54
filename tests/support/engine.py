"""Helpers for integration tests on the real engine: checks and cleanup."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sparkswarm.gateway import Gateway
from tests.support.wait import wait_for


class EngineGateway(Gateway):
    """The real gateway plus ``api``: for tests only, docker-py's own client (errors
    translated) for what the core never does: images, volumes, container details,
    removing nodes. The core has the typed methods only."""

    @property
    def api(self) -> Any:
        return _RawClient(self)


class _RawClient:
    def __init__(self, gw: Gateway) -> None:
        self._gw = gw

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._gw._engine(name) as api:
                return getattr(api, name)(*args, **kwargs)

        return call


def require_swarm_manager(gw: Any) -> str | None:
    """None if the engine answers and is a swarm manager, else why not."""
    from sparkswarm.errors import SparkswarmError

    try:
        info = gw.info()
    except SparkswarmError as exc:
        return f"no Docker Engine reachable: {exc}"
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        return "the engine is not a swarm manager (run scripts/setup.sh)"
    return None


def remove_prefixed(gw: Any, prefix: str, *, timeout: float = 60.0) -> None:
    """Remove every service, network, config, secret and volume named ``prefix*``.

    Services go first and we wait for their containers to go, since a
    network or volume in use cannot be removed. The engine (20.10) leaves a
    finished job task's container behind after its service is removed: those
    stopped containers of removed services are removed here too.
    """
    api = _RawClient(gw)
    for service in api.services():
        if service["Spec"]["Name"].startswith(prefix):
            _quietly(api.remove_service, service["ID"])

    def containers_gone() -> bool:
        busy = [
            c
            for c in api.containers(all=True)
            if c["Labels"].get("com.docker.swarm.service.name", "").startswith(prefix)
        ]
        for container in busy:
            if container["State"] in ("exited", "dead", "created"):
                _quietly(api.remove_container, container["Id"], force=True)
        return not busy

    # Best effort: what is still in use is left, and the removals below skip it.
    with contextlib.suppress(AssertionError):
        wait_for(containers_gone, timeout, f"the containers of {prefix}*", interval=0.5)
    for network in api.networks():
        if network["Name"].startswith(prefix):
            _quietly(api.remove_network, network["Id"])
    for config in api.configs():
        if config["Spec"]["Name"].startswith(prefix):
            _quietly(api.remove_config, config["ID"])
    for secret in api.secrets():
        if secret["Spec"]["Name"].startswith(prefix):
            _quietly(api.remove_secret, secret["ID"])
    for volume in (api.volumes() or {}).get("Volumes") or []:
        if volume["Name"].startswith(prefix):
            _quietly(api.remove_volume, volume["Name"], force=True)


def _quietly(func: Any, *args: Any, **kwargs: Any) -> None:
    from sparkswarm.errors import SparkswarmError

    with contextlib.suppress(SparkswarmError):
        func(*args, **kwargs)
