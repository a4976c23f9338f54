"""``service update`` flags applied to a service's current spec (pure).

The Engine replaces a service's whole spec on update, so every change is made
to a copy of the current spec, which is then sent back in full with the
current version (see :mod:`sparkswarm.services.ops`).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ConfigDict, Field

from sparkswarm.errors import InvalidRequest
from sparkswarm.model_base import LazyModel
from sparkswarm.services import flags
from sparkswarm.services.replicas import set_replicas
from sparkswarm.services.specs import (
    PolicyOptions,
    endpoint_spec,
    normalized_spec,
    policy_config,
)


class ServiceChanges(LazyModel):
    """What ``service update`` may change; unset fields are left as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str | None = None
    env_add: list[str] = Field(default_factory=list)
    env_rm: list[str] = Field(default_factory=list)
    publish_add: list[str] = Field(default_factory=list)
    publish_rm: list[str] = Field(default_factory=list)
    replicas: int | None = Field(None, ge=0)
    force: bool = False
    update: PolicyOptions = Field(default_factory=PolicyOptions)
    rollback: PolicyOptions = Field(default_factory=PolicyOptions)


def _apply_env(container: dict[str, Any], env_add: list[str], env_rm: list[str]) -> None:
    current = flags.parse_key_values(list(container.get("Env") or []), "env", allow_bare=True)
    for key in env_rm:
        current.pop(key.partition("=")[0].strip(), None)
    current.update(flags.parse_key_values(env_add, "--env-add"))
    container["Env"] = flags.env_list(current)


def _apply_ports(spec: dict[str, Any], publish_add: list[str], publish_rm: list[str]) -> None:
    endpoint = dict(spec.get("EndpointSpec") or {})
    ports: list[dict[str, Any]] = list(endpoint.get("Ports") or [])
    for removal in publish_rm:
        removed = flags.ports_to_remove(ports, removal)
        ports = [port for port in ports if port not in removed]
    for text in publish_add:
        new = flags.parse_publish(text)
        # Re-adding a published port replaces its old mapping, as the docker CLI does.
        ports = [
            port
            for port in ports
            if not (
                (
                    new.get("PublishedPort")
                    and port.get("PublishedPort") == new["PublishedPort"]
                    and port.get("Protocol", "tcp") == new["Protocol"]
                )
                or port == new
            )
        ]
        ports.append(new)
    checked = endpoint_spec(endpoint.get("Mode"), ports) or {}
    endpoint["Ports"] = checked.get("Ports", [])
    spec["EndpointSpec"] = endpoint


def apply_changes(spec: dict[str, Any], changes: ServiceChanges) -> dict[str, Any]:
    """A copy of ``spec`` (a stored ServiceSpec) with ``changes`` made.

    Raises InvalidRequest for an invalid value, replicas on a non-replicated
    service, or an env/publish change that the engine would refuse.
    """
    # Checked before anything is applied: a bad removal must not pass as "nothing to remove".
    for removal in changes.publish_rm:
        flags.validate_port_removal(removal)
    for key in changes.env_rm:
        if not key.partition("=")[0].strip():
            raise InvalidRequest(f"invalid --env-rm {key!r}: give a variable name")
    changed = copy.deepcopy(spec)
    task = changed.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    if changes.image is not None:
        container["Image"] = flags.validate_image(changes.image)
    if changes.env_add or changes.env_rm:
        _apply_env(container, changes.env_add, changes.env_rm)
    if changes.publish_add or changes.publish_rm:
        _apply_ports(changed, changes.publish_add, changes.publish_rm)
    if changes.replicas is not None:
        changed = set_replicas(changed, changes.replicas)
        task = changed["TaskTemplate"]
    if changes.force:
        # The engine redeploys every task when ForceUpdate changes.
        task["ForceUpdate"] = int(task.get("ForceUpdate") or 0) + 1
    for key, policy, kind in (
        ("UpdateConfig", changes.update, "update"),
        ("RollbackConfig", changes.rollback, "rollback"),
    ):
        config = policy_config(policy, changed.get(key), kind=kind)
        if config is not None:
            changed[key] = config
    return changed


def unmatched_port_removals(spec: dict[str, Any], publish_rm: list[str]) -> list[str]:
    """One sentence per ``--publish-rm`` value that matches no port of ``spec``.

    Not an error: a second run of the same update finds the port gone
    already, and must not fail for it. The caller reports these.
    """
    ports: list[dict[str, Any]] = list((spec.get("EndpointSpec") or {}).get("Ports") or [])
    return [
        f"--publish-rm {removal} matches no port of {spec.get('Name')} "
        f"(its ports: {flags.describe_ports(ports)})"
        for removal in publish_rm
        if not flags.ports_to_remove(ports, removal)
    ]


def rollout_expected(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether going from spec ``before`` to ``after`` replaces tasks (a rolling update).

    swarmkit redeploys a task when the task template or the endpoint spec
    differs from the one it was created with; replicas, labels and policies
    alone change no task.
    """
    for key in ("TaskTemplate", "EndpointSpec"):
        if normalized_spec({key: before.get(key)}) != normalized_spec({key: after.get(key)}):
            return True
    return False
