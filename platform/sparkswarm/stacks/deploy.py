"""Stack operations against the engine: deploy, diff, remove, roll back.

Registered in :mod:`sparkswarm.operations` as ``stack.deploy``, ``stack.rm``
and ``stack.rollback`` (serialised per stack name). The order is the CLI's:
networks, secrets, configs, then services; but only services whose spec
changed are updated, and every check that can fail (external networks exist,
config contents unchanged) runs before anything is changed.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from sparkswarm import limits
from sparkswarm.errors import Conflict, InvalidRequest, NotFound, SparkswarmError
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.retry import update_with_retry
from sparkswarm.stacks.convert import (
    DesiredStack,
    translate,
    validate_stack_name,
)
from sparkswarm.stacks.models import (
    PlannedObject,
    StackResult,
    StackServiceChange,
)
from sparkswarm.stacks.plan import Plan, plan_services
from sparkswarm.stacks.removal import remove_network, stack_filter
from sparkswarm.stacks.snapshots import list_snapshots, read_snapshot, save_snapshot
from sparkswarm.stacks.source import load_stack_source

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway


def stack_services(gw: Gateway, stack: str) -> dict[str, dict[str, Any]]:
    """The stack's services (inspected), by full name."""
    return {s["Spec"]["Name"]: s for s in gw.services(filters=stack_filter(stack))}


def _network_names(gw: Gateway, services: Iterable[JSON] = ()) -> dict[str, str]:
    """Network ID -> name, for the networks the listing shows and those ``services`` use.

    A service on ``bridge`` or ``host`` stores the swarm-scoped ID of that
    network, which the network listing (local IDs) does not show; without
    it the plan would see a changed network on every redeploy.
    """
    names = {n["Id"]: n["Name"] for n in gw.networks()}
    for service in services:
        for attachment in service["Spec"].get("TaskTemplate", {}).get("Networks") or []:
            target = attachment.get("Target")
            if target and target not in names:
                try:
                    names[target] = gw.inspect_network(target)["Name"]
                except NotFound:
                    continue
    return names


def desired_from_params(
    name: str,
    files: list[dict[str, str]],
    working_dir: str,
    env: dict[str, str],
    attachments: dict[str, str],
) -> tuple[DesiredStack, list[str]]:
    """Load and translate a stack from operation params; returns it and the warnings."""
    validate_stack_name(name)
    loaded = load_stack_source(files, working_dir, env, attachments)
    return translate(name, loaded.model), loaded.warnings


def plan_stack(gw: Gateway, desired: DesiredStack, *, prune: bool) -> Plan:
    """What deploying ``desired`` would do to the services (no change made)."""
    current = stack_services(gw, desired.name)
    return plan_services(desired, current, _network_names(gw, current.values()), prune=prune)


def _referenced(desired: DesiredStack, kind: str) -> set[str]:
    names = set()
    for spec in desired.services.values():
        for ref in spec["TaskTemplate"]["ContainerSpec"].get(f"{kind}s") or []:
            names.add(ref[f"{kind}Name"])
    return names


def _find_id(gw: Gateway, kind: str, name: str) -> str | None:
    """The ID of the secret or config called exactly ``name`` (the filter matches prefixes)."""
    listing = gw.secrets if kind == "Secret" else gw.configs
    match = [o for o in listing(filters={"name": name}) if o["Spec"]["Name"] == name]
    return str(match[0]["ID"]) if match else None


def plan_objects(gw: Gateway, desired: DesiredStack) -> list[PlannedObject]:
    """The networks, secrets and configs that deploying would create."""
    rows = []
    networks = {n["Name"] for n in gw.networks(filters=stack_filter(desired.name))}
    for name in desired.networks:
        if name not in networks:
            rows.append(PlannedObject(object=f"network {name}"))
    for kind, objects in (("Secret", desired.secrets), ("Config", desired.configs)):
        for name in objects:
            if _find_id(gw, kind, name) is None:
                rows.append(PlannedObject(object=f"{kind.lower()} {name}"))
    return rows


def _check_before_changing(gw: Gateway, desired: DesiredStack) -> dict[str, str]:
    """Refuse before any change; returns the IDs of external secrets/configs."""
    from sparkswarm.services.admission import admit_reservations

    # Again here, not only in translate: a rollback deploys a stored snapshot.
    limits.check_services(
        desired.name, {spec["Name"]: spec["Mode"] for spec in desired.services.values()}
    )
    admit_reservations(gw, {spec["Name"]: spec for spec in desired.services.values()})
    external_ids: dict[str, str] = {}
    for kind, ours in (("Secret", desired.secrets), ("Config", desired.configs)):
        for name in sorted(_referenced(desired, kind) - set(ours)):
            found = _find_id(gw, kind, name)
            if found is None:
                raise InvalidRequest(
                    f"{kind.lower()} {name!r} is declared as external, but could not be found"
                )
            external_ids[name] = found
    for network in desired.external_networks:
        if network in ("bridge", "host", "none"):
            continue
        try:
            scope = gw.inspect_network(network).get("Scope")
        except NotFound:
            raise InvalidRequest(
                f"network {network!r} is declared as external, but could not be found; "
                "create a swarm-scoped network before the stack is deployed"
            ) from None
        if scope != "swarm":
            raise InvalidRequest(f"external network {network!r} is not swarm-scoped")
    for name, spec in desired.configs.items():
        try:
            current = gw.inspect_config(name)
        except NotFound:
            continue
        if base64.b64decode(current["Spec"].get("Data") or "") != base64.b64decode(spec["Data"]):
            raise Conflict(
                f"config {name!r} exists with other contents and swarm configs cannot change; "
                "give the new contents a new config name"
            )
    return external_ids


def _create_objects(
    gw: Gateway, desired: DesiredStack, progress: ProgressFn, created: list[tuple[str, str]]
) -> dict[str, str]:
    """Create the missing networks, secrets and configs; their IDs by name.
    Each object created is appended to ``created`` as (kind, ID) at once, so a
    failure half-way can still undo what this attempt made."""
    existing = {n["Name"] for n in gw.networks(filters=stack_filter(desired.name))}
    for name, options in desired.networks.items():
        if name not in existing:
            progress(f"creating network {name}", log=True)
            created.append(("network", gw.create_network(name, check_duplicate=True, **options)))
    ids: dict[str, str] = {}
    for name, spec in desired.secrets.items():
        found = _find_id(gw, "Secret", name)
        if found is not None:
            ids[name] = found
            continue
        if not spec["Data"] and not spec.get("Driver"):
            raise NotFound(f"secret {name!r} no longer exists; deploy the stack from its files")
        progress(f"creating secret {name}", log=True)
        ids[name] = gw.create_secret(
            name, base64.b64decode(spec["Data"]), labels=spec["Labels"], driver=spec.get("Driver")
        )
        created.append(("secret", ids[name]))
    for name, spec in desired.configs.items():
        found = _find_id(gw, "Config", name)
        if found is not None:
            ids[name] = found
            continue
        progress(f"creating config {name}", log=True)
        ids[name] = gw.create_config(
            name,
            base64.b64decode(spec["Data"]),
            labels=spec["Labels"],
            templating=spec.get("Templating"),
        )
        created.append(("config", ids[name]))
    return ids


def _undo_created(gw: Gateway, created: list[tuple[str, str]], progress: ProgressFn) -> None:
    """Remove what a failed deploy attempt created, newest first (services,
    then configs and secrets, then networks once the services' tasks let go
    of them). Best effort: the deploy's own error is the one reported."""
    remove = {
        "service": gw.remove_service,
        "secret": gw.remove_secret,
        "config": gw.remove_config,
    }
    for kind, object_id in reversed(created):
        progress(f"deploy failed: removing the {kind} it created", log=True)
        with contextlib.suppress(SparkswarmError):
            if kind == "network":
                remove_network(gw, object_id, timeout=30.0)
            else:
                with contextlib.suppress(NotFound):
                    remove[kind](object_id)


def _with_ids(desired_spec: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A copy of ``desired_spec`` with secret/config IDs filled in. A copy: the
    desired stack itself stays ID-free, so its snapshot compares equal to the
    next deploy's (IDs change whenever an object is re-created)."""
    spec = copy.deepcopy(desired_spec)
    container = spec["TaskTemplate"]["ContainerSpec"]
    for ref in container.get("Secrets") or []:
        ref["SecretID"] = ids.get(ref["SecretName"], "")
    for ref in container.get("Configs") or []:
        ref["ConfigID"] = ids.get(ref["ConfigName"], "")
    return spec


_RESULTS: dict[str, Literal["created", "updated", "unchanged", "removed"]] = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "remove": "removed",
}
_SPEC_KEYS = ("Name", "Labels", "TaskTemplate", "Mode", "UpdateConfig", "RollbackConfig")


def _service_spec(spec: JSON) -> JSON:
    """The ServiceSpec to send for a desired service."""
    return {**{key: spec[key] for key in _SPEC_KEYS}, "EndpointSpec": spec["EndpointSpec"]}


def _update_service(gw: Gateway, full: str, spec: JSON) -> str:
    def send(current: JSON) -> str:
        task = dict(spec["TaskTemplate"])
        # As the CLI: keep the forced-update counter, and keep a resolved image
        # while the compose file's image is unchanged.
        task["ForceUpdate"] = current["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
        if spec["Labels"].get("com.docker.stack.image") == current["Spec"]["Labels"].get(
            "com.docker.stack.image"
        ):
            task["ContainerSpec"] = {
                **task["ContainerSpec"],
                "Image": current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"],
            }
        new = {**_service_spec(spec), "TaskTemplate": task}
        gw.update_service(current["ID"], current["Version"]["Index"], new)
        return str(current["ID"])

    return update_with_retry(lambda: gw.inspect_service(full), send)


@contextmanager
def _naming(service: str) -> Iterator[None]:
    """Prefix an engine refusal with the service it was about (same error class)."""
    try:
        yield
    except SparkswarmError as exc:
        if service in str(exc):
            raise
        raise type(exc)(f"service {service}: {exc}") from exc


def apply_stack(
    gw: Gateway,
    desired: DesiredStack,
    *,
    prune: bool,
    detach: bool,
    progress: ProgressFn,
    timeout: float = 300.0,
) -> StackResult:
    """Make the swarm match ``desired``; returns the per-service report."""
    external_ids = _check_before_changing(gw, desired)
    created: list[tuple[str, str]] = []
    touched: list[tuple[str, str]] = []  # (service ID, full name) created or updated
    try:
        ids = {**external_ids, **_create_objects(gw, desired, progress, created)}
        plan = plan_stack(gw, desired, prune=prune)
        for change in plan.services:
            spec = desired.services.get(change.name)
            full = spec["Name"] if spec else f"{desired.name}_{change.name}"
            with _naming(full):
                if change.action == "create" and spec:
                    progress(f"creating service {full}", log=True)
                    service_id = gw.create_service(_service_spec(_with_ids(spec, ids)))
                    created.append(("service", service_id))
                    touched.append((service_id, full))
                elif change.action == "update" and spec:
                    progress(f"updating service {full} ({', '.join(change.changes[:3])})", log=True)
                    service_id = _update_service(gw, full, _with_ids(spec, ids))
                    touched.append((service_id, full))
                elif change.action == "remove":
                    progress(f"removing service {full}", log=True)
                    gw.remove_service(full)
    except SparkswarmError:
        # What this attempt created goes again (services it updated stay
        # updated: the stack's snapshot rollback is the way back for those).
        _undo_created(gw, created, progress)
        raise
    snapshot = save_snapshot(gw, desired)
    if touched and not detach:
        # The task watcher loads only here: a detached deploy and `stack diff` follow nothing.
        from sparkswarm.services.rolling import TaskWatcher, wait_for_services

        watchers = [TaskWatcher(gw, sid, full, no_progress) for sid, full in touched]
        wait_for_services(gw, watchers, timeout=timeout, strict=True, summary=progress)
    return StackResult(
        stack=desired.name,
        services=[
            StackServiceChange(service=c.name, result=_RESULTS[c.action], changes=c.changes)
            for c in plan.services
        ],
        snapshot=snapshot,
        waited=bool(touched and not detach),
    )


def deploy_stack(
    gw: Gateway,
    *,
    name: str,
    files: list[dict[str, str]],
    working_dir: str,
    env: dict[str, str] | None = None,
    attachments: dict[str, str] | None = None,
    prune: bool = False,
    detach: bool = False,
    generated_secrets: list[dict[str, Any]] | None = None,
    progress: ProgressFn = no_progress,
) -> StackResult:
    """Deploy compose ``files`` (texts, as read by the CLI) as stack ``name``.

    ``generated_secrets`` (``[{name, bytes}]``) are external secrets created
    with random content when missing. Raises InvalidRequest for a bad file,
    Conflict for a changed config, OperationFailed when services do not converge.
    """
    desired, warnings = desired_from_params(name, files, working_dir, env or {}, attachments or {})
    for warning in warnings:
        progress(f"warning: {warning}", log=True)
    for generated in generated_secrets or []:
        _ensure_random_secret(gw, generated["name"], int(generated.get("bytes", 32)), progress)
    result = apply_stack(gw, desired, prune=prune, detach=detach, progress=progress)
    return dataclasses.replace(result, warnings=warnings)


def _ensure_random_secret(gw: Gateway, name: str, size: int, progress: ProgressFn) -> None:
    import secrets

    if _find_id(gw, "Secret", name) is not None:
        return
    progress(f"creating secret {name} with random content", log=True)
    gw.create_secret(
        name, secrets.token_hex(size).encode(), labels={"io.sparkswarm.generated": "true"}
    )


def rollback_stack(
    gw: Gateway, *, name: str, detach: bool = False, progress: ProgressFn = no_progress
) -> StackResult:
    """Deploy the stack's previous snapshot (a second rollback goes forward again).

    Raises NotFound when fewer than two versions were deployed by sparkswarm.
    """
    snapshots = list_snapshots(gw, validate_stack_name(name))
    if len(snapshots) < 2:
        raise NotFound(f"stack {name!r} has no previous deployed version to roll back to")
    previous = read_snapshot(gw, snapshots[-2])
    progress(f"rolling back {name} to snapshot {snapshots[-2]['seq']}", log=True)
    result = apply_stack(gw, previous, prune=True, detach=detach, progress=progress)
    return dataclasses.replace(result, rolled_back_to=snapshots[-2]["seq"])
