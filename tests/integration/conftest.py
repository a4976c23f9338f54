"""Integration fixtures shared by several test modules.

``extra_nodes``: start more swarm nodes (a dockerd each, in its own network
and UTS namespace on the lab bridge; see tests/support/multinode.py). Every
node started is torn down after the test, even when it failed: it leaves its
swarm, is removed from the main swarm if it joined it, and its dockerd,
mounts, folders, veth and namespace are gone.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import unavailable


@pytest.fixture
def extra_nodes(gw: Any, prefix: str) -> Iterator[Callable[[int], list[Any]]]:
    """``extra_nodes(2)`` -> two started :class:`ExtraNode` (destroyed after the test)."""
    from tests.support.multinode import (
        MultinodeUnavailable,
        destroy_nodes,
        remove_stale_main_nodes,
        start_nodes,
        sweep_stale,
        why_unavailable,
    )

    reason = why_unavailable()
    if reason:
        unavailable(reason)
    sweep_stale()
    remove_stale_main_nodes(gw)
    started: list[Any] = []

    def start(count: int) -> list[Any]:
        try:
            nodes = start_nodes(prefix, count)
        except MultinodeUnavailable as exc:
            unavailable(str(exc))
            raise
        started.extend(nodes)
        return nodes

    yield start
    problems = destroy_nodes(started, gw)
    if problems:
        warnings.warn(f"extra node teardown: {problems}", stacklevel=1)
