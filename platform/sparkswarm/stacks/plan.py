"""Desired stack vs what runs -> what to create, update, leave or remove (pure).

The engine stores a service spec with its own defaults filled in (restart
policy, update/rollback config, VIP endpoint mode, ...), network targets as
IDs and secret/config references with IDs. :func:`canonical_spec` brings a
desired spec and an inspected one to the same shape so that an unchanged
file plans no update at all.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sparkswarm.stacks.convert import IMAGE_LABEL, DesiredStack

SECOND = 1_000_000_000
_DEFAULT_UPDATE = {
    "Parallelism": 1,
    "FailureAction": "pause",
    "Monitor": 5 * SECOND,
    "Order": "stop-first",
}
_DEFAULT_RESTART = {"Condition": "any", "Delay": 5 * SECOND}


@dataclass
class ServiceChange:
    """One service's fate: ``create``, ``update``, ``unchanged`` or ``remove``."""

    name: str
    action: str
    changes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """All service changes of a deployment, by short service name."""

    services: list[ServiceChange] = field(default_factory=list)

    def by_action(self, action: str) -> list[str]:
        """Names of the services planned for ``action``."""
        return [s.name for s in self.services if s.action == action]

    def to_json(self) -> list[dict[str, Any]]:
        """Rows for display / results."""
        return [
            {"service": s.name, "action": s.action, "changes": s.changes} for s in self.services
        ]


def _strip_zero(value: Any) -> Any:
    """Drop None/""/0/False/[]/{} recursively: Go's omitempty makes them absent."""
    if isinstance(value, dict):
        stripped = {k: _strip_zero(v) for k, v in value.items()}
        return {k: v for k, v in stripped.items() if v not in (None, "", 0, False, [], {})}
    if isinstance(value, list):
        return [_strip_zero(v) for v in value]
    return value


def _with_defaults(config: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    result = dict(defaults)
    for key, value in (config or {}).items():
        if value not in (None, "", 0):
            result[key] = value
    return result


def canonical_spec(spec: dict[str, Any], network_names: dict[str, str] | None = None) -> Any:
    """``spec`` (desired or inspected) in a comparable form.

    ``network_names`` maps network IDs to names (inspected specs hold IDs).
    """
    spec = copy.deepcopy(spec)
    names = network_names or {}
    labels = spec.get("Labels") or {}
    task = spec.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    # The CLI keeps a resolved image (with digest) while the label is unchanged.
    if labels.get(IMAGE_LABEL):
        container["Image"] = labels[IMAGE_LABEL]
    container.setdefault("Isolation", "default")
    if not container.get("Isolation"):
        container["Isolation"] = "default"
    for kind in ("Secret", "Config"):
        refs = container.get(f"{kind}s") or []
        for ref in refs:
            ref.pop(f"{kind}ID", None)
        # Same-name references come in random order from the CLI.
        refs.sort(key=lambda r: (r.get(f"{kind}Name", ""), (r.get("File") or {}).get("Name", "")))
    for attachment in task.get("Networks") or []:
        attachment["Target"] = names.get(attachment.get("Target", ""), attachment.get("Target"))
    task["Networks"] = sorted(task.get("Networks") or [], key=lambda a: a.get("Target", ""))
    task.pop("ForceUpdate", None)
    task.pop("Runtime", None)
    task["RestartPolicy"] = _with_defaults(task.get("RestartPolicy"), _DEFAULT_RESTART)
    mode = spec.get("Mode") or {"Replicated": {}}
    if "Replicated" in mode:
        replicas = (mode["Replicated"] or {}).get("Replicas")
        mode = {"Replicated": {"Replicas": 1 if replicas is None else replicas}}
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"] or {}
        concurrent = job.get("MaxConcurrent") or 1
        mode = {
            "ReplicatedJob": {
                "MaxConcurrent": concurrent,
                "TotalCompletions": job.get("TotalCompletions") or concurrent,
            }
        }
    spec["Mode"] = mode
    is_job = "ReplicatedJob" in mode or "GlobalJob" in mode
    for key in ("UpdateConfig", "RollbackConfig"):
        spec[key] = None if is_job else _with_defaults(spec.get(key), _DEFAULT_UPDATE)
    endpoint = spec.get("EndpointSpec") or {}
    ports = [
        {
            **port,
            "Protocol": port.get("Protocol") or "tcp",
            "PublishMode": port.get("PublishMode") or "ingress",
        }
        for port in endpoint.get("Ports") or []
    ]
    # Both deployers sort ports by published port only. Ties (several ports
    # with the same published number, e.g. unpublished ones) keep file order
    # with us, but come in the docker CLI's unstable-sort order beyond 12
    # ports: the order of ties is no change, so compare them fully sorted.
    ports.sort(key=lambda p: tuple(str(p.get(k, "")) for k in sorted(p)))
    ports.sort(key=lambda p: int(p.get("PublishedPort") or 0))
    spec["EndpointSpec"] = {"Mode": endpoint.get("Mode") or "vip", "Ports": ports}
    return _strip_zero(spec)


def differences(desired: Any, current: Any, path: str = "") -> list[str]:
    """Dotted paths where two canonical specs differ."""
    if isinstance(desired, dict) and isinstance(current, dict):
        found: list[str] = []
        for key in sorted(set(desired) | set(current)):
            found += differences(
                desired.get(key), current.get(key), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(desired, list) and isinstance(current, list) and len(desired) == len(current):
        found = []
        for index, (a, b) in enumerate(zip(desired, current, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if desired == current else [path or "(spec)"]


def plan_services(
    desired: DesiredStack,
    current: dict[str, dict[str, Any]],
    network_names: dict[str, str],
    *,
    prune: bool,
) -> Plan:
    """The plan for ``desired`` against ``current`` (inspected services by full name).

    Services of the stack that left the file are removed only with ``prune``.
    """
    plan = Plan()
    wanted = set()
    for short, spec in sorted(desired.services.items()):
        wanted.add(spec["Name"])
        existing = current.get(spec["Name"])
        if existing is None:
            plan.services.append(ServiceChange(short, "create"))
            continue
        changed = differences(canonical_spec(spec), canonical_spec(existing["Spec"], network_names))
        plan.services.append(ServiceChange(short, "update" if changed else "unchanged", changed))
    prefix = f"{desired.name}_"
    for full in sorted(set(current) - wanted):
        short = full[len(prefix) :] if full.startswith(prefix) else full
        plan.services.append(
            ServiceChange(
                short,
                "remove" if prune else "unchanged",
                [] if prune else ["not in the file (use --prune)"],
            )
        )
    return plan
