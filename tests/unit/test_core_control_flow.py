"""Core control flow on the fake gateway: conflict retries, convergence, rollback detection.

The integration tests run the same code on the real engine; these pin down
the branches a real engine rarely takes on cue (a race on every update, a
rollback, a timeout) in milliseconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from sparkswarm import nodes, retry, swarm
from sparkswarm.errors import Conflict, OperationFailed, OutOfSequence
from sparkswarm.services import ops, rolling
from sparkswarm.services.rolling import TaskWatcher, wait_for_services
from sparkswarm.services.scale import scale_services
from tests.support.fake_gateway import FakeGateway


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, /, **details: Any) -> None:
        self.events.append((message, details))

    def messages(self) -> list[str]:
        return [message for message, _ in self.events]


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rolling, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(retry, "BACKOFF_SECONDS", 0.0)


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway()


def test_create_waits_until_every_replica_runs(fake: FakeGateway) -> None:
    result = ops.create_service(fake, name="web", image="web:v1", replicas=3)
    assert (result.outcome, result.running, result.desired) == ("created", 3, 3)


def test_create_that_never_converges_times_out_naming_the_counts(fake: FakeGateway) -> None:
    fake.stuck_images.add("web:stuck")
    with pytest.raises(OperationFailed, match=r"did not converge within 0.05s: 0/2 tasks running"):
        ops.create_service(fake, name="web", image="web:stuck", replicas=2, timeout=0.05)


def test_update_out_of_sequence_is_made_again_on_the_fresh_spec(fake: FakeGateway) -> None:
    ops.create_service(fake, name="web", image="web:v1")
    fake.race(2)
    result = ops.update_service(fake, name="web", env_add=["A=1"])
    assert result.outcome == "completed"
    assert fake.calls.count("update_service") == 3
    spec = fake.inspect_service("web")["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]


def test_update_gives_up_after_the_bounded_attempts(fake: FakeGateway) -> None:
    ops.create_service(fake, name="web", image="web:v1")
    fake.race(retry.UPDATE_ATTEMPTS)
    with pytest.raises(OutOfSequence):
        ops.update_service(fake, name="web", env_add=["A=1"])
    assert fake.calls.count("update_service") == retry.UPDATE_ATTEMPTS


def test_update_that_is_rolled_back_fails_with_the_task_error(fake: FakeGateway) -> None:
    ops.create_service(
        fake, name="web", image="web:v1", replicas=2, update={"failure_action": "rollback"}
    )
    fake.failing_images.add("web:bad")
    with pytest.raises(OperationFailed) as raised:
        ops.update_service(fake, name="web", image="web:bad")
    text = str(raised.value)
    assert "failed and was rolled back" in text
    assert "task error: task: non-zero exit (1)" in text
    assert fake.inspect_service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "web:v1"


def test_update_that_pauses_fails_saying_paused(fake: FakeGateway) -> None:
    ops.create_service(fake, name="web", image="web:v1")
    fake.failing_images.add("web:bad")
    with pytest.raises(OperationFailed, match="update of service web paused"):
        ops.update_service(fake, name="web", image="web:bad")


def test_rollback_goes_to_the_previous_image_and_is_idempotent(fake: FakeGateway) -> None:
    ops.create_service(fake, name="web", image="web:v1")
    ops.update_service(fake, name="web", image="web:v2")
    rolled = ops.rollback_service(fake, name="web")
    assert (rolled.outcome, rolled.image) == ("rolled_back", "web:v1")
    again = ops.rollback_service(fake, name="web")
    assert again.outcome == "unchanged"


def test_scale_retries_a_race_and_waits_for_all_services(fake: FakeGateway) -> None:
    ops.create_service(fake, name="a", image="web:v1")
    ops.create_service(fake, name="b", image="web:v1", replicas=2)
    fake.race(1)
    result = scale_services(fake, replicas={"a": 3, "b": 2})
    outcomes = {s.service: (s.outcome, s.running, s.desired) for s in result.services}
    assert outcomes == {"a": ("completed", 3, 3), "b": ("unchanged", 2, 2)}


def test_strict_wait_fails_at_once_on_a_paused_update(fake: FakeGateway) -> None:
    service_id = fake.create_service(
        {"Name": "s", "TaskTemplate": {"ContainerSpec": {"Image": "web:v1"}}}
    )
    fake.service_objects[service_id]["UpdateStatus"] = {"State": "paused", "Message": "why"}
    watcher = TaskWatcher(fake, service_id, "s", lambda *a, **k: None)
    with pytest.raises(OperationFailed, match="service s: update paused: why"):
        wait_for_services(fake, [watcher], timeout=5, strict=True)
    # Without strict (service scale/create) the counts alone decide.
    assert wait_for_services(fake, [watcher], timeout=5)[service_id].done


def test_node_update_out_of_sequence_is_retried_and_reported(fake: FakeGateway) -> None:
    node_id = fake.add_node("w1")
    fake.race(1)
    progress = Recorder()
    change = nodes.label_node(fake, node="w1", add={"zone": "a"}, progress=progress)
    assert change.changed and change.node.labels == {"zone": "a"}
    assert fake.node_objects[node_id]["Spec"]["Labels"] == {"zone": "a"}
    assert "node changed meanwhile, retrying" in progress.messages()


def test_node_update_that_is_already_as_asked_sends_nothing(fake: FakeGateway) -> None:
    fake.add_node("m1", role="manager")
    assert not nodes.promote_node(fake, node="m1").changed
    assert "update_node" not in fake.calls


def test_join_token_rotation_survives_a_race(fake: FakeGateway) -> None:
    before = fake.swarm["JoinTokens"]["Worker"]
    fake.race(1)
    rotated = swarm.rotate_join_token(fake, role="worker")
    after = fake.swarm["JoinTokens"]["Worker"]
    assert after != before and rotated.token_masked.endswith(after[-4:])
    assert fake.calls.count("update_swarm") == 2


def test_a_conflict_that_is_not_out_of_sequence_is_not_retried() -> None:
    reads: list[int] = []

    def send(_: int) -> None:
        raise Conflict("name taken")

    with pytest.raises(Conflict, match="name taken"):
        retry.update_with_retry(lambda: reads.append(1) or len(reads), send)
    assert len(reads) == 1
