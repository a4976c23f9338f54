"""Removing a stack (``stack rm``), and the network removal a failed deploy's
undo shares with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InUse, NotFound
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.stacks.convert import NAMESPACE_LABEL, validate_stack_name
from sparkswarm.stacks.models import StackRemoval
from sparkswarm.waiting import remove_when_free

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def stack_filter(stack: str) -> dict[str, Any]:
    """The Engine filter for objects of ``stack`` (its namespace label)."""
    return {"label": f"{NAMESPACE_LABEL}={stack}"}


def outside_users(services: list[dict[str, Any]], object_ids: set[str], stack: str) -> list[str]:
    """Names of the services outside ``stack`` that use one of its configs,
    secrets or networks (``object_ids``): removing the stack would fail
    half-way on them (a Spark job kept after it ended uses the stack's
    entrypoint config, say)."""
    users = []
    for service in services:
        spec = service["Spec"]
        if (spec.get("Labels") or {}).get(NAMESPACE_LABEL) == stack:
            continue
        task = spec.get("TaskTemplate") or {}
        container = task.get("ContainerSpec") or {}
        used = {c.get("ConfigID") for c in container.get("Configs") or []}
        used |= {s.get("SecretID") for s in container.get("Secrets") or []}
        used |= {n.get("Target") for n in task.get("Networks") or []}
        if used & object_ids:
            users.append(str(spec["Name"]))
    return sorted(users)


def remove_stack(gw: Gateway, *, name: str, progress: ProgressFn = no_progress) -> StackRemoval:
    """Remove the stack's services, networks, secrets and configs (as ``docker stack rm``).

    Raises NotFound when nothing carries the stack's label, InUse (nothing
    removed) when services outside the stack use its configs, secrets or
    networks.
    """
    selector = stack_filter(validate_stack_name(name))
    services = gw.services(filters=selector)
    networks = gw.networks(filters=selector)
    secrets = gw.secrets(filters=selector)
    configs = gw.configs(filters=selector)
    if not (services or networks or secrets or configs):
        raise NotFound(f"nothing found in stack {name!r}")
    ids = {n["Id"] for n in networks} | {o["ID"] for o in [*secrets, *configs]}
    users = outside_users(gw.services(), ids, name)
    if users:
        raise InUse(
            f"stack {name}: its configs, secrets or networks are used by services outside "
            f"it: {', '.join(users)}; remove those first (Spark jobs of a spark stack: "
            f"`sparkswarm spark down --stack {name}` removes them with the stack)"
        )
    for service in services:
        progress(f"removing service {service['Spec']['Name']}", log=True)
        gw.remove_service(service["ID"])
    for secret in secrets:
        gw.remove_secret(secret["ID"])
    for config in configs:
        gw.remove_config(config["ID"])
    return StackRemoval(
        stack=name,
        services=sorted(s["Spec"]["Name"] for s in services),
        networks=[n["Name"] for n in networks if remove_network(gw, n["Id"])],
        secrets=sorted(s["Spec"]["Name"] for s in secrets),
        configs=sorted(c["Spec"]["Name"] for c in configs),
    )


def remove_network(gw: Gateway, network_id: str, timeout: float = 60.0) -> bool:
    """Remove a network once the removed services' tasks have stopped using it.

    False when it was gone already; raises InUse when it stays in use.
    """
    return remove_when_free(
        lambda: gw.remove_network(network_id), busy=InUse, timeout=timeout, interval=1.0
    )
