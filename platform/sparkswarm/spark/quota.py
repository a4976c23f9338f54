"""Sharing a Spark cluster: quotas, and which waiting jobs start next (pure).

A quota is how many jobs, and how many cores in total, may run at once.
Everyone has the default quota (``SPARKSWARM_SPARK_QUOTA_JOBS`` /
``..._CORES``) unless ``SPARKSWARM_SPARK_QUOTAS`` names them
(``U0ALICE=1/2``). A group id there (``S0STUDY=3/6``, a Slack user group as
in the roles file) caps what the group's members run together, on top of
each member's own quota; it applies to jobs whose record names the group.

A job that would take its owner (or one of their groups) over a quota
waits as QUEUED. :func:`admit` decides, from the waiting and the running
jobs alone, which waiting jobs start now and how many wait ahead of each
other one. Waiting jobs are taken round-robin over their owners (each
owner's first job, then each owner's second, ...; owners in the order their
oldest waiting job came), so one person's ten submissions never hold back
another's one; an owner's own jobs start in the order they came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CORES_VARIABLE = "SPARKSWARM_SPARK_QUOTA_CORES"


@dataclass(frozen=True)
class Quota:
    """At most ``jobs`` jobs and ``cores`` cores (their asks summed) at once."""

    jobs: int
    cores: int

    def __str__(self) -> str:
        jobs = f"{self.jobs} job{'' if self.jobs == 1 else 's'}"
        return f"{jobs} and {self.cores} core{'' if self.cores == 1 else 's'} at once"


@dataclass(frozen=True)
class QuotaBook:
    """The default quota and the quotas given to particular users and groups."""

    default: Quota
    overrides: Mapping[str, Quota] = field(default_factory=dict)

    def of_user(self, user: str) -> Quota:
        """``user``'s own quota: theirs if named, else the default."""
        return self.overrides.get(user, self.default)

    def of_groups(self, groups: Iterable[str]) -> dict[str, Quota]:
        """The quotas of those of ``groups`` that have one."""
        return {g: self.overrides[g] for g in groups if g in self.overrides}


@dataclass(frozen=True)
class Slot:
    """A job as admission sees it: whose, how many cores, when it came."""

    job_id: str
    owner: str
    cores: int
    created_at: float
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Admission:
    """What :func:`admit` decided: the jobs to start now (in order), and for
    every job left waiting, how many waiting jobs are ahead of it."""

    start: tuple[str, ...]
    ahead: Mapping[str, int]


def parse_overrides(value: object) -> dict[str, Quota]:
    """``"U0ALICE=1/2, S0STUDY=3/6"`` -> quotas by id; a mapping is kept.

    Raises ValueError naming the entry that is not ``ID=JOBS/CORES`` with
    whole numbers of at least 0.
    """
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if isinstance(v, Quota)}
    if not isinstance(value, str):
        raise ValueError("Input should be ID=JOBS/CORES entries separated by commas")
    out: dict[str, Quota] = {}
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        ident, eq, numbers = entry.partition("=")
        jobs, slash, cores = numbers.partition("/")
        if not (eq and slash and ident.strip() and jobs.isdigit() and cores.isdigit()):
            raise ValueError(f"{entry!r} is not ID=JOBS/CORES (e.g. U0ALICE=1/2)")
        out[ident.strip()] = Quota(int(jobs), int(cores))
    return out


def never_fits(cores: int, owner: str, groups: Iterable[str], book: QuotaBook) -> str | None:
    """Why a job of ``cores`` cores can never run within its owner's quotas
    (even with nothing else running), or None when it can."""
    own = book.of_user(owner)
    limits = [(f"your quota ({owner})", own, True)]
    limits += [(f"group {g}'s quota", q, False) for g, q in book.of_groups(groups).items()]
    for who, quota, own_quota in limits:
        variable = f" ({CORES_VARIABLE})" if own_quota and owner not in book.overrides else ""
        if quota.jobs < 1:
            return f"{who} allows no Spark jobs at all"
        if cores > quota.cores:
            return (
                f"the job asks {cores} cores but {who} is {quota}{variable}; "
                f"ask for at most {quota.cores} with --total-executor-cores"
            )
    return None


def round_robin(waiting: Iterable[Slot]) -> list[Slot]:
    """``waiting`` in start order: each owner's first job, then each owner's
    second, ...; owners ordered by their oldest job (then by name)."""
    queues: dict[str, list[Slot]] = {}
    for slot in sorted(waiting, key=lambda s: (s.created_at, s.job_id)):
        queues.setdefault(slot.owner, []).append(slot)
    owners = list(queues)  # insertion order: by each owner's oldest job
    order: list[Slot] = []
    depth = 0
    while len(order) < sum(len(q) for q in queues.values()):
        order += [queues[o][depth] for o in owners if depth < len(queues[o])]
        depth += 1
    return order


def admit(waiting: Iterable[Slot], running: Iterable[Slot], book: QuotaBook) -> Admission:
    """Which ``waiting`` jobs start now, given the ``running`` ones and the quotas.

    Taken in :func:`round_robin` order, a job starts if it keeps its owner
    and each of its groups within their quotas; once one of an owner's jobs
    does not fit, that owner's later jobs wait too (their order is kept).
    """
    used: dict[str, list[int]] = {}

    def charge(slot: Slot) -> None:
        for key in (f"user:{slot.owner}", *(f"group:{g}" for g in slot.groups)):
            entry = used.setdefault(key, [0, 0])
            entry[0] += 1
            entry[1] += slot.cores

    def fits(slot: Slot) -> bool:
        limits = {f"user:{slot.owner}": book.of_user(slot.owner)}
        limits.update({f"group:{g}": q for g, q in book.of_groups(slot.groups).items()})
        for key, quota in limits.items():
            jobs, cores = used.get(key, [0, 0])
            if jobs + 1 > quota.jobs or cores + slot.cores > quota.cores:
                return False
        return True

    for slot in running:
        charge(slot)
    order = round_robin(waiting)
    start: list[str] = []
    held: set[str] = set()
    for slot in order:
        if slot.owner in held:
            continue
        if fits(slot):
            charge(slot)
            start.append(slot.job_id)
        else:
            held.add(slot.owner)
    left = [s.job_id for s in order if s.job_id not in start]
    return Admission(start=tuple(start), ahead={job_id: i for i, job_id in enumerate(left)})


def waiting_reason(ahead: int, quota: Quota) -> str:
    """The reason a QUEUED job shows: its place, and the quota it waits on."""
    return f"{ahead} ahead of you (your quota: {quota})"
