"""Service operations that change a swarm: create, update, rollback, remove.
Keyword-only, typed, safe to run twice; all I/O through the gateway. (Scaling
is :mod:`sparkswarm.services.scale`; reads are :mod:`~sparkswarm.services.queries`
and :mod:`~sparkswarm.services.logs`.)

Conventions:

- Images are used as given, never resolved against a registry (the docker
  CLI's ``--no-resolve-image``): images here are built locally.
- Every update resends the service's whole current spec with its current
  version (the engine replaces the spec), and is made again on a fresh read
  when the engine answers "update out of sequence" (:mod:`sparkswarm.retry`).
- ``create_service`` on an existing service: the same spec is a no-op
  (outcome ``unchanged``); a different spec raises Conflict and changes
  nothing. Changing a service is ``update_service``'s job, so a create can
  never start a rolling update by surprise.
- A rolling update whose outcome is paused or rolled back raises
  OperationFailed (the CLI exits 1) with a message that names the outcome and
  the failing task's error.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import Conflict, InvalidRequest, NotFound, OperationFailed
from sparkswarm.limits import check_wait
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.retry import update_with_retry
from sparkswarm.services import flags
from sparkswarm.services.admission import admit_replicas, admit_reservations
from sparkswarm.services.models import Outcome, RemoveResult, ServiceOutcome
from sparkswarm.services.modes import JOB_MODES, mode_name
from sparkswarm.services.queries import find_service, resolve_service

if TYPE_CHECKING:
    from sparkswarm.gateway import JSON, Gateway
    from sparkswarm.services.changes import ServiceChanges
    from sparkswarm.services.rolling import TaskWatcher, UpdateEnd
    from sparkswarm.services.specs import ServiceOptions

DEFAULT_TIMEOUT = 300.0


# --- looking services up ----------------------------------------------------


def _network_ids(gw: Gateway, networks: list[str]) -> list[str]:
    ids = []
    for network in networks:
        try:
            ids.append(str(gw.inspect_network(network)["Id"]))
        except NotFound:
            raise NotFound(f"network {network!r} not found") from None
    return ids


def replicas_of(spec: dict[str, Any]) -> int | None:
    """The replica count of a replicated service's spec; None for other modes."""
    replicated = (spec.get("Mode") or {}).get("Replicated")
    return int(replicated.get("Replicas", 1)) if replicated is not None else None


def image_of(spec: dict[str, Any]) -> str:
    """The image a service spec runs."""
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def spec_outcome(
    name: str, service_id: str, spec: dict[str, Any], outcome: Outcome
) -> ServiceOutcome:
    """The ``outcome`` of an operation that leaves service ``name`` at
    ``spec``: its image and replicas; changed unless ``unchanged``."""
    return ServiceOutcome(
        service=name,
        id=service_id,
        changed=outcome != "unchanged",
        outcome=outcome,
        image=image_of(spec),
        desired=replicas_of(spec),
    )


def unchanged_outcome(name: str, service: dict[str, Any]) -> ServiceOutcome:
    """The outcome of an operation that found ``service`` as asked: nothing sent."""
    return spec_outcome(name, service["ID"], service["Spec"], "unchanged")


# --- create -------------------------------------------------------------------


def create_service(
    gw: Gateway,
    *,
    name: str,
    image: str,
    detach: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: ProgressFn = no_progress,
    **options: Any,
) -> ServiceOutcome:
    """Create service ``name`` from ``image`` with ``options`` (see ServiceOptions).

    Waits until its tasks run (jobs: until they complete) unless ``detach``.
    An existing service with the same spec is left alone (``unchanged``).
    Raises InvalidRequest for bad options, NotFound for an unknown network,
    Conflict when the name exists with a different spec, OperationFailed when
    the service does not converge (or the job fails) within ``timeout`` s.
    """
    # The options' pydantic models load here, not for remove, scale or rollback.
    from sparkswarm.services.specs import (
        ServiceOptions,
        build_service_spec,
        spec_differences,
        validated,
    )

    started = time.monotonic()
    check_wait(timeout)
    opts: ServiceOptions = validated(ServiceOptions, options, "service options")
    build_service_spec(name, image, opts)  # validate everything before any lookup
    spec = build_service_spec(name, image, opts, network_ids=_network_ids(gw, opts.networks))
    existing = find_service(gw, name)
    if existing is None:
        admit_reservations(gw, {name: spec})
        try:
            service_id = gw.create_service(spec)
        except Conflict:
            # Someone created it between our look and our create: compare below.
            existing = find_service(gw, name)
            if existing is None:
                raise
        else:
            progress(f"created service {name} ({service_id[:12]})", service=name, log=True)
            return _await_new_service(
                gw,
                name,
                service_id,
                spec,
                detach=detach,
                timeout=timeout,
                progress=progress,
                started=started,
            )
    differences = spec_differences(spec, existing["Spec"])
    if differences:
        raise Conflict(
            f"service {name} exists with a different spec ({', '.join(differences)}); "
            "use `service update` to change it or `service rm` first"
        )
    progress(f"service {name} exists with the same spec", service=name)
    return replace(
        unchanged_outcome(name, existing), elapsed_s=round(time.monotonic() - started, 3)
    )


def _await_new_service(
    gw: Gateway,
    name: str,
    service_id: str,
    spec: dict[str, Any],
    *,
    detach: bool,
    timeout: float,
    progress: ProgressFn,
    started: float,
) -> ServiceOutcome:
    result = spec_outcome(name, service_id, spec, "created")
    if detach:
        return result
    # Following tasks loads here: a detached create needs none of it.
    from sparkswarm.services.rolling import TaskWatcher, wait_for_job, wait_for_services

    watcher = TaskWatcher(gw, service_id, name, progress)
    if mode_name(spec["Mode"]) in JOB_MODES:
        done, wanted = wait_for_job(gw, watcher, timeout=timeout)
    else:
        end = wait_for_services(gw, [watcher], timeout=timeout)[service_id]
        done, wanted = end.running, end.wanted
    return replace(
        result, running=done, desired=wanted, elapsed_s=round(time.monotonic() - started, 3)
    )


# --- update, scale, rollback -----------------------------------------------------


def update_service(
    gw: Gateway,
    *,
    name: str,
    detach: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: ProgressFn = no_progress,
    **changes: Any,
) -> ServiceOutcome:
    """Change service ``name`` (see ServiceChanges) and follow the rolling update.

    Nothing is sent when the change makes no difference (``unchanged``).
    Returns outcome ``completed`` (or ``detached``). Raises InvalidRequest for
    bad changes, NotFound for an unknown service, Conflict when the update
    stays out of sequence after retries, OperationFailed when the update ends
    paused or rolled back (the message says which, and why).
    """
    from sparkswarm.services.changes import (
        ServiceChanges,
        apply_changes,
        rollout_expected,
        unmatched_port_removals,
    )
    from sparkswarm.services.specs import spec_differences, validated

    started = time.monotonic()
    check_wait(timeout)
    wanted: ServiceChanges = validated(ServiceChanges, changes, "service update")
    if wanted.replicas is not None:
        admit_replicas(gw, {name: wanted.replicas})

    def change(service: JSON) -> tuple[JSON, JSON, bool, TaskWatcher | None]:
        after = apply_changes(service["Spec"], wanted)
        for unmatched in unmatched_port_removals(service["Spec"], wanted.publish_rm):
            progress(unmatched, service=name, log=True)
        if not spec_differences(after, service["Spec"]):
            return service, after, False, None
        watcher = None
        if not detach:  # the tasks before the update, to tell the new ones when following
            from sparkswarm.services.rolling import TaskWatcher  # a detached update follows none

            watcher = TaskWatcher(gw, service["ID"], name, progress)
            watcher.baseline()
        gw.update_service(service["ID"], service["Version"]["Index"], after)
        return service, after, True, watcher

    service, after, changed, watcher = update_with_retry(lambda: resolve_service(gw, name), change)
    before = service["Spec"]
    if not changed:
        unchanged = unchanged_outcome(name, service)
        if detach:
            progress(f"service {name} already as requested", service=name)
            return unchanged
        from sparkswarm.services.rolling import (
            TaskWatcher,
            rollout_pending,
            update_in_progress,
            wait_for_update,
        )

        if not (update_in_progress(service) or rollout_pending(gw, service)):
            progress(f"service {name} already as requested", service=name)
            return unchanged
        # The spec was sent already (by an earlier delivery of this very
        # operation, whose worker died) and the rollout is still going:
        # follow it to its real end instead of reporting success early.
        progress(f"service {name} already as requested; following its update", service=name)
        watcher = TaskWatcher(gw, service["ID"], name, progress)
        end = wait_for_update(gw, watcher, timeout=timeout, expect_rollout=True)
        return _finished(unchanged, end, started, rollback=False)
    progress(f"update of {name} accepted", service=name, log=True)
    result = spec_outcome(name, service["ID"], after, "detached")
    if watcher is None:  # detached
        return result
    from sparkswarm.services.rolling import wait_for_update

    end = wait_for_update(
        gw, watcher, timeout=timeout, expect_rollout=rollout_expected(before, after)
    )
    return _finished(result, end, started, rollback=False)


def _finished(
    result: ServiceOutcome, end: UpdateEnd, started: float, *, rollback: bool
) -> ServiceOutcome:
    name = result.service
    why = f": {end.message}" if end.message else ""
    error = f"; task error: {end.task_error}" if end.task_error else ""
    if end.state == "paused":
        raise OperationFailed(f"update of service {name} paused{why}{error}")
    if end.state == "rollback_paused":
        raise OperationFailed(f"rollback of service {name} paused{why}{error}")
    if end.state == "rollback_completed" and end.running < end.desired:
        what = "update of service {name} failed and was" if not rollback else "service {name} was"
        raise OperationFailed(
            f"{what.format(name=name)} rolled back, {end.running} of {end.desired} tasks "
            f"running{why}{error}"
        )
    if end.state == "rollback_completed" and not rollback:
        raise OperationFailed(f"update of service {name} failed and was rolled back{why}{error}")
    outcome: Outcome = "rolled_back" if end.state == "rollback_completed" else "completed"
    return replace(
        result,
        outcome=outcome,
        message=end.message,
        task_error=end.task_error,
        running=end.running,
        desired=end.desired,
        elapsed_s=round(time.monotonic() - started, 3),
    )


def rollback_service(
    gw: Gateway,
    *,
    name: str,
    detach: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: ProgressFn = no_progress,
) -> ServiceOutcome:
    """Go back to the service's previous spec (the engine keeps one) and follow it.

    Safe to run twice: when the last change was already a rollback (manual
    or automatic) nothing is sent and the outcome is ``unchanged``. Raises
    NotFound for an unknown service, InvalidRequest when there is no previous
    spec, OperationFailed when the rollback pauses.
    """
    from sparkswarm.services.rolling import TaskWatcher, wait_for_update

    started = time.monotonic()
    check_wait(timeout)

    def start(service: JSON) -> tuple[ServiceOutcome, TaskWatcher | None]:
        status = (service.get("UpdateStatus") or {}).get("State")
        result = unchanged_outcome(name, service)
        if status == "rollback_completed":
            progress(f"service {name} is already rolled back", service=name)
            return result, None
        watcher = TaskWatcher(gw, service["ID"], name, progress)
        if status != "rollback_started":
            if not service.get("PreviousSpec"):
                raise InvalidRequest(f"service {name} has no previous spec to roll back to")
            watcher.baseline()
            gw.update_service(
                service["ID"], service["Version"]["Index"], service["Spec"], rollback=True
            )
            progress(f"rollback of {name} started", service=name, log=True)
            result = spec_outcome(name, service["ID"], service["PreviousSpec"], "detached")
        return result, watcher

    # An update under way moves the service's version on: read it again and retry.
    result, watcher = update_with_retry(lambda: resolve_service(gw, name), start)
    if watcher is None or detach:
        return result
    end = wait_for_update(gw, watcher, timeout=timeout, expect_rollout=True)
    return _finished(result, end, started, rollback=True)


# --- remove ---------------------------------------------------------------------


def _by_full_id(gw: Gateway, service_id: str) -> dict[str, Any] | None:
    # Only a complete ID: removing by an ID prefix could hit the wrong service.
    try:
        service = gw.inspect_service(service_id)
    except NotFound:
        return None
    return service if service["ID"] == service_id else None


def remove_service(
    gw: Gateway, *, names: list[str], progress: ProgressFn = no_progress
) -> RemoveResult:
    """Remove each service in ``names``; ones that do not exist are reported as absent.

    Raises InvalidRequest when ``names`` is empty or holds an invalid name.
    """
    if not names:
        raise InvalidRequest("no service named to remove")
    removed: list[str] = []
    absent: list[str] = []
    for name in names:
        service = find_service(gw, flags.validate_service_name(name)) or _by_full_id(gw, name)
        if service is None:
            absent.append(name)
            continue
        try:
            gw.remove_service(service["ID"])
        except NotFound:  # removed by someone else meanwhile: the end state is the same
            absent.append(name)
            continue
        progress(f"removed service {name}", service=name, log=True)
        removed.append(name)
    return RemoveResult(removed=removed, absent=absent)
