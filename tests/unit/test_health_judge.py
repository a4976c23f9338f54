"""Judging the swarm's health (pure): facts in, observations out; one fact varies per case."""

from __future__ import annotations

import dataclasses

import pytest

from sparkswarm.health_facts import (
    JobFact,
    NodeFact,
    NodeStateChange,
    ServiceFact,
    SwarmFacts,
    TaskFact,
    engine_time,
    node_change,
    node_fact,
    service_fact,
    task_fact,
)
from sparkswarm.health_judge import Observation, Rules, judge, quorum_text, replay_node_changes

NOW = 10_000.0
RULES = Rules(flap_failures=3, flap_window=300, flap_quiet=30, below_grace=60)
WEB = ServiceFact(id="s1", name="web", mode="replicated", replicas=2)
M1 = NodeFact("n1", "m1", "manager", "ready", "active", "reachable", leader=True)
W1 = NodeFact("n2", "w1", "worker", "ready", "active")


def running(i: int, service: str = "s1", node: str = "n1") -> TaskFact:
    return TaskFact(f"t{service}{i}", service, node, "running", "running", NOW - 500)


def failed(i: int, age: float, code: int = 3, service: str = "s1") -> TaskFact:
    return TaskFact(
        f"f{service}{i}", service, "n1", "failed", "shutdown", NOW - age, "non-zero exit", code
    )


def facts(**changes: object) -> SwarmFacts:
    base = SwarmFacts(
        now=NOW, nodes=(M1, W1), services=(WEB,), tasks=(running(1), running(2, node="n2"))
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def active(seen: list[Observation]) -> dict[str, Observation]:
    return {o.key: o for o in seen if o.active}


def test_a_healthy_swarm_gives_nothing() -> None:
    seen, below = judge(facts(), RULES, set(), {})
    assert seen == [] and below == {}


@pytest.mark.parametrize(
    ("ages", "running_tasks", "flapping"),
    [
        ((10, 20, 30), 0, True),  # three recent failures, nothing running
        ((10, 20), 0, False),  # two are fewer than flap_failures
        ((10, 20, 400), 0, False),  # one is out of the window
        ((40, 50, 60), 2, False),  # quiet for flap_quiet and settled: over
        ((40, 50, 60), 1, True),  # quiet, but still short of tasks
        ((5, 50, 60), 2, True),  # a failure within flap_quiet
    ],
)
def test_flapping(ages: tuple[int, ...], running_tasks: int, flapping: bool) -> None:
    tasks = tuple(failed(i, a) for i, a in enumerate(ages)) + tuple(
        running(i) for i in range(running_tasks)
    )
    seen = active(judge(facts(tasks=tasks), RULES, set(), {})[0])
    assert ("flapping:web" in seen) is flapping
    if flapping:
        detail = seen["flapping:web"].detail
        assert detail["failures"] == len([a for a in ages if a <= 300])
        assert detail["exit_code"] == 3 and detail["last_error"] == "non-zero exit"
        assert "exit 3" in seen["flapping:web"].title


def test_a_flapping_service_is_not_also_below_desired() -> None:
    tasks = (failed(1, 10), failed(2, 20), failed(3, 30))
    seen = active(judge(facts(tasks=tasks), RULES, set(), {"s1": NOW - 600})[0])
    assert list(seen) == ["flapping:web"]


def test_jobs_do_not_flap() -> None:
    job = dataclasses.replace(WEB, mode="job", replicas=None)
    tasks = (failed(1, 10), failed(2, 20), failed(3, 30))
    assert judge(facts(services=(job,), tasks=tasks), RULES, set(), {})[0] == []


@pytest.mark.parametrize(
    ("first_seen", "reported"),
    [(None, False), (NOW - 30, False), (NOW - 61, True)],
)
def test_below_desired_after_the_grace_period(first_seen: float | None, reported: bool) -> None:
    pending = TaskFact("p", "s1", "", "pending", "running", NOW, "no suitable node")
    since = {} if first_seen is None else {"s1": first_seen}
    seen, below = judge(facts(tasks=(running(1), pending)), RULES, set(), since)
    assert below == {"s1": first_seen or NOW}
    got = active(seen)
    assert ("below_desired:web" in got) is reported
    if reported:
        assert got["below_desired:web"].detail["why"] == ["no suitable node"]
        assert got["below_desired:web"].title == "service web runs 1 of 2 tasks: no suitable node"


def test_below_desired_forgets_a_service_back_to_full() -> None:
    assert judge(facts(), RULES, set(), {"s1": NOW - 600})[1] == {}


def test_a_global_service_wants_a_task_per_node_it_was_given() -> None:
    glob = ServiceFact(id="g", name="agent", mode="global", replicas=None)
    tasks = (running(1, "g"), TaskFact("p", "g", "n2", "pending", "running", NOW, "no image"))
    seen = active(judge(facts(services=(glob,), tasks=tasks), RULES, set(), {"g": 0.0})[0])
    assert seen["below_desired:agent"].detail["desired"] == 2


def test_a_down_node_is_one_incident_listing_what_it_hit() -> None:
    db = ServiceFact(id="s2", name="db", mode="replicated", replicas=1)
    down = dataclasses.replace(W1, state="down")
    tasks = (running(1), running(2, node="n2"), running(3, "s2", node="n2"))
    seen = active(
        judge(facts(nodes=(M1, down), services=(WEB, db), tasks=tasks), RULES, set(), {})[0]
    )
    assert list(seen) == ["node_down:w1"]
    assert seen["node_down:w1"].detail["services"] == ["db", "web"]
    assert seen["node_down:w1"].detail["tasks"] == 2
    # the swarm moves them: the old tasks are to stop, their replacements wait;
    # the services are not reported below desired on their own
    moving = (
        *(dataclasses.replace(t, desired_state="shutdown") for t in tasks[1:]),
        TaskFact("p", "s2", "", "pending", "running", NOW, "no suitable node"),
    )
    seen = active(
        judge(
            facts(nodes=(M1, down), services=(WEB, db), tasks=tasks[:1] + moving),
            RULES,
            set(),
            {"s1": 0.0, "s2": 0.0},
        )[0]
    )
    assert list(seen) == ["node_down:w1"]


@pytest.mark.parametrize(
    ("managers", "reachable", "text"),
    [
        (3, 2, "one more loss stops the swarm"),
        (5, 4, "2 more losses stop the swarm"),
        (3, 1, "the swarm has lost quorum: no changes until a manager returns"),
    ],
)
def test_quorum_text(managers: int, reachable: int, text: str) -> None:
    assert quorum_text(managers, reachable) == text


def test_a_lost_manager_names_the_quorum_margin() -> None:
    m2 = NodeFact("n3", "m2", "manager", "ready", "active", "reachable")
    m3 = NodeFact("n4", "m3", "manager", "down", "active", "unreachable")
    seen = active(judge(facts(nodes=(M1, m2, m3)), RULES, set(), {})[0])
    assert seen["manager_lost:m3"].detail["margin"] == 0
    assert seen["manager_lost:m3"].title.endswith("2 of 3 reachable, one more loss stops the swarm")
    assert "node_down:m3" in seen


@pytest.mark.parametrize(
    ("state", "what"),
    [
        ("paused", "paused"),
        ("rollback_completed", "rolled back"),
        ("rollback_paused", "rollback paused"),
        ("completed", None),
        ("updating", None),
    ],
)
def test_updates_in_trouble(state: str, what: str | None) -> None:
    message = "update paused due to failure"
    svc = dataclasses.replace(WEB, update_state=state, update_message=message)
    seen = active(judge(facts(services=(svc,)), RULES, set(), {})[0])
    if what is None:
        assert "update:web" not in seen
    else:
        assert seen["update:web"].title == f"update of web {what}: update paused due to failure"


def test_open_incidents_that_no_longer_hold_are_reported_cleared() -> None:
    seen, _ = judge(facts(), RULES, {"flapping:gone", "node_down:w1", "other:x"}, {})
    assert [(o.key, o.active) for o in seen] == [
        ("flapping:gone", False),
        ("node_down:w1", False),
    ]


def test_node_changes_replay_in_order() -> None:
    changes = [NodeStateChange("n2", "w1", "down", 1.0), NodeStateChange("n2", "w1", "ready", 2.0)]
    seen = replay_node_changes(changes, {"n2": "w1"})
    assert [(o.key, o.active) for o in seen] == [("node_down:w1", True), ("node_down:w1", False)]


def test_a_node_a_new_leader_has_not_heard_from_yet_is_not_down() -> None:
    unknown = dataclasses.replace(W1, state="unknown")
    assert judge(facts(nodes=(M1, unknown)), RULES, set(), {})[0] == []


def test_nodes_sharing_a_hostname_get_distinct_names() -> None:
    twin = NodeFact("abcdef123", "m1", "worker", "down", "active")
    seen = active(judge(facts(nodes=(M1, twin)), RULES, set(), {})[0])
    assert list(seen) == ["node_down:m1-abcdef"]


# --- reading the Engine's JSON ---------------------------------------------


def test_engine_time() -> None:
    assert engine_time("1970-01-01T00:00:10.123456789Z") == pytest.approx(10.123456)
    assert engine_time("1970-01-01T01:00:10+01:00") == 10.0
    assert engine_time("0001-01-01T00:00:00Z") == 0.0
    assert engine_time(None) == 0.0


def test_task_fact_reads_the_exit_code_only_once_ended() -> None:
    task = {
        "ID": "t",
        "ServiceID": "s",
        "NodeID": "n",
        "DesiredState": "shutdown",
        "Status": {
            "State": "failed",
            "Timestamp": "1970-01-01T00:00:05Z",
            "Err": "task: non-zero exit (3)",
            "ContainerStatus": {"ContainerID": "c", "ExitCode": 3},
        },
    }
    assert task_fact(task) == TaskFact(
        "t", "s", "n", "failed", "shutdown", 5.0, "task: non-zero exit (3)", 3
    )
    task["Status"] = {"State": "running", "ContainerStatus": {"ContainerID": "c", "ExitCode": 0}}
    assert task_fact(task).exit_code is None
    task["Status"] = {"State": "rejected", "Err": "No such image", "ContainerStatus": {}}
    assert task_fact(task).exit_code is None


def test_service_and_node_facts() -> None:
    service = {
        "ID": "s",
        "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}}},
        "UpdateStatus": {"State": "paused", "Message": "why"},
    }
    assert service_fact(service) == ServiceFact("s", "web", "replicated", 3, "paused", "why")
    assert service_fact({"Spec": {"Mode": {"ReplicatedJob": {}}}}).mode == "job"
    node = {
        "ID": "n",
        "Description": {"Hostname": "h"},
        "Spec": {"Role": "manager", "Availability": "drain"},
        "Status": {"State": "down"},
        "ManagerStatus": {"Reachability": "unreachable"},
    }
    assert node_fact(node) == NodeFact("n", "h", "manager", "down", "drain", "unreachable")


def test_node_change_from_an_event() -> None:
    event = {
        "Type": "node",
        "Action": "update",
        "Actor": {"ID": "n", "Attributes": {"name": "w1", "state.new": "down"}},
        "timeNano": 2_500_000_000,
    }
    assert node_change(event) == NodeStateChange("n", "w1", "down", 2.5)
    assert node_change({**event, "Type": "service"}) is None
    assert node_change({**event, "Actor": {"ID": "n", "Attributes": {"name": "w1"}}}) is None


def test_the_events_stream_is_split_into_objects_whatever_the_chunks() -> None:
    from sparkswarm.gateway.cluster import _json_objects

    chunks = [b'{"a": 1}\n{"b"', b": 2}\n", b"\n", b'{"c": 3}']
    assert list(_json_objects(iter(chunks), "events")) == [{"a": 1}, {"b": 2}, {"c": 3}]


@pytest.mark.parametrize(
    ("state", "age", "reported"),
    [("FAILED", 60, True), ("FAILED", 4000, False), ("SUCCEEDED", 60, False)],
)
def test_a_failed_spark_job_is_an_incident_for_an_hour(
    state: str, age: float, reported: bool
) -> None:
    job = JobFact("j1", "pi", "spark", state, NOW - age, "driver exited with code 1", 1)
    seen = active(judge(facts(jobs=(job,)), RULES, set(), {})[0])
    assert ("spark_job:j1" in seen) is reported
    if reported:
        assert seen["spark_job:j1"].title == (
            "Spark job j1 (pi on spark) failed (exit code 1): driver exited with code 1"
        )
