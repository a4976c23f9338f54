"""The ``service`` commands: create, update, scale, rollback, rm, ls, ps, inspect."""

from __future__ import annotations

import functools
from typing import Any

import typer

from sparkswarm.limits import check_numbers, check_replicas, check_wait
from sparkswarm.requests.builders import Builder, extend_signature, group, without_none
from sparkswarm.requests.model import Request, request

service = group("service", "Create, inspect, scale, update, roll back and remove services.")
service.terminal("logs", "prints a service's logs in a terminal")

TIMEOUT = typer.Option(300.0, "--timeout", help="Seconds to wait for the outcome.")


def service_reference(name: str) -> str:
    """``name`` if it can name a service (a name or ID: swarmkit's name rule).

    Checked where the words enter, so that ``../info`` never becomes an
    Engine API path. Raises InvalidRequest otherwise.
    """
    from sparkswarm.services.flags import validate_service_name

    return validate_service_name(name)


# One definition of the --update-* and --rollback-* flags: (field, type, help).
POLICY_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("delay", str | None, "Delay between task groups (10s, 1m30s)."),
    ("parallelism", int | None, "Tasks changed at once."),
    ("failure_action", str | None, "pause | continue | rollback (update only)."),
    ("monitor", str | None, "Watch each new task this long."),
    ("max_failure_ratio", float | None, "Failure rate tolerated (0 to 1)."),
    ("order", str | None, "stop-first | start-first."),
)


def _policy_parameters() -> list[tuple[str, Any, Any]]:
    params = []
    for kind in ("update", "rollback"):
        for field, annotation, text in POLICY_FIELDS:
            flag = f"--{kind}-{field.replace('_', '-')}"
            params.append((f"{kind}_{field}", annotation, typer.Option(None, flag, help=text)))
    return params


def with_policy_options(builder: Builder) -> Builder:
    """Add the --update-* and --rollback-* options to ``builder``, which gets
    them as two dicts, ``update`` and ``rollback`` (only the flags given)."""

    @functools.wraps(builder)
    def build(**kwargs: Any) -> Request:
        policies = {
            kind: without_none({f: kwargs.pop(f"{kind}_{f}", None) for f, _, _ in POLICY_FIELDS})
            for kind in ("update", "rollback")
        }
        return builder(**kwargs, **policies)

    extend_signature(builder, build, remove=("update", "rollback"), add=_policy_parameters())
    return build


def _check_policies(update: dict[str, Any], rollback: dict[str, Any]) -> None:
    from sparkswarm.services.specs import PolicyOptions, policy_config, validated

    for kind, given in (("update", update), ("rollback", rollback)):
        check_numbers(given, f"--{kind}-")
        policy = validated(PolicyOptions, given, f"--{kind}-* options")
        policy_config(policy, None, kind=kind)


@service.command("create", "service.create")
@with_policy_options
def create(
    name: str = typer.Argument(..., help="Service name."),
    image: str = typer.Argument(..., help="Image (used as is: no registry lookup)."),
    command: list[str] | None = typer.Argument(
        None, help="Arguments replacing the image's CMD (put them after --)."
    ),
    replicas: int | None = typer.Option(None, "--replicas", help="Tasks (completions for jobs)."),
    mode: str = typer.Option(
        "replicated", "--mode", help="replicated | global | replicated-job | global-job."
    ),
    max_concurrent: int | None = typer.Option(
        None, "--max-concurrent", help="Job tasks run at once."
    ),
    env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE (repeatable)."),
    label: list[str] = typer.Option([], "--label", "-l", help="Service label KEY=VALUE."),
    publish: list[str] = typer.Option(
        [], "--publish", "-p", help=r"\[mode=host|ingress,]PUBLISHED:TARGET\[/PROTO] or long form."
    ),
    network: list[str] = typer.Option([], "--network", help="Attach to this network."),
    endpoint_mode: str | None = typer.Option(None, "--endpoint-mode", help="vip | dnsrr."),
    mount: list[str] = typer.Option(
        [], "--mount", help=r"type=bind|volume|tmpfs,source=S,target=T\[,readonly]."
    ),
    constraint: list[str] = typer.Option([], "--constraint", help="e.g. node.role==manager."),
    limit_cpu: str | None = typer.Option(None, "--limit-cpu", help="CPUs, e.g. 0.5."),
    limit_memory: str | None = typer.Option(None, "--limit-memory", help="e.g. 512m, 1g."),
    reserve_cpu: str | None = typer.Option(None, "--reserve-cpu", help="CPUs, e.g. 0.25."),
    reserve_memory: str | None = typer.Option(None, "--reserve-memory", help="e.g. 256m."),
    restart_condition: str | None = typer.Option(
        None, "--restart-condition", help="none | on-failure | any."
    ),
    restart_delay: str | None = typer.Option(None, "--restart-delay", help="e.g. 5s."),
    restart_max_attempts: int | None = typer.Option(None, "--restart-max-attempts"),
    stop_grace_period: str | None = typer.Option(
        None, "--stop-grace-period", help="Wait before killing a task (10s)."
    ),
    health_cmd: str | None = typer.Option(None, "--health-cmd", help="Shell health check."),
    health_interval: str | None = typer.Option(None, "--health-interval"),
    health_timeout: str | None = typer.Option(None, "--health-timeout"),
    health_retries: int | None = typer.Option(None, "--health-retries"),
    timeout: float = TIMEOUT,
    update: dict[str, Any] | None = None,
    rollback: dict[str, Any] | None = None,
) -> Request:
    """Create a service; waits until its tasks run (jobs: complete) unless --detach."""
    options = {
        "command": list(command or []),
        "mode": mode,
        "env": env,
        "labels": label,
        "publish": publish,
        "networks": network,
        "mounts": mount,
        "constraints": constraint,
        "update": update or {},
        "rollback": rollback or {},
        **without_none(
            {
                "replicas": replicas,
                "max_concurrent": max_concurrent,
                "endpoint_mode": endpoint_mode,
                "limit_cpu": limit_cpu,
                "limit_memory": limit_memory,
                "reserve_cpu": reserve_cpu,
                "reserve_memory": reserve_memory,
                "restart_condition": restart_condition,
                "restart_delay": restart_delay,
                "restart_max_attempts": restart_max_attempts,
                "stop_grace_period": stop_grace_period,
                "health_cmd": health_cmd,
                "health_interval": health_interval,
                "health_timeout": health_timeout,
                "health_retries": health_retries,
            }
        ),
    }
    check_numbers(options)
    if replicas is not None:  # refused here, before the options' pydantic models load
        check_replicas(replicas, service=name)
    _check_policies(update or {}, rollback or {})
    from sparkswarm.services.specs import ServiceOptions, build_service_spec, validated

    if network:  # a name or ID each, looked up by the engine at create
        from sparkswarm.networks import validate_network_name

        for network_name in network:
            validate_network_name(network_name)
    build_service_spec(name, image, validated(ServiceOptions, options, "service options"))
    return request(
        "service.create",
        {"name": name, "image": image, "timeout": check_wait(timeout), **options},
    )


@service.command("update", "service.update")
@with_policy_options
def update(
    name: str = typer.Argument(..., help="Service name or ID."),
    image: str | None = typer.Option(None, "--image", help="New image (no registry lookup)."),
    env_add: list[str] = typer.Option([], "--env-add", help="Add or set KEY=VALUE."),
    env_rm: list[str] = typer.Option([], "--env-rm", help="Remove variable KEY."),
    publish_add: list[str] = typer.Option([], "--publish-add", help="Publish a port."),
    publish_rm: list[str] = typer.Option([], "--publish-rm", help=r"Unpublish TARGET\[/PROTO]."),
    replicas: int | None = typer.Option(None, "--replicas", help="Tasks (replicated only)."),
    force: bool = typer.Option(False, "--force", help="Redeploy tasks even if nothing changed."),
    timeout: float = TIMEOUT,
    update: dict[str, Any] | None = None,
    rollback: dict[str, Any] | None = None,
) -> Request:
    """Change a service and follow the rolling update to its real outcome.

    Exits 1 when the update ends paused or rolled back.
    """
    from sparkswarm.services import flags
    from sparkswarm.services.changes import ServiceChanges
    from sparkswarm.services.specs import validated

    changes = {
        "env_add": env_add,
        "env_rm": env_rm,
        "publish_add": publish_add,
        "publish_rm": publish_rm,
        "force": force,
        "update": update or {},
        "rollback": rollback or {},
        **without_none({"image": image, "replicas": replicas}),
    }
    validated(ServiceChanges, changes, "service update")
    flags.validate_service_name(name)
    if replicas is not None:
        check_replicas(replicas, service=name)
    if image is not None:
        flags.validate_image(image)
    flags.parse_key_values(env_add, "--env-add")
    for spec in publish_add:
        flags.parse_publish(spec)
    for spec in publish_rm:
        flags.validate_port_removal(spec)
    _check_policies(update or {}, rollback or {})
    return request("service.update", {"name": name, "timeout": check_wait(timeout), **changes})


@service.command("scale", "service.scale")
def scale(
    pairs: list[str] = typer.Argument(..., help="SERVICE=REPLICAS ..."),
    timeout: float = TIMEOUT,
) -> Request:
    """Set replica counts (replicated services only); waits for convergence unless --detach."""
    from sparkswarm.services.replicas import parse_scale_pairs

    replicas = parse_scale_pairs(pairs)
    return request("service.scale", {"replicas": replicas, "timeout": check_wait(timeout)})


@service.command("rollback", "service.rollback")
def rollback(
    name: str = typer.Argument(..., help="Service name or ID."),
    timeout: float = TIMEOUT,
) -> Request:
    """Return to the service's previous spec; exits 1 if the rollback pauses."""
    params = {"name": service_reference(name), "timeout": check_wait(timeout)}
    return request("service.rollback", params)


@service.command("rm", "service.rm")
def remove(names: list[str] = typer.Argument(..., help="Services to remove.")) -> Request:
    """Remove services; ones that do not exist are reported, not an error."""
    return request("service.rm", {"names": [service_reference(name) for name in names]})


@service.command("ls", "service.ls")
def list_() -> Request:
    """List services with running/desired tasks."""
    return request("service.ls")


@service.command("ps", "service.ps")
def ps(
    name: str = typer.Argument(..., help="Service name or ID."),
    running: bool = typer.Option(False, "--running", help="Only tasks meant to be running."),
) -> Request:
    """List a service's tasks: node, desired/current state, error, image."""
    return request("service.ps", {"name": service_reference(name), "running_only": running})


@service.command("inspect", "service.inspect")
def inspect(name: str = typer.Argument(..., help="Service name or ID.")) -> Request:
    """Print the engine's full view of a service."""
    return request("service.inspect", {"name": service_reference(name)})
