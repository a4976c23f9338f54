"""The App Home view (pure): every service named while it fits, never over 100
blocks, what did not fit named, everything from the swarm escaped."""

from __future__ import annotations

import json

from sparkswarm.bots.blockkit import VIEW_BLOCKS as MAX_BLOCKS
from sparkswarm.bots.home import home_view
from sparkswarm.workers.incidents import Incident
from sparkswarm.workers.run_record import RunRecord

NODES = [
    {"hostname": "m1", "role": "manager", "status": "ready", "availability": "active"},
    {"hostname": "w1", "role": "worker", "status": "down", "availability": "active"},
]


def services(count: int) -> list[dict[str, object]]:
    return [{"name": f"svc-{i:05d}", "replicas": "1/2"} for i in range(count)]


def test_every_service_is_named_and_the_nodes_summed_up() -> None:
    run = RunRecord(id="r" * 32, op="service.scale", target="web", created_at=0.0)
    incident = Incident(
        key="node_down:w1",
        kind="node_down",
        object="w1",
        title="node w1 is down",
        opened_at=0.0,
        updated_at=0.0,
    )
    view = home_view(nodes=NODES, services=services(40), incidents=[incident], runs=[run])
    assert view["type"] == "home"
    text = json.dumps(view)
    assert all(f"svc-{i:05d} 1/2" in text for i in range(40))
    assert "1 manager ready, 1 worker down" in text
    assert "node_down:w1" in text and "service.scale" in text


def test_a_huge_swarm_stays_within_100_blocks_and_says_what_is_left_out() -> None:
    view = home_view(nodes=NODES * 2000, services=services(20_000), incidents=[], runs=[])
    assert len(view["blocks"]) <= MAX_BLOCKS
    text = json.dumps(view)
    assert "more: `sparkswarm service ls`" in text
    assert "more: `sparkswarm node ls`" in text
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])


def test_names_from_the_swarm_are_escaped() -> None:
    hostile = [{"name": "<!channel>&x", "replicas": "0/1"}]
    text = json.dumps(home_view(nodes=[], services=hostile, incidents=[], runs=[]))
    assert "<!channel>" not in text and "&lt;!channel&gt;&amp;x" in text
