"""Short questions to one lab node's engine, through the gateway."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sparkswarm.errors import SparkswarmError
from sparkswarm.gateway import Gateway


@contextmanager
def quiet_gateway() -> Iterator[None]:
    """Silence the gateway's "unreachable, skipping" warnings: probing a node
    that may be down (starting, killed) is the point, not a problem."""
    logger = logging.getLogger("sparkswarm.gateway")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def engine_answers(url: str, *, timeout: float = 5.0) -> bool:
    """Whether the engine at ``url`` answers a ping."""
    return engine_info(url, timeout=timeout) is not None


def engine_info(url: str, *, timeout: float = 5.0) -> dict[str, Any] | None:
    """The engine's ``/info`` at ``url``, or None when it does not answer."""
    gateway = Gateway([url], timeout=timeout)
    try:
        with quiet_gateway():
            info: dict[str, Any] = gateway.api.info()
            return info
    except SparkswarmError:
        return None
    finally:
        gateway.close()
