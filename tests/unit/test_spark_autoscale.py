"""Workers that follow demand: the scaling decision (pure: sparkswarm.spark.autoscale)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.spark.autoscale import (
    ScalingFacts,
    ScalingPolicy,
    WorkerLoad,
    decide_scaling,
    idle_since,
)

POLICY = ScalingPolicy(minimum=1, maximum=3, cooldown=60)


def workers(*used: int, cores: int = 2) -> list[WorkerLoad]:
    return [WorkerLoad(f"w{i}", cores, u) for i, u in enumerate(used)]


def facts(
    replicas: int,
    loads: list[WorkerLoad],
    waiting: tuple[int, ...] = (),
    idle_for: float | None = None,
    now: float = 1000.0,
) -> ScalingFacts:
    idle = {} if idle_for is None else {w.id: now - idle_for for w in loads if w.cores_used == 0}
    return ScalingFacts(replicas, loads, list(waiting), idle, now)


@pytest.mark.parametrize(
    ("given_facts", "replicas", "says"),
    [
        # Two apps wait for 4 cores, none free: two more workers of 2 cores.
        (facts(1, workers(2), (2, 2)), 3, "2 apps waiting for 4 cores, 0 free"),
        # Only up to the maximum.
        (facts(1, workers(2), (2, 2, 2, 2)), 3, "4 apps waiting for 8 cores"),
        (facts(3, workers(2, 2, 2), (2,)), 3, "at the maximum of 3"),
        # Enough free cores: Spark schedules it; no change.
        (facts(2, workers(2, 0), (2,)), 2, "no change"),
        # Workers asked for earlier are still registering: wait for them.
        (facts(3, workers(2), (2, 2)), 3, "still registering"),
        # Below the minimum: up to it.
        (facts(0, [], ()), 1, "below the minimum of 1"),
        # Idle past the cool-down: down to the minimum.
        (facts(3, workers(0, 0, 0), idle_for=61), 1, "3 workers idle for 61 s"),
        # Idle, but not for the cool-down yet.
        (facts(3, workers(0, 0, 0), idle_for=30), 3, "idle for 30 of 60 s"),
        # One worker runs an executor: swarm picks the task to remove, so none goes.
        (facts(3, workers(1, 0, 0), idle_for=600), 3, "1 worker(s) busy"),
        # At the minimum already.
        (facts(1, workers(0), idle_for=600), 1, "no change"),
    ],
)
def test_scaling_table(given_facts: ScalingFacts, replicas: int, says: str) -> None:
    decision = decide_scaling(given_facts, POLICY)
    assert decision.replicas == replicas
    assert says in decision.reason


def test_idle_clocks_start_when_a_worker_goes_idle_and_stop_when_it_works() -> None:
    clocks = idle_since({}, workers(0, 1), now=10)
    assert clocks == {"w0": 10}
    clocks = idle_since(clocks, workers(0, 0), now=20)
    assert clocks == {"w0": 10, "w1": 20}
    assert idle_since(clocks, workers(1), now=30) == {}


@pytest.mark.parametrize(("low", "high", "cool"), [(-1, 3, 60), (3, 2, 60), (0, 0, 60), (1, 3, 0)])
def test_a_bad_policy_is_refused(low: int, high: int, cool: float) -> None:
    with pytest.raises(InvalidRequest):
        ScalingPolicy(low, high, cool)


@given(
    replicas=st.integers(0, 6),
    used=st.lists(st.integers(0, 2), max_size=6),
    waiting=st.lists(st.integers(1, 4), max_size=5),
    idle_for=st.one_of(st.none(), st.floats(0, 200)),
    low=st.integers(0, 2),
    extra=st.integers(1, 3),
)
def test_never_outside_the_range_and_never_down_while_an_executor_runs(
    replicas: int,
    used: list[int],
    waiting: list[int],
    idle_for: float | None,
    low: int,
    extra: int,
) -> None:
    policy = ScalingPolicy(low, low + extra, 60)
    loads = workers(*used[:replicas])
    decision = decide_scaling(facts(replicas, loads, tuple(waiting), idle_for), policy)
    if decision.replicas != replicas:
        assert policy.minimum <= decision.replicas <= policy.maximum
        assert decision.reason
    if decision.replicas < replicas:
        assert not waiting and all(w.cores_used == 0 for w in loads)
        assert idle_for is not None and idle_for >= policy.cooldown


def test_only_the_platform_the_stack_names_scales_it() -> None:
    from sparkswarm.workers.spark_autoscaler import (
        COOLDOWN_LABEL,
        MAX_LABEL,
        MIN_LABEL,
        QUEUE_LABEL,
        policy_of,
    )

    labels = {MIN_LABEL: "1", MAX_LABEL: "3", COOLDOWN_LABEL: "5", QUEUE_LABEL: "study"}
    assert policy_of(labels, "study") == ScalingPolicy(minimum=1, maximum=3, cooldown=5)
    assert policy_of(labels, "staging") is None
    assert policy_of({**labels, MAX_LABEL: "0"}, "study") is None
    # A stack deployed before the label existed is scaled by whichever platform looks.
    unowned = {k: v for k, v in labels.items() if k != QUEUE_LABEL}
    assert policy_of(unowned, "staging") == ScalingPolicy(minimum=1, maximum=3, cooldown=5)
