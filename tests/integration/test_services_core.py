"""The service core called from Python on the real engine: races, progress, logs, detach."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sparkswarm.errors import Conflict, InvalidRequest, NotFound, OperationFailed, OutOfSequence
from sparkswarm.gateway import Gateway
from sparkswarm.services import ops
from sparkswarm.services.logs import service_logs
from sparkswarm.services.queries import inspect_service, list_services, service_tasks

pytestmark = pytest.mark.integration


class Recorder:
    """A progress callback that keeps what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, /, **details: Any) -> None:
        self.events.append((message, details))


class RacingGateway(Gateway):
    """The real gateway, except that right before our first service update is
    posted, another client updates the same service on the real engine, so ours
    arrives out of sequence (as when two operators act at once)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.raced = 0

    def update_service(
        self, service_id: str, version: int, spec: Mapping[str, Any], *, rollback: bool = False
    ) -> None:
        if not self.raced:
            self.raced += 1
            other = Gateway()
            current = other.inspect_service(self.service)
            labels = {**current["Spec"]["Labels"], "raced": "yes"}
            other.update_service(
                current["ID"], current["Version"]["Index"], {**current["Spec"], "Labels": labels}
            )
            other.close()
        super().update_service(service_id, version, spec, rollback=rollback)


def test_update_out_of_sequence_is_retried_on_the_fresh_spec(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], stop_grace_period="1s")
    racing = RacingGateway(web)
    try:
        result = ops.update_service(racing, name=web, env_add=["MODE=raced"])
    finally:
        racing.close()
    assert racing.raced == 1
    assert result.outcome == "completed"
    spec = gw.inspect_service(web)["Spec"]
    # both writes survive: the competitor's label and our env change
    assert spec["Labels"] == {"raced": "yes"}
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["MODE=raced"]


def test_stale_version_is_out_of_sequence(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], detach=True)
    service = gw.inspect_service(web)
    ops.update_service(gw, name=web, env_add=["A=1"], detach=True)
    with pytest.raises(OutOfSequence, match="out of sequence") as raised:
        gw.update_service(service["ID"], service["Version"]["Index"], service["Spec"])
    assert isinstance(raised.value, Conflict) and raised.value.retryable


def test_rolling_update_reports_each_task(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], replicas=2, stop_grace_period="1s")
    progress = Recorder()
    result = ops.update_service(
        gw,
        name=web,
        image=web_images["v2"],
        progress=progress,
        update={"parallelism": 1, "delay": "1s"},
    )
    assert (result.outcome, result.running, result.desired) == ("completed", 2, 2)
    assert result.message == "update completed"
    reached = {(d["slot"], d["state"], d["image"]) for _, d in progress.events if "state" in d}
    for slot in (1, 2):
        assert (slot, "running", web_images["v2"]) in reached
        assert (slot, "shutdown", web_images["v1"]) in reached


def test_detached_update_then_detached_rollback(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], stop_grace_period="1s")
    started = ops.update_service(gw, name=web, image=web_images["v2"], detach=True)
    assert (started.outcome, started.changed) == ("detached", True)
    assert (
        gw.inspect_service(web)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        == (web_images["v2"])
    )
    back = ops.rollback_service(gw, name=web, detach=True)
    assert (back.outcome, back.image) == ("detached", web_images["v1"])
    finished = ops.rollback_service(gw, name=web)  # waits for the rollback under way
    assert finished.outcome == "rolled_back"
    assert {
        t.image
        for t in service_tasks(gw, name=web, running_only=True)
        if t.current_state == "running"
    } == {web_images["v1"]}


def test_repeating_an_update_under_way_follows_it_to_its_end(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    """A second delivery of the same update (its first worker died) finds the
    spec already sent: it must wait for the rollout, not report success early."""
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], replicas=2, stop_grace_period="1s")
    change = {"image": web_images["v2"], "update": {"parallelism": 1, "delay": "3s"}}
    ops.update_service(gw, name=web, detach=True, **change)
    again = ops.update_service(gw, name=web, **change)
    assert (again.changed, again.outcome) == (False, "completed")
    assert gw.inspect_service(web)["UpdateStatus"]["State"] == "completed"
    assert {
        t.image
        for t in service_tasks(gw, name=web, running_only=True)
        if t.current_state == "running"
    } == {web_images["v2"]}


def test_repeating_a_finished_update_changes_nothing(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    """Once the rollout is over, the same update again is ``unchanged`` at once
    (the engine re-stamps UpdatedAt when it records the end: not a sign of a
    rollout to come)."""
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], stop_grace_period="1s")
    first = ops.update_service(gw, name=web, image=web_images["v2"])
    assert (first.changed, first.outcome) == (True, "completed")
    again = ops.update_service(gw, name=web, image=web_images["v2"])
    assert (again.changed, again.outcome) == (False, "unchanged")


def test_rollback_without_previous_spec_is_refused(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], detach=True)
    with pytest.raises(InvalidRequest, match="no previous spec"):
        ops.rollback_service(gw, name=web)


def test_follow_logs_yields_new_lines_as_they_come(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    talker = name("talk")
    script = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"
    ops.create_service(
        gw,
        name=talker,
        image=web_images["v1"],
        command=["sh", "-c", script],
        stop_grace_period="1s",
    )
    started = time.monotonic()
    lines = list(itertools.islice(service_logs(gw, name=talker, follow=True, tail=0), 5))
    assert time.monotonic() - started < 30
    numbers = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    assert all(line.startswith(f"{talker}.1@") for line in lines)


def test_remove_by_full_id_but_not_by_prefix(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    created = ops.create_service(gw, name=web, image=web_images["v1"], detach=True)
    assert created.id is not None
    prefix_only = ops.remove_service(gw, names=[created.id[:8]])
    assert prefix_only.absent == [created.id[:8]]
    assert [row.name for row in list_services(gw, names=[web])] == [web]
    assert ops.remove_service(gw, names=[created.id]).removed == [created.id]
    with pytest.raises(NotFound, match="not found"):
        inspect_service(gw, name=web)


def test_failing_update_with_pause_says_paused_and_why(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    ops.create_service(gw, name=web, image=web_images["v1"], stop_grace_period="1s")
    with pytest.raises(OperationFailed, match=r"paused.*non-zero exit \(3\)"):
        ops.update_service(
            gw,
            name=web,
            image=web_images["broken"],
            update={"failure_action": "pause", "monitor": "2s"},
        )
    assert gw.inspect_service(web)["UpdateStatus"]["State"] == "paused"


def test_global_job_runs_to_completion(
    gw: Gateway, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    job = name("gjob")
    # Pinned to this node: other tests may add swarm nodes that lack the test images.
    here = gw.info()["Swarm"]["NodeID"]
    # The prefix cleanup also removes the exited container the engine leaves behind.
    result = ops.create_service(
        gw,
        name=job,
        image=web_images["v1"],
        mode="global-job",
        command=["sh", "-c", "echo done"],
        constraints=[f"node.id=={here}"],
    )
    assert (result.outcome, result.running, result.desired) == ("created", 1, 1)
    [task] = service_tasks(gw, name=job)
    assert (task.desired_state, task.current_state) == ("complete", "complete")
