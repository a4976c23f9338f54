"""`sparkswarm service ...` commands.

Mutating commands go through ``perform`` (so a queue can run them later);
read-only ones call the core directly. Flag values are passed on as typed and
validated by the core, so the CLI, the queue and the chat bot refuse the same
things with the same messages (exit code 2).
"""

from __future__ import annotations

from typing import Any

import typer

from sparkswarm.cli.common import DETACH_OPTION, JSON_OPTION

app = typer.Typer(
    help="Create, inspect, scale, update, roll back and remove services.", no_args_is_help=True
)

TIMEOUT_OPTION = typer.Option(300.0, "--timeout", help="Seconds to wait for the outcome.")

# --update-* and --rollback-* (the same six flags each), shared by create and update.
UPDATE_DELAY = typer.Option(None, "--update-delay", help="Delay between task groups (10s, 1m30s).")
UPDATE_PARALLELISM = typer.Option(None, "--update-parallelism", help="Tasks updated at once.")
UPDATE_FAILURE_ACTION = typer.Option(
    None, "--update-failure-action", help="pause | continue | rollback."
)
UPDATE_MONITOR = typer.Option(None, "--update-monitor", help="Watch each new task this long.")
UPDATE_MAX_FAILURE_RATIO = typer.Option(
    None, "--update-max-failure-ratio", help="Failure rate tolerated (0 to 1)."
)
UPDATE_ORDER = typer.Option(None, "--update-order", help="stop-first | start-first.")
ROLLBACK_DELAY = typer.Option(None, "--rollback-delay", help="Delay between task groups.")
ROLLBACK_PARALLELISM = typer.Option(None, "--rollback-parallelism", help="Tasks rolled at once.")
ROLLBACK_FAILURE_ACTION = typer.Option(None, "--rollback-failure-action", help="pause | continue.")
ROLLBACK_MONITOR = typer.Option(None, "--rollback-monitor", help="Watch each task this long.")
ROLLBACK_MAX_FAILURE_RATIO = typer.Option(
    None, "--rollback-max-failure-ratio", help="Failure rate tolerated (0 to 1)."
)
ROLLBACK_ORDER = typer.Option(None, "--rollback-order", help="stop-first | start-first.")


def _policy(
    delay: str | None,
    parallelism: int | None,
    failure_action: str | None,
    monitor: str | None,
    max_failure_ratio: float | None,
    order: str | None,
) -> dict[str, Any]:
    given = {
        "delay": delay,
        "parallelism": parallelism,
        "failure_action": failure_action,
        "monitor": monitor,
        "max_failure_ratio": max_failure_ratio,
        "order": order,
    }
    return {key: value for key, value in given.items() if value is not None}


def _summary(result: dict[str, Any]) -> str:
    counts = ""
    if result.get("running") is not None and result.get("desired") is not None:
        counts = f" ({result['running']}/{result['desired']} tasks)"
    line = f"{result['service']}: {result['outcome'].replace('_', ' ')}{counts}"
    if result.get("image"):
        line += f", image {result['image']}"
    if result.get("elapsed_s"):
        line += f", {result['elapsed_s']:.1f}s"
    return line


def _report(result: dict[str, Any], as_json: bool) -> None:
    from sparkswarm.cli.common import print_json

    if as_json:
        print_json(result)
    else:
        typer.echo(_summary(result))


@app.command("create")
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
    update_delay: str | None = UPDATE_DELAY,
    update_parallelism: int | None = UPDATE_PARALLELISM,
    update_failure_action: str | None = UPDATE_FAILURE_ACTION,
    update_monitor: str | None = UPDATE_MONITOR,
    update_max_failure_ratio: float | None = UPDATE_MAX_FAILURE_RATIO,
    update_order: str | None = UPDATE_ORDER,
    rollback_delay: str | None = ROLLBACK_DELAY,
    rollback_parallelism: int | None = ROLLBACK_PARALLELISM,
    rollback_failure_action: str | None = ROLLBACK_FAILURE_ACTION,
    rollback_monitor: str | None = ROLLBACK_MONITOR,
    rollback_max_failure_ratio: float | None = ROLLBACK_MAX_FAILURE_RATIO,
    rollback_order: str | None = ROLLBACK_ORDER,
    detach: bool = DETACH_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a service; waits until its tasks run (jobs: complete) unless --detach."""
    from sparkswarm.cli.common import perform

    optional = {
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
    params: dict[str, Any] = {
        "name": name,
        "image": image,
        "command": list(command or []),
        "mode": mode,
        "env": env,
        "labels": label,
        "publish": publish,
        "networks": network,
        "mounts": mount,
        "constraints": constraint,
        "timeout": timeout,
        "update": _policy(
            update_delay,
            update_parallelism,
            update_failure_action,
            update_monitor,
            update_max_failure_ratio,
            update_order,
        ),
        "rollback": _policy(
            rollback_delay,
            rollback_parallelism,
            rollback_failure_action,
            rollback_monitor,
            rollback_max_failure_ratio,
            rollback_order,
        ),
        **{key: value for key, value in optional.items() if value is not None},
    }
    _report(perform("service.create", params, detach=detach), as_json)


@app.command("update")
def update(
    name: str = typer.Argument(..., help="Service name or ID."),
    image: str | None = typer.Option(None, "--image", help="New image (no registry lookup)."),
    env_add: list[str] = typer.Option([], "--env-add", help="Add or set KEY=VALUE."),
    env_rm: list[str] = typer.Option([], "--env-rm", help="Remove variable KEY."),
    publish_add: list[str] = typer.Option([], "--publish-add", help="Publish a port."),
    publish_rm: list[str] = typer.Option([], "--publish-rm", help=r"Unpublish TARGET\[/PROTO]."),
    replicas: int | None = typer.Option(None, "--replicas", help="Tasks (replicated only)."),
    force: bool = typer.Option(False, "--force", help="Redeploy tasks even if nothing changed."),
    update_delay: str | None = UPDATE_DELAY,
    update_parallelism: int | None = UPDATE_PARALLELISM,
    update_failure_action: str | None = UPDATE_FAILURE_ACTION,
    update_monitor: str | None = UPDATE_MONITOR,
    update_max_failure_ratio: float | None = UPDATE_MAX_FAILURE_RATIO,
    update_order: str | None = UPDATE_ORDER,
    rollback_delay: str | None = ROLLBACK_DELAY,
    rollback_parallelism: int | None = ROLLBACK_PARALLELISM,
    rollback_failure_action: str | None = ROLLBACK_FAILURE_ACTION,
    rollback_monitor: str | None = ROLLBACK_MONITOR,
    rollback_max_failure_ratio: float | None = ROLLBACK_MAX_FAILURE_RATIO,
    rollback_order: str | None = ROLLBACK_ORDER,
    detach: bool = DETACH_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a service and follow the rolling update to its real outcome.

    Exits 1 when the update ends paused or rolled back.
    """
    from sparkswarm.cli.common import perform

    params: dict[str, Any] = {
        "name": name,
        "env_add": env_add,
        "env_rm": env_rm,
        "publish_add": publish_add,
        "publish_rm": publish_rm,
        "force": force,
        "timeout": timeout,
        "update": _policy(
            update_delay,
            update_parallelism,
            update_failure_action,
            update_monitor,
            update_max_failure_ratio,
            update_order,
        ),
        "rollback": _policy(
            rollback_delay,
            rollback_parallelism,
            rollback_failure_action,
            rollback_monitor,
            rollback_max_failure_ratio,
            rollback_order,
        ),
    }
    if image is not None:
        params["image"] = image
    if replicas is not None:
        params["replicas"] = replicas
    _report(perform("service.update", params, detach=detach), as_json)


@app.command("scale")
def scale(
    pairs: list[str] = typer.Argument(..., help="SERVICE=REPLICAS ..."),
    detach: bool = DETACH_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set replica counts (replicated services only); waits for convergence unless --detach."""
    from sparkswarm.cli.common import perform
    from sparkswarm.services.changes import parse_scale_pairs

    replicas = parse_scale_pairs(pairs)
    result = perform("service.scale", {"replicas": replicas, "timeout": timeout}, detach=detach)
    if as_json:
        _report(result, True)
        return
    for outcome in result["services"]:
        _report(outcome, False)


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="Service name or ID."),
    detach: bool = DETACH_OPTION,
    timeout: float = TIMEOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Return to the service's previous spec; exits 1 if the rollback pauses."""
    from sparkswarm.cli.common import perform

    _report(perform("service.rollback", {"name": name, "timeout": timeout}, detach=detach), as_json)


@app.command("rm")
def remove(
    names: list[str] = typer.Argument(..., help="Services to remove."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove services; ones that do not exist are reported, not an error."""
    from sparkswarm.cli.common import perform, print_json

    result = perform("service.rm", {"names": names})
    if as_json:
        print_json(result)
        return
    for name in result["removed"]:
        typer.echo(f"{name}: removed")
    for name in result["absent"]:
        typer.echo(f"{name}: absent (nothing to remove)")


@app.command("ls")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List services with running/desired tasks."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.services.queries import list_services

    show(
        list_services(gateway()),
        ["id", "name", "mode", "replicas", "image", "ports"],
        as_json=as_json,
    )


@app.command("ps")
def ps(
    name: str = typer.Argument(..., help="Service name or ID."),
    running: bool = typer.Option(False, "--running", help="Only tasks meant to be running."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List a service's tasks: node, desired/current state, error, image."""
    from sparkswarm.cli.common import gateway, show
    from sparkswarm.services.queries import service_tasks

    show(
        service_tasks(gateway(), name=name, running_only=running),
        ["id", "name", "image", "node", "desired_state", "current_state", "since", "error"],
        as_json=as_json,
    )


@app.command("inspect")
def inspect(
    name: str = typer.Argument(..., help="Service name or ID."),
    as_json: bool = typer.Option(True, "--json/--yaml", help="Print JSON (default) or YAML."),
) -> None:
    """Print the engine's full view of a service."""
    from sparkswarm.cli.common import gateway, print_json
    from sparkswarm.services.queries import inspect_service

    data = inspect_service(gateway(), name=name)
    if as_json:
        print_json(data)
    else:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@app.command("logs")
def logs(
    name: str = typer.Argument(..., help="Service name or ID."),
    tail: int | None = typer.Option(None, "--tail", "-n", help="Lines per task from the end."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Show timestamps."),
) -> None:
    """Print the logs of a service's tasks (``--follow`` until interrupted)."""
    from sparkswarm.cli.common import gateway
    from sparkswarm.services.logs import service_logs

    try:
        for line in service_logs(
            gateway(), name=name, tail=tail, follow=follow, timestamps=timestamps
        ):
            typer.echo(line)
    except KeyboardInterrupt:
        pass
