"""A compose service's ``deploy`` keys and healthcheck -> parts of a swarm ServiceSpec (pure).

Split out of :mod:`.convert`, which assembles the whole spec; each function
here mirrors the docker CLI's converter for one key, so the numbers match
what ``docker stack deploy`` sends. Malformed values raise ValueError, which
the caller turns into an InvalidRequest naming the service.
"""

from __future__ import annotations

from typing import Any

from sparkswarm.units import parse_duration, parse_nano_cpus, parse_ram_bytes


def nanoseconds(value: str | None) -> int | None:
    """Nanoseconds in a Go duration text; None stays None. ValueError if malformed."""
    return None if value is None else parse_duration(value)


def healthcheck_spec(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """``HealthConfig`` from a compose ``healthcheck``; ValueError for test+disable."""
    if check is None:
        return None
    if check.get("disable"):
        if check.get("test"):
            raise ValueError("healthcheck: test and disable can't be set at the same time")
        return {"Test": ["NONE"]}
    return {
        "Test": check.get("test"),
        "Interval": nanoseconds(check.get("interval")) or 0,
        "Timeout": nanoseconds(check.get("timeout")) or 0,
        "Retries": int(check.get("retries") or 0),
        "StartPeriod": nanoseconds(check.get("start_period")) or 0,
        "StartInterval": nanoseconds(check.get("start_interval")) or 0,
    }


def restart_policy(deploy: dict[str, Any], restart: str | None) -> dict[str, Any] | None:
    """``RestartPolicy`` from ``deploy.restart_policy``, else from the plain ``restart`` key."""
    policy = deploy.get("restart_policy")
    if policy is not None:
        return {
            "Condition": policy.get("condition", ""),
            "Delay": nanoseconds(policy.get("delay")),
            "MaxAttempts": policy.get("max_attempts"),
            "Window": nanoseconds(policy.get("window")),
        }
    if not restart or restart == "no":
        return None
    name, _, count = restart.partition(":")
    attempts = int(count) if count else 0
    if name in ("always", "unless-stopped"):
        return {"Condition": "any", "MaxAttempts": attempts or None}
    if name == "on-failure":
        return {"Condition": "on-failure", "MaxAttempts": attempts or None}
    raise ValueError(f"restart: unknown policy {name!r}")


def update_config(source: dict[str, Any] | None) -> dict[str, Any] | None:
    """``UpdateConfig``/``RollbackConfig`` from ``deploy.update_config``/``rollback_config``."""
    if source is None:
        return None
    parallelism = source.get("parallelism")
    return {
        "Parallelism": 1 if parallelism is None else parallelism,
        "Delay": nanoseconds(source.get("delay")) or 0,
        "FailureAction": source.get("failure_action", ""),
        "Monitor": nanoseconds(source.get("monitor")) or 0,
        "MaxFailureRatio": source.get("max_failure_ratio", 0),
        "Order": source.get("order", ""),
    }


def resources_spec(resources: dict[str, Any]) -> dict[str, Any]:
    """``Resources`` (limits, reservations) from ``deploy.resources``."""
    result: dict[str, Any] = {}
    limits = resources.get("limits")
    if limits is not None:
        result["Limits"] = {
            "NanoCPUs": parse_nano_cpus(limits["cpus"]) if limits.get("cpus") else 0,
            "MemoryBytes": parse_ram_bytes(limits["memory"]) if limits.get("memory") else 0,
            "Pids": limits.get("pids", 0),
        }
    reservations = resources.get("reservations")
    if reservations is not None:
        generic = [
            {
                "DiscreteResourceSpec": {
                    "Kind": g["discrete_resource_spec"]["kind"],
                    "Value": g["discrete_resource_spec"]["value"],
                }
            }
            for g in reservations.get("generic_resources") or []
            if g.get("discrete_resource_spec")
        ]
        result["Reservations"] = {
            "NanoCPUs": parse_nano_cpus(reservations["cpus"]) if reservations.get("cpus") else 0,
            "MemoryBytes": (
                parse_ram_bytes(reservations["memory"]) if reservations.get("memory") else 0
            ),
            "GenericResources": generic or None,
        }
    return result


def mode_spec(deploy: dict[str, Any]) -> dict[str, Any]:
    """The ``Mode`` from ``deploy.mode`` and ``deploy.replicas``; ValueError if they clash."""
    mode = deploy.get("mode") or "replicated"
    replicas = deploy.get("replicas")
    if mode in ("global", "global-job") and replicas is not None:
        raise ValueError("deploy.replicas can only be used with replicated or replicated-job mode")
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        return {"ReplicatedJob": {"MaxConcurrent": replicas, "TotalCompletions": replicas}}
    if mode == "replicated":
        return {"Replicated": {"Replicas": replicas}}
    raise ValueError(f"deploy.mode: unknown mode {mode!r}")


def endpoint_spec(deploy: dict[str, Any], ports: list[dict[str, Any]]) -> dict[str, Any]:
    """``EndpointSpec``: ``deploy.endpoint_mode`` and the ports, sorted by published port."""
    configs = [
        {
            "Protocol": p.get("protocol", ""),
            "TargetPort": p.get("target", 0),
            "PublishedPort": p.get("published", 0),
            "PublishMode": p.get("mode", ""),
        }
        for p in ports
    ]
    configs.sort(key=lambda p: p["PublishedPort"])
    return {"Mode": (deploy.get("endpoint_mode") or "").lower(), "Ports": configs}
