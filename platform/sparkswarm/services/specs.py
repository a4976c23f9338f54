"""Service options as users give them -> an Engine ``ServiceSpec`` (pure).

:class:`ServiceOptions` is the typed request behind ``service create``: the
flags exactly as typed (``"512m"``, ``"8080:80"``, ``"10s"``), JSON-able so a
queue or a chat bot can send it. :func:`build_service_spec` turns it into the
dict the Engine API takes (TaskTemplate, Mode, EndpointSpec, UpdateConfig,
RollbackConfig, ...). :func:`normalized_spec` and :func:`spec_differences`
compare a spec we would send with the one the engine holds, ignoring the
defaults the engine fills in.
"""

from __future__ import annotations

import copy
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sparkswarm import limits
from sparkswarm.errors import InvalidRequest
from sparkswarm.model_base import LazyModel
from sparkswarm.services import flags
from sparkswarm.services.modes import JOB_MODES as JOB_MODES
from sparkswarm.services.modes import MODE_KEYS as MODE_KEYS
from sparkswarm.services.modes import Mode as Mode
from sparkswarm.services.modes import mode_name as mode_name

Model = TypeVar("Model", bound=BaseModel)

# What swarmkit uses when a service has no UpdateConfig / RollbackConfig. A
# partial policy must be completed from these: a missing Parallelism would be
# sent as 0, which means "replace every task at once".
DEFAULT_POLICY: dict[str, Any] = {
    "Parallelism": 1,
    "Delay": 0,
    "FailureAction": "pause",
    "Monitor": 5_000_000_000,
    "MaxFailureRatio": 0,
    "Order": "stop-first",
}


class PolicyOptions(LazyModel):
    """``--update-*`` or ``--rollback-*`` flags; unset fields keep their value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delay: str | None = None
    parallelism: int | None = Field(None, ge=0)
    failure_action: Literal["pause", "continue", "rollback"] | None = None
    monitor: str | None = None
    max_failure_ratio: float | None = Field(None, ge=0, le=1)
    order: Literal["start-first", "stop-first"] | None = None

    def is_empty(self) -> bool:
        """True when no flag of this policy was given."""
        return all(value is None for value in self.model_dump().values())


class ServiceOptions(LazyModel):
    """Everything ``service create`` accepts besides the name and the image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] = Field(default_factory=list)
    mode: Mode = "replicated"
    replicas: int | None = Field(None, ge=0)
    max_concurrent: int | None = Field(None, ge=1)
    env: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    publish: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    endpoint_mode: Literal["vip", "dnsrr"] | None = None
    mounts: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    limit_cpu: str | None = None
    limit_memory: str | None = None
    reserve_cpu: str | None = None
    reserve_memory: str | None = None
    restart_condition: Literal["none", "on-failure", "any"] | None = None
    restart_delay: str | None = None
    restart_max_attempts: int | None = Field(None, ge=0)
    stop_grace_period: str | None = None
    health_cmd: str | None = None
    health_interval: str | None = None
    health_timeout: str | None = None
    health_retries: int | None = Field(None, ge=0)
    update: PolicyOptions = Field(default_factory=PolicyOptions)
    rollback: PolicyOptions = Field(default_factory=PolicyOptions)


def validated(model: type[Model], data: object, what: str) -> Model:
    """``model.model_validate(data)`` (pydantic's lax rules; unknown keys refused).

    Raises InvalidRequest ``invalid WHAT: field: message; ...`` listing every
    problem pydantic found.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or what}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidRequest(f"invalid {what}: {problems}") from None


# --- pieces ----------------------------------------------------------------


def policy_config(
    policy: PolicyOptions, current: dict[str, Any] | None, *, kind: str
) -> dict[str, Any] | None:
    """An UpdateConfig/RollbackConfig: ``current`` (or the defaults) with ``policy`` on top.

    Returns ``current`` unchanged when no flag was given. ``kind`` is
    ``update`` or ``rollback``; a rollback cannot itself fail into a rollback.
    Raises InvalidRequest for a bad duration or that combination.
    """
    if policy.is_empty():
        return copy.deepcopy(current) if current is not None else None
    if kind == "rollback" and policy.failure_action == "rollback":
        raise InvalidRequest("--rollback-failure-action must be pause or continue")
    config = {**DEFAULT_POLICY, **(current or {})}
    if policy.delay is not None:
        config["Delay"] = flags.duration_flag(policy.delay, f"--{kind}-delay")
    if policy.parallelism is not None:
        config["Parallelism"] = policy.parallelism
    if policy.failure_action is not None:
        config["FailureAction"] = policy.failure_action
    if policy.monitor is not None:
        config["Monitor"] = flags.duration_flag(policy.monitor, f"--{kind}-monitor")
    if policy.max_failure_ratio is not None:
        config["MaxFailureRatio"] = policy.max_failure_ratio
    if policy.order is not None:
        config["Order"] = policy.order
    return config


def service_mode(mode: str, replicas: int | None, max_concurrent: int | None) -> dict[str, Any]:
    """The Engine ``Mode`` for ``--mode``/``--replicas``/``--max-concurrent``.

    Raises InvalidRequest when replicas are given for a global mode or
    max-concurrent for anything but a replicated job.
    """
    if max_concurrent is not None and mode != "replicated-job":
        raise InvalidRequest("--max-concurrent only applies to --mode replicated-job")
    if mode == "replicated":
        return {"Replicated": {"Replicas": 1 if replicas is None else replicas}}
    if replicas is not None and mode in ("global", "global-job"):
        raise InvalidRequest(f"--replicas cannot be used with --mode {mode}")
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    total = 1 if replicas is None else replicas
    return {"ReplicatedJob": {"MaxConcurrent": max_concurrent or total, "TotalCompletions": total}}


def _restart_policy(options: ServiceOptions) -> dict[str, Any] | None:
    condition = options.restart_condition
    if options.mode in JOB_MODES:
        # A job that restarts on success would never complete; swarmkit refuses it.
        if condition == "any":
            raise InvalidRequest("job services cannot use --restart-condition any")
        condition = condition or "on-failure"
    policy: dict[str, Any] = {}
    if condition is not None:
        policy["Condition"] = condition
    if options.restart_delay is not None:
        policy["Delay"] = flags.duration_flag(options.restart_delay, "--restart-delay")
    if options.restart_max_attempts is not None:
        policy["MaxAttempts"] = options.restart_max_attempts
    return policy or None


def _resources(options: ServiceOptions) -> dict[str, Any] | None:
    limits: dict[str, int] = {}
    reservations: dict[str, int] = {}
    if options.limit_cpu is not None:
        limits["NanoCPUs"] = flags.cpus_flag(options.limit_cpu, "--limit-cpu")
    if options.limit_memory is not None:
        limits["MemoryBytes"] = flags.memory_flag(options.limit_memory, "--limit-memory")
    if options.reserve_cpu is not None:
        reservations["NanoCPUs"] = flags.cpus_flag(options.reserve_cpu, "--reserve-cpu")
    if options.reserve_memory is not None:
        reservations["MemoryBytes"] = flags.memory_flag(options.reserve_memory, "--reserve-memory")
    resources: dict[str, Any] = {}
    if limits:
        resources["Limits"] = limits
    if reservations:
        resources["Reservations"] = reservations
    return resources or None


def _healthcheck(options: ServiceOptions) -> dict[str, Any] | None:
    if options.health_cmd is None:
        if options.health_interval or options.health_timeout or options.health_retries:
            raise InvalidRequest(
                "--health-interval/--health-timeout/--health-retries need --health-cmd"
            )
        return None
    check: dict[str, Any] = {"Test": ["CMD-SHELL", options.health_cmd]}
    if options.health_interval is not None:
        check["Interval"] = flags.duration_flag(options.health_interval, "--health-interval")
    if options.health_timeout is not None:
        check["Timeout"] = flags.duration_flag(options.health_timeout, "--health-timeout")
    if options.health_retries is not None:
        check["Retries"] = options.health_retries
    return check


def endpoint_spec(endpoint_mode: str | None, ports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Engine ``EndpointSpec``; InvalidRequest for ports swarm would refuse."""
    seen: set[tuple[int, str]] = set()
    for port in ports:
        published = port.get("PublishedPort")
        if published:
            key = (published, port.get("Protocol", "tcp"))
            if key in seen:
                raise InvalidRequest(f"port {published}/{key[1]} is published twice")
            seen.add(key)
        if endpoint_mode == "dnsrr" and port.get("PublishMode", "ingress") == "ingress":
            raise InvalidRequest(
                "--endpoint-mode dnsrr cannot publish ingress ports: use --publish mode=host,..."
            )
    if endpoint_mode is None and not ports:
        return None
    spec: dict[str, Any] = {"Mode": endpoint_mode or "vip"}
    if ports:
        spec["Ports"] = ports
    return spec


# --- the whole spec -------------------------------------------------------


def build_service_spec(
    name: str, image: str, options: ServiceOptions, *, network_ids: list[str] | None = None
) -> dict[str, Any]:
    """The Engine ``ServiceSpec`` for ``service create NAME IMAGE`` with ``options``.

    ``network_ids`` replaces ``options.networks`` (the engine stores network
    IDs, so the caller resolves names first to compare specs reliably).
    Raises InvalidRequest for any invalid value, or replicas above the limit
    (:mod:`sparkswarm.limits`); never touches the engine.
    """
    flags.validate_service_name(name)
    flags.validate_image(image)
    container: dict[str, Any] = {"Image": image}
    if options.command:
        # Like `docker service create IMAGE CMD...`: arguments replace the
        # image's CMD and keep its ENTRYPOINT.
        container["Args"] = list(options.command)
    if options.env:
        container["Env"] = flags.env_list(flags.parse_key_values(options.env, "--env"))
    if options.mounts:
        container["Mounts"] = [flags.parse_mount(mount) for mount in options.mounts]
    if options.stop_grace_period is not None:
        container["StopGracePeriod"] = flags.duration_flag(
            options.stop_grace_period, "--stop-grace-period"
        )
    health = _healthcheck(options)
    if health:
        container["Healthcheck"] = health

    task: dict[str, Any] = {"ContainerSpec": container}
    for key, value in (
        ("RestartPolicy", _restart_policy(options)),
        ("Resources", _resources(options)),
    ):
        if value:
            task[key] = value
    if options.constraints:
        task["Placement"] = {
            "Constraints": [flags.parse_constraint(text) for text in options.constraints]
        }
    networks = options.networks if network_ids is None else network_ids
    if networks:
        task["Networks"] = [{"Target": target} for target in networks]

    spec: dict[str, Any] = {
        "Name": name,
        "Labels": flags.parse_key_values(options.labels, "--label", allow_bare=True),
        "TaskTemplate": task,
        "Mode": service_mode(options.mode, options.replicas, options.max_concurrent),
    }
    limits.check_mode(spec["Mode"], service=name)
    ports = [flags.parse_publish(text) for text in options.publish]
    endpoint = endpoint_spec(options.endpoint_mode, ports)
    if endpoint:
        spec["EndpointSpec"] = endpoint
    update = policy_config(options.update, None, kind="update")
    if update:
        spec["UpdateConfig"] = update
    rollback = policy_config(options.rollback, None, kind="rollback")
    if rollback:
        spec["RollbackConfig"] = rollback
    return spec


# --- comparing specs --------------------------------------------------------

# Values the engine writes into a stored spec that mean the same as absent.
_ENGINE_DEFAULTS: dict[tuple[str, ...], Any] = {
    ("TaskTemplate", "Runtime"): "container",
    ("TaskTemplate", "ContainerSpec", "Isolation"): "default",
    ("EndpointSpec", "Mode"): "vip",
}
# Zero is meaningful here (scaled to 0), so it is never pruned.
_KEEP_ZERO = {("Mode", "Replicated", "Replicas")}


def normalized_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` without empty values, zeros and engine defaults, for comparison."""
    pruned = _prune(spec, ())
    return pruned if isinstance(pruned, dict) else {}


def _prune(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            child = (*path, key)
            pruned = _prune(item, child)
            if _ENGINE_DEFAULTS.get(child, object()) == pruned:
                continue
            if pruned is None and child not in _KEEP_ZERO:
                continue
            result[key] = pruned
        return result or None
    if isinstance(value, list):
        items = [_prune(item, path) for item in value]
        return items or None
    is_zero = isinstance(value, int | float) and value == 0
    if path not in _KEEP_ZERO and (value is None or value == "" or value is False or is_zero):
        return None
    return value


def spec_differences(desired: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted paths where two specs differ once normalized (``TaskTemplate.Runtime``)."""
    return _differences(normalized_spec(desired), normalized_spec(current), "")


def _differences(left: Any, right: Any, path: str) -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right)):
            found.extend(
                _differences(left.get(key), right.get(key), f"{path}.{key}" if path else key)
            )
        return found
    return [] if left == right else [path or "(spec)"]
