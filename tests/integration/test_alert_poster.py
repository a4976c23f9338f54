"""The alert poster on a real redis-server and the Slack double (in this
process): a storm is a few messages, never a flood; each incident is posted
once and edited after; a silenced one is not edited; nothing is posted twice
by a second poster or after a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double
from sparkswarm.bots.alerts import AlertPoster
from sparkswarm.bots.double import SlackDouble
from sparkswarm.bots.scrub import Scrubber
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.config import Settings
from sparkswarm.health_judge import Observation
from sparkswarm.workers.client import QueueClient
from sparkswarm.workers.incidents import IncidentStore, incident_store
from tests.support.queue_harness import RedisServer, has_redis_server

pytestmark = pytest.mark.integration
CHANNEL = "C0OPS"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    from tests.conftest import unavailable

    if not has_redis_server():
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path, aof=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(server: RedisServer) -> Iterator[tuple[QueueClient, SlackDouble]]:
    slack = SlackDouble().start()
    slack.invite(CHANNEL)  # the alerts channel: the bot must be a member to post there
    try:
        yield QueueClient(Settings(redis_url=server.url)), slack
    finally:
        slack.stop()


def poster(qc: QueueClient, slack: SlackDouble, per_minute: int = 3) -> AlertPoster:
    from slack_sdk import WebClient

    client = WebClient(token=double.BOT_TOKEN, base_url=slack.api_url)
    # One minute throughout: the cap counts per clock minute.
    return AlertPoster(
        qc,
        SlackOut(client, Scrubber()),
        channel=CHANNEL,
        per_minute=per_minute,
        clock=lambda: 1_800_000_000.0,
    )


def flapping(name: str, failures: int = 3, active: bool = True) -> Observation:
    detail: dict[str, Any] = {"failures": failures, "last_error": "boom", "exit_code": 1}
    return Observation("flapping", name, active, f"service {name} is flapping", detail)


def posts(slack: SlackDouble) -> list[Any]:
    return slack.calls_of("chat.postMessage")


def test_a_storm_is_capped_with_a_summary_and_everything_is_posted_once(
    world: tuple[QueueClient, SlackDouble],
) -> None:
    qc, slack = world
    store: IncidentStore = incident_store(qc)
    first = poster(qc, slack)
    for i in range(8):
        store.apply(flapping(f"s{i}"))
    assert first.step() == 8
    # three messages of their own, then one summary listing the other five
    assert len(posts(slack)) == 4
    summary = slack.messages[(CHANNEL, posts(slack)[-1].response["ts"])]
    assert "5 more incident(s)" in summary.text
    listed = json.dumps(summary.blocks)
    assert all(f"flapping:s{i}" in listed for i in range(3, 8))

    # changes edit: an incident of its own, and one in the summary
    store.apply(flapping("s0", failures=5))
    store.apply(flapping("s7", active=False))
    assert first.step() == 2
    assert len(posts(slack)) == 4
    s0 = slack.messages[(CHANNEL, posts(slack)[0].response["ts"])]
    assert "flapping:s0" in json.dumps(s0.blocks) and s0.edits == 1
    assert "1 update(s)" in json.dumps(s0.blocks)
    assert ":white_check_mark: `flapping:s7`" in json.dumps(summary.blocks)

    # a second poster (another bot process) and a restarted one post nothing again
    second = poster(qc, slack)
    assert second.step() == 0
    assert poster(qc, slack).step() == 0
    assert len(posts(slack)) == 4


def test_a_silenced_incident_says_so_once_then_is_left_alone(
    world: tuple[QueueClient, SlackDouble],
) -> None:
    qc, slack = world
    store = incident_store(qc)
    alerts = poster(qc, slack)
    store.apply(flapping("web"))
    alerts.step()
    (post,) = posts(slack)
    store.silence("flapping:web", "U0OPER", 3600)
    assert alerts.step() == 1
    message = slack.messages[(CHANNEL, post.response["ts"])]
    assert "silenced by" in json.dumps(message.blocks)
    edits = message.edits
    store.apply(flapping("web", failures=4))
    alerts.step()
    assert message.edits == edits
    assert [e["what"] for e in store.history("flapping:web")] == ["opened", "silenced", "updated"]


def test_a_condition_back_within_the_cooldown_reopens_the_same_message(
    world: tuple[QueueClient, SlackDouble], server: RedisServer
) -> None:
    qc, slack = world
    store = incident_store(qc)
    alerts = poster(qc, slack)
    store.apply(flapping("web"), now=1000.0)
    store.apply(flapping("web", active=False), now=1100.0)
    alerts.step()
    (post,) = posts(slack)
    message = slack.messages[(CHANNEL, post.response["ts"])]
    assert "*RESOLVED*" in message.blocks[0]["text"]["text"]

    # Redis restarts (AOF): the incident and its message are still known.
    server.stop()
    server.start()
    reopened = store.apply(flapping("web"), now=1100.0 + store.cooldown - 1)
    assert reopened is not None and reopened.generation == 1 and reopened.reopened == 1
    alerts.step()
    assert len(posts(slack)) == 1 and "*OPEN*" in message.blocks[0]["text"]["text"]

    # Back after the cool-down: a new incident generation, a new message.
    store.apply(flapping("web", active=False), now=5000.0)
    fresh = store.apply(flapping("web"), now=5000.0 + store.cooldown + 1)
    assert fresh is not None and fresh.generation == 2 and fresh.reopened == 0
    alerts.step()
    assert len(posts(slack)) == 2
    whats = [e["what"] for e in store.history("flapping:web")]
    assert whats == ["opened", "resolved", "reopened", "resolved", "opened"]
