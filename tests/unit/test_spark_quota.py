"""Quotas and admission of waiting Spark jobs (pure: sparkswarm.spark.quota)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkswarm.spark.quota import (
    Quota,
    QuotaBook,
    Slot,
    admit,
    never_fits,
    parse_overrides,
    round_robin,
)

BOOK = QuotaBook(Quota(jobs=1, cores=4))


def slot(job_id: str, owner: str, at: float, cores: int = 1, groups: tuple[str, ...] = ()) -> Slot:
    return Slot(job_id=job_id, owner=owner, cores=cores, created_at=at, groups=groups)


def test_one_users_ten_jobs_do_not_hold_back_anothers_one() -> None:
    waiting = [slot(f"a{i}", "UA", i) for i in range(10)] + [slot("b0", "UB", 50)]
    decided = admit(waiting, [], BOOK)
    assert decided.start == ("a0", "b0")
    # a1..a9 wait, in their order, a1 first.
    assert [decided.ahead[f"a{i}"] for i in range(1, 10)] == list(range(9))


def test_round_robin_interleaves_owners_by_their_oldest_job() -> None:
    waiting = [
        slot("a1", "UA", 1),
        slot("a2", "UA", 2),
        slot("a3", "UA", 3),
        slot("b1", "UB", 4),
        slot("c1", "UC", 0.5),
        slot("c2", "UC", 5),
    ]
    assert [s.job_id for s in round_robin(waiting)] == ["c1", "a1", "b1", "c2", "a2", "a3"]


@pytest.mark.parametrize(
    ("waiting", "running", "book", "start", "ahead"),
    [
        # Nothing runs: each owner's first job starts.
        ([slot("a1", "UA", 1), slot("a2", "UA", 2)], [], BOOK, ("a1",), {"a2": 0}),
        # The owner's earlier job still runs: the next one waits.
        ([slot("a2", "UA", 2)], [slot("a1", "UA", 1)], BOOK, (), {"a2": 0}),
        # Another owner's running job does not count against UA.
        ([slot("a1", "UA", 2)], [slot("b1", "UB", 1)], BOOK, ("a1",), {}),
        # Cores: 3 running + 2 asked > 4.
        (
            [slot("a2", "UA", 2, cores=2)],
            [slot("a1", "UA", 1, cores=3)],
            QuotaBook(Quota(5, 4)),
            (),
            {"a2": 0},
        ),
        # An owner's order is kept: a small later job does not overtake a big one.
        (
            [slot("a2", "UA", 2, cores=3), slot("a3", "UA", 3, cores=1)],
            [slot("a1", "UA", 1, cores=2)],
            QuotaBook(Quota(5, 4)),
            (),
            {"a2": 0, "a3": 1},
        ),
        # A per-id override.
        (
            [slot("a1", "UA", 1), slot("a2", "UA", 2)],
            [],
            QuotaBook(Quota(1, 4), {"UA": Quota(2, 4)}),
            ("a1", "a2"),
            {},
        ),
        # A group's cap is shared by its members: UB waits for UA's job.
        (
            [slot("b1", "UB", 2, groups=("S1",))],
            [slot("a1", "UA", 1, groups=("S1",))],
            QuotaBook(Quota(2, 4), {"S1": Quota(1, 4)}),
            (),
            {"b1": 0},
        ),
        # ... but not a non-member's.
        (
            [slot("c1", "UC", 2)],
            [slot("a1", "UA", 1, groups=("S1",))],
            QuotaBook(Quota(2, 4), {"S1": Quota(1, 4)}),
            ("c1",),
            {},
        ),
    ],
)
def test_admission_table(
    waiting: list[Slot],
    running: list[Slot],
    book: QuotaBook,
    start: tuple[str, ...],
    ahead: dict[str, int],
) -> None:
    decided = admit(waiting, running, book)
    assert decided.start == start
    assert dict(decided.ahead) == ahead


@pytest.mark.parametrize(
    ("cores", "groups", "book", "says"),
    [
        (4, (), BOOK, None),
        (5, (), BOOK, "asks 5 cores but your quota (UA) is 1 job and 4 cores at once"),
        (2, ("S1",), QuotaBook(Quota(1, 4), {"S1": Quota(2, 1)}), "group S1's quota"),
        (1, (), QuotaBook(Quota(1, 4), {"UA": Quota(0, 0)}), "allows no Spark jobs"),
    ],
)
def test_a_job_that_could_never_fit_the_quota_is_refused_with_its_numbers(
    cores: int, groups: tuple[str, ...], book: QuotaBook, says: str | None
) -> None:
    why = never_fits(cores, "UA", groups, book)
    if says is None:
        assert why is None
    else:
        assert why is not None and says in why


def test_the_default_quota_refusal_names_its_variable() -> None:
    why = never_fits(9, "alice", (), BOOK)
    assert why is not None and "SPARKSWARM_SPARK_QUOTA_CORES" in why


def test_overrides_parse_and_bad_entries_are_named() -> None:
    assert parse_overrides(" UA=1/2, S1=3/6,") == {"UA": Quota(1, 2), "S1": Quota(3, 6)}
    for bad in ("UA=1", "UA=x/2", "=1/2", "UA=-1/2", "UA"):
        with pytest.raises(ValueError, match="ID=JOBS/CORES"):
            parse_overrides(bad)


owners = st.sampled_from(["UA", "UB", "UC"])
slots = st.lists(
    st.tuples(owners, st.integers(1, 4), st.floats(0, 100), st.booleans()),
    max_size=12,
)


def _slots(raw: list[tuple[str, int, float, bool]], tag: str) -> list[Slot]:
    return [
        slot(f"{tag}{i}", owner, at, cores, ("S1",) if grouped else ())
        for i, (owner, cores, at, grouped) in enumerate(raw)
    ]


@settings(max_examples=300, deadline=None)
@given(waiting_raw=slots, running_raw=slots, jobs=st.integers(1, 3), cores=st.integers(1, 6))
def test_admission_never_takes_anyone_over_a_quota_and_takes_owners_in_turn(
    waiting_raw: list[tuple[str, int, float, bool]],
    running_raw: list[tuple[str, int, float, bool]],
    jobs: int,
    cores: int,
) -> None:
    book = QuotaBook(Quota(jobs, cores), {"S1": Quota(jobs + 1, cores + 2)})
    waiting, running = _slots(waiting_raw, "w"), _slots(running_raw, "r")
    decided = admit(waiting, running, book)
    by_id = {s.job_id: s for s in waiting}
    started = [by_id[i] for i in decided.start]

    for owner in ("UA", "UB", "UC"):
        mine = [s for s in started if s.owner == owner]
        before = [s for s in running if s.owner == owner]
        if mine:  # what starts never takes an owner over (running ones may be already)
            assert len(mine) + len(before) <= jobs
            assert sum(s.cores for s in mine + before) <= cores
        # An owner's jobs start in the order they came.
        theirs = sorted(
            (s for s in waiting if s.owner == owner), key=lambda s: (s.created_at, s.job_id)
        )
        flags = [s.job_id in decided.start for s in theirs]
        assert flags == sorted(flags, reverse=True)
    grouped = [s for s in started if "S1" in s.groups]
    if grouped:
        before = [s for s in running if "S1" in s.groups]
        assert len(grouped) + len(before) <= jobs + 1
        assert sum(s.cores for s in grouped + before) <= cores + 2
    # Every waiting job either starts or has a distinct place, 0..n-1, in round-robin order.
    assert set(decided.start) | set(decided.ahead) == set(by_id)
    assert sorted(decided.ahead.values()) == list(range(len(decided.ahead)))
    order = [s.job_id for s in round_robin(waiting)]
    left = [i for i in order if i not in decided.start]
    assert [decided.ahead[i] for i in left] == list(range(len(left)))
    # Round robin: within the order, no owner's (k+1)-th job precedes another's k-th.
    seen: dict[str, int] = {}
    depths = []
    for job_id in order:
        owner = by_id[job_id].owner
        depths.append(seen.get(owner, 0))
        seen[owner] = depths[-1] + 1
    assert depths == sorted(depths)


def test_the_time_a_job_waited_queued_does_not_count_against_its_wait_for_cores() -> None:
    from sparkswarm.spark.job_record import JobAsk, JobRecord

    record = JobRecord(
        id="j1",
        stack="s",
        service="s_job",
        name="pi",
        script="pi.py",
        ask=JobAsk(cores=1, executor_memory_mb=512),
        created_at=100.0,
    )
    assert record.submitted_since == 100.0
    assert record.model_copy(update={"submitted_at": 900.0}).submitted_since == 900.0
