"""Admission limits and sane numbers, checked before anything is sent (pure).

The engine has no admission limit of its own: ``service scale web=99999999999``
was accepted and the engine began creating 10^11 tasks until it ran out of
memory and stopped answering. Every way a replica count, a resource
reservation or a wait enters sparkswarm (``service create/update/scale``, a
compose file's ``deploy.replicas``, a ready-made stack's parameters, a
schedule, the bot) goes through the functions here, from the pure
translators, so a refusal happens before any request is sent, wherever the
request came from.

Two settings bound replica counts (see :class:`Limits`):

- ``SPARKSWARM_MAX_REPLICAS`` (default 100): tasks of one service.
- ``SPARKSWARM_MAX_STACK_REPLICAS`` (default 200): tasks of all the
  replicated services of one stack together.

Every refusal is an InvalidRequest that names the limit and the setting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sparkswarm.errors import InvalidRequest

# 100 tasks per service is far more than a study cluster needs (a Spark worker
# wants a core and a GiB; 100 of them is a 100-core cluster) and far less than
# what hurts a manager: each task is a container, a raft entry and a network
# attachment, and a 2-core manager already struggles at a few thousand. A
# stack of several such services gets twice that in total.
DEFAULT_MAX_REPLICAS = 100
DEFAULT_MAX_STACK_REPLICAS = 200
# Longest wait any command accepts (seconds): a week. Beyond that a number is
# a typo, and ``inf`` would hold a worker slot for ever.
MAX_WAIT_SECONDS = 7 * 24 * 3600

_ASCII_COUNT = re.compile(r"[0-9]+")


class Limits(NamedTuple):
    """The replica limits in force (settings ``SPARKSWARM_MAX_*``)."""

    max_replicas: int = DEFAULT_MAX_REPLICAS
    max_stack_replicas: int = DEFAULT_MAX_STACK_REPLICAS


def configured_limits() -> Limits:
    """The limits from the settings (InvalidRequest if a setting is malformed)."""
    from sparkswarm.config import get_settings

    settings = get_settings()
    return Limits(settings.max_replicas, settings.max_stack_replicas)


def parse_count(text: str, what: str) -> int:
    """A non-negative integer typed as ASCII digits (``"3"`` -> 3).

    ``str.isdigit`` also accepts superscript, Arabic-Indic and full-width
    digits, which ``int()`` then refuses or silently reads as another number:
    only 0-9 are accepted.
    Raises InvalidRequest naming ``what`` otherwise.
    """
    stripped = text.strip()
    if not _ASCII_COUNT.fullmatch(stripped):
        raise InvalidRequest(f"invalid {what}: {text!r} is not a whole number written with 0-9")
    return int(stripped)


def check_replicas(count: int, *, service: str, limits: Limits | None = None) -> int:
    """``count`` if it is an allowed replica count for one service.

    Raises InvalidRequest when it is negative or above ``max_replicas``
    (the message names the setting to raise).
    """
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidRequest(f"replicas of {service}: expected a whole number, not {count!r}")
    if count < 0:
        raise InvalidRequest(f"replicas of {service} must be 0 or more, not {count}")
    allowed = (limits or configured_limits()).max_replicas
    if count > allowed:
        raise InvalidRequest(
            f"{count} replicas for {service} is over the limit of {allowed} per service "
            "(setting SPARKSWARM_MAX_REPLICAS)"
        )
    return count


def mode_tasks(mode: Mapping[str, Any] | None) -> int:
    """Tasks a service ``Mode`` runs at once (0 for global modes: one per node)."""
    mode = mode or {}
    if "Replicated" in mode:
        replicas = (mode["Replicated"] or {}).get("Replicas")
        return 1 if replicas is None else int(replicas)
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"] or {}
        total = job.get("TotalCompletions")
        concurrent = job.get("MaxConcurrent")
        counts = [int(c) for c in (total, concurrent) if c is not None]
        return min(counts) if counts else 1
    return 0


def check_mode(
    mode: Mapping[str, Any] | None, *, service: str, limits: Limits | None = None
) -> None:
    """Check the replica numbers of an Engine ``Mode`` (replicas, job completions).

    Raises InvalidRequest as :func:`check_replicas` does.
    """
    mode = mode or {}
    limits = limits or configured_limits()
    if "Replicated" in mode:
        replicas = (mode["Replicated"] or {}).get("Replicas")
        if replicas is not None:
            check_replicas(replicas, service=service, limits=limits)
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"] or {}
        for key in ("TotalCompletions", "MaxConcurrent"):
            if job.get(key) is not None:
                check_replicas(job[key], service=service, limits=limits)


def check_stack_total(stack: str, tasks: Mapping[str, int], *, limits: Limits | None = None) -> int:
    """The total of ``tasks`` (service -> tasks at once) if the stack may run it.

    Raises InvalidRequest naming the biggest services and the setting when
    the total is above ``max_stack_replicas``.
    """
    allowed = (limits or configured_limits()).max_stack_replicas
    total = sum(tasks.values())
    if total > allowed:
        biggest = sorted(tasks.items(), key=lambda item: (-item[1], item[0]))[:3]
        shown = ", ".join(f"{name}={count}" for name, count in biggest)
        raise InvalidRequest(
            f"stack {stack} would run {total} replicas ({shown}), over the limit of "
            f"{allowed} per stack (setting SPARKSWARM_MAX_STACK_REPLICAS)"
        )
    return total


def check_services(
    stack: str, modes: Mapping[str, Mapping[str, Any] | None], *, limits: Limits | None = None
) -> None:
    """Every service's Mode (service name -> Mode), then the stack's total."""
    limits = limits or configured_limits()
    for service, mode in modes.items():
        check_mode(mode, service=service, limits=limits)
    check_stack_total(stack, {s: mode_tasks(m) for s, m in modes.items()}, limits=limits)


# --- numbers ---------------------------------------------------------------


def check_wait(seconds: float, what: str = "--timeout") -> float:
    """``seconds`` if it is a usable wait: finite, above 0, at most a week.

    Raises InvalidRequest otherwise (``-1``, ``0``, ``nan``, ``inf``).
    """
    wanted = f"{what} must be a positive number of seconds, at most {MAX_WAIT_SECONDS} (a week)"
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidRequest(f"{wanted}, not {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_WAIT_SECONDS:
        raise InvalidRequest(f"{wanted}, not {seconds!r}")
    return float(seconds)


# Every numeric flag without a limit of its own above (replicas, waits), with
# the least and most it accepts. The engine keeps most of them as Go uint64 or
# int64 and answers a larger number with its raw "cannot unmarshal number";
# the bounds are far above any useful value. 0 keeps the engine's meaning
# where it has one (restart attempts: unlimited; parallelism: all at once).
FLAG_BOUNDS: dict[str, tuple[int, int]] = {
    "--restart-max-attempts": (0, 10_000),
    "--health-retries": (0, 1_000),
    "--update-parallelism": (0, 10_000),
    "--rollback-parallelism": (0, 10_000),
    "--total-executor-cores": (1, 100_000),
    "--tail": (0, 1_000_000),
    "--limit": (1, 1_000),
    "--connect-port": (1, 65_535),
}


# Where the same numbers sit in an Engine ServiceSpec, and their compose keys.
SPEC_NUMBERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("TaskTemplate", "RestartPolicy", "MaxAttempts"),
        "--restart-max-attempts",
        "deploy.restart_policy.max_attempts",
    ),
    (
        ("TaskTemplate", "ContainerSpec", "Healthcheck", "Retries"),
        "--health-retries",
        "healthcheck.retries",
    ),
    (("UpdateConfig", "Parallelism"), "--update-parallelism", "deploy.update_config.parallelism"),
    (
        ("RollbackConfig", "Parallelism"),
        "--rollback-parallelism",
        "deploy.rollback_config.parallelism",
    ),
)


def check_number(flag: str, value: int | None, what: str | None = None) -> int | None:
    """``value`` if it is within ``flag``'s bounds (:data:`FLAG_BOUNDS`); None passes.

    Raises InvalidRequest naming the flag (or ``what``) and its bounds.
    """
    if value is None:
        return None
    low, high = FLAG_BOUNDS[flag]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(
            f"{what or flag} must be a whole number from {low} to {high}, not {value!r}"
        )
    return value


def check_spec_numbers(spec: Mapping[str, Any], where: str) -> None:
    """The bounded numbers of an Engine ``ServiceSpec`` (from a compose file),
    named by their compose keys under ``where`` (``services.web``).

    Raises InvalidRequest as :func:`check_number` does.
    """
    for path, flag, key in SPEC_NUMBERS:
        value: Any = spec
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        check_number(flag, value, f"{where}: {key}")


def check_numbers(values: Mapping[str, Any], prefix: str = "--") -> None:
    """Check every bounded flag among ``values`` (request params keyed like
    ``restart_max_attempts``; ``prefix`` is prepended to the flag name, e.g.
    ``--update-`` for an update policy's ``parallelism``).

    Raises InvalidRequest as :func:`check_number` does.
    """
    for key, value in values.items():
        flag = prefix + key.replace("_", "-")
        if flag in FLAG_BOUNDS:
            check_number(flag, value)


# Bounded where they are read, with the same kind of message: replicas and
# --max-concurrent (check_replicas), waits (check_wait), spark up's --workers
# and --worker-cores (spark.cluster), lab --managers/--workers
# (lab.state.validate_shape), worker --concurrency, bot --http.


# --- reservations against the nodes -------------------------------------------


class NodeCapacity(NamedTuple):
    """What one node that can take tasks offers (from the engine's node list)."""

    hostname: str
    nano_cpus: int
    memory_bytes: int


def check_reservation(
    service: str, reservations: Mapping[str, Any] | None, nodes: Sequence[NodeCapacity]
) -> None:
    """Refuse a reservation that no node could ever satisfy.

    The engine accepts such a service and leaves its tasks pending for ever
    ("no suitable node"). Compared with each node's total resources (what
    other tasks reserve is not subtracted: that changes over time). With no
    node listed nothing is judged. Raises InvalidRequest naming the largest node.
    """
    reservations = reservations or {}
    cpus = int(reservations.get("NanoCPUs") or 0)
    memory = int(reservations.get("MemoryBytes") or 0)
    if not nodes or (not cpus and not memory):
        return
    if any(n.nano_cpus >= cpus and n.memory_bytes >= memory for n in nodes):
        return
    largest_cpu = max(nodes, key=lambda n: n.nano_cpus)
    largest_mem = max(nodes, key=lambda n: n.memory_bytes)
    wanted = " and ".join(
        part for part, given in ((f"{cpus / 1e9:g} CPUs", cpus), (_mib(memory), memory)) if given
    )
    raise InvalidRequest(
        f"service {service} reserves {wanted} but no node "
        f"has that much (most CPUs: {largest_cpu.nano_cpus / 1e9:g} on "
        f"{largest_cpu.hostname}; most memory: {_mib(largest_mem.memory_bytes)} on "
        f"{largest_mem.hostname}); its tasks would stay pending"
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def node_capacities(nodes: Sequence[Mapping[str, Any]]) -> list[NodeCapacity]:
    """The capacities of inspected nodes that are ready and active."""
    result = []
    for node in nodes:
        if (node.get("Status") or {}).get("State") != "ready":
            continue
        if (node.get("Spec") or {}).get("Availability", "active") != "active":
            continue
        description = node.get("Description") or {}
        resources = description.get("Resources") or {}
        result.append(
            NodeCapacity(
                hostname=str(description.get("Hostname") or node.get("ID", "?")),
                nano_cpus=int(resources.get("NanoCPUs") or 0),
                memory_bytes=int(resources.get("MemoryBytes") or 0),
            )
        )
    return result
