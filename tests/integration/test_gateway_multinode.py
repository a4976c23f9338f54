"""Gateway manager failover with real extra manager engines (see tests/support/multinode.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from sparkswarm.errors import Unavailable
from sparkswarm.gateway import Gateway
from tests.support.multinode import ExtraNode
from tests.support.swarm_cli import sparkswarm_json

pytestmark = [pytest.mark.integration, pytest.mark.multinode]


def test_gateway_fails_over_when_the_first_manager_dies(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]]
) -> None:
    (node,) = extra_nodes(1)
    # Its own one-node swarm, so that it is a manager the gateway accepts.
    sparkswarm_json("swarm", "init", "--advertise-addr", node.address, env=node.env())
    failover = Gateway([node.url, "unix:///var/run/docker.sock"], timeout=10)
    try:
        assert failover.api.info()["Name"] == node.hostname
        node.stop_engine()
        # The call in flight fails as Unavailable (safe to retry) ...
        with pytest.raises(Unavailable):
            failover.api.info()
        # ... and the next one goes to the next manager in the list.
        assert failover.api.info()["Swarm"]["NodeID"] == gw.api.info()["Swarm"]["NodeID"]
        assert failover.endpoint == "unix:///var/run/docker.sock"
    finally:
        failover.close()


def test_gateway_passes_over_an_engine_that_is_not_a_manager(
    gw: Any, extra_nodes: Callable[[int], list[ExtraNode]], caplog: pytest.LogCaptureFixture
) -> None:
    (node,) = extra_nodes(1)
    both = Gateway([node.url, "unix:///var/run/docker.sock"], timeout=10)
    with caplog.at_level(logging.WARNING, logger="sparkswarm.gateway"):
        assert both.api.info()["Swarm"]["NodeID"] == gw.api.info()["Swarm"]["NodeID"]
    both.close()
    assert any("not a swarm manager" in r.getMessage() for r in caplog.records)
    # Alone in the list, it is used as it is (join, leave and doctor need that).
    alone = node.gateway()
    assert alone.api.info()["Name"] == node.hostname
