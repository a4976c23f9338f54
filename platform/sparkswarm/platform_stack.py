"""sparkswarm itself as a stack: ``platform up``, ``status``, ``down``, ``upgrade``.

``stacks/platform/stack.yml`` (Redis, worker, beat, the metrics exporter;
``bot.yml`` adds the Slack bot when both Slack tokens are configured,
``monitoring.yml`` a Prometheus that scrapes the exporter when asked) deployed by our own stack
deployer (:func:`sparkswarm.stacks.deploy.deploy_stack`), which waits until
every task runs: with health checks on every service, a task runs only
once its check passed.

These run here, with this process's gateway, never through the queue: they
deploy the queue itself, and they carry secrets. Every secret goes to a
Docker secret, never into the service spec:

- the Redis password: random, created once (``<stack>_redis_password``);
- ``SPARKSWARM_SECRET_KEY``: this process's setting if given, else a random
  Fernet key created once (``<stack>_secret_key``);
- the Slack tokens: from this process's settings.

Secrets made from settings are named after a digest of their content
(``<stack>_slack_bot_token_<12 hex>``): Docker secrets cannot change, so a
new value is a new secret, the service spec changes and the services roll
onto it; the old one is removed once unused. All carry the label
:data:`PLATFORM_LABEL` so ``down --purge`` finds them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InUse, InvalidRequest, NotFound
from sparkswarm.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sparkswarm.config import Settings
    from sparkswarm.gateway import Gateway
    from sparkswarm.stacks.compose_load import LoadedStack
    from sparkswarm.stacks.models import StackRemoval, StackResult

DEFAULT_NAME = "sparkswarm"
PLATFORM_LABEL = "org.sparkswarm.platform"
ROLE_LABEL = "org.sparkswarm.platform.role"
NAMESPACE_LABEL = "com.docker.stack.namespace"


@dataclass(frozen=True)
class ServiceHealth:
    """One platform service as ``platform status`` shows it."""

    service: str
    role: str
    desired: int
    running: int
    #: Containers of this node whose health check passed / that are unhealthy.
    healthy: int
    unhealthy: int
    image: str

    @property
    def ok(self) -> bool:
        """Every desired task runs (with a health check: passed) and none is unhealthy."""
        return self.running == self.desired and self.unhealthy == 0


@dataclass(frozen=True)
class PlatformStatus:
    """``platform status``: every service of the platform stack."""

    stack: str
    services: list[ServiceHealth]

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(s.ok for s in self.services)


def platform_dir() -> Path:
    """The folder of the platform stack (``stack.yml``, ``bot.yml``, ``params.yml``)."""
    from sparkswarm.stacks.params import stacks_dir

    path = stacks_dir() / "platform"
    if not (path / "stack.yml").is_file():
        raise NotFound(
            f"no platform stack in {path}; set SPARKSWARM_STACKS_DIR to the stacks folder"
        )
    return path


def platform_up(
    gw: Gateway,
    *,
    settings: Settings,
    name: str = DEFAULT_NAME,
    image: str | None = None,
    redis_image: str | None = None,
    sets: list[str] | None = None,
    upgrade: bool = False,
    monitoring: bool | None = None,
    progress: ProgressFn = no_progress,
) -> StackResult:
    """Deploy (or bring up to date) the platform stack ``name``; wait until it is healthy.

    ``upgrade``: the stack must exist (a rolling update of its services onto
    the current images). ``monitoring``: with Prometheus (True), without it
    (False: removed if deployed), or as deployed now (None; off for a new
    stack). Raises InvalidRequest for a bad name or parameter,
    NotFound when an image is missing (naming ``images build``) or, with
    ``upgrade``, when the stack is not deployed; OperationFailed when the
    services do not become healthy.
    """
    from sparkswarm.platform_images import (
        PLATFORM_IMAGE,
        PROMETHEUS_IMAGE,
        REDIS_IMAGE,
        pinned_tag,
    )
    from sparkswarm.stacks.convert import validate_stack_name
    from sparkswarm.stacks.deploy import deploy_stack, stack_services
    from sparkswarm.stacks.params import parse_sets

    validate_stack_name(name)
    deployed = stack_services(gw, name)
    if upgrade and not deployed:
        raise NotFound(f"no platform stack {name!r} to upgrade; `sparkswarm platform up` first")
    values = parse_sets(sets or [])
    for fixed in values:
        if fixed in ("image", "redis_image", "prometheus_config") or fixed.endswith("_secret"):
            raise InvalidRequest(
                f"--set {fixed}: give --image/--redis-image; secrets and configs are managed"
            )
    folder = platform_dir()
    values["image"] = pinned_tag(gw, image or PLATFORM_IMAGE)
    values["redis_image"] = pinned_tag(gw, redis_image or REDIS_IMAGE)
    if monitoring is None:
        monitoring = any(_role(s) == "prometheus" for s in deployed.values())
    if monitoring:
        values["prometheus_image"] = pinned_tag(
            gw, values.get("prometheus_image") or PROMETHEUS_IMAGE
        )
        values["prometheus_config"] = prometheus_config_name(folder, name)
    values.update(_ensure_secrets(gw, name, settings, progress))
    params, _ = render_platform(folder, values)
    result = deploy_stack(gw, name=name, progress=progress, prune=True, **params)
    _remove_unused_secrets(gw, name, keep=set(values.values()))
    return result


def render_platform(folder: Path, values: dict[str, str]) -> tuple[dict[str, Any], LoadedStack]:
    """The stack deployer's parameters for the platform stack in ``folder``
    with parameter ``values``: ``stack.yml``, plus ``bot.yml`` when the Slack
    token secrets are named, plus ``monitoring.yml`` when the Prometheus
    config is, and the merged stack they load to. Pure (reads only the
    folder). Raises InvalidRequest for an unknown parameter or a stack the
    loader refuses."""
    from sparkswarm.stacks.params import interpolation_env
    from sparkswarm.stacks.source import read_stack_source

    paths = [str(folder / "stack.yml")]
    if "slack_bot_token_secret" in values and "slack_app_token_secret" in values:
        paths.append(str(folder / "bot.yml"))
    if "prometheus_config" in values:
        paths.append(str(folder / "monitoring.yml"))
    env = interpolation_env(folder / "stack.yml", values, environ={})
    return read_stack_source(paths, env)


def prometheus_config_name(folder: Path, stack: str) -> str:
    """``<stack>_prometheus_<12 hex of prometheus.yml's digest>``: swarm configs
    cannot change, so a changed file is a new config the service rolls onto."""
    digest = hashlib.sha256((folder / "prometheus.yml").read_bytes()).hexdigest()[:12]
    return f"{stack}_prometheus_{digest}"


def _role(service: dict[str, Any]) -> str:
    return str((service["Spec"].get("Labels") or {}).get(ROLE_LABEL, ""))


def _ensure_secrets(
    gw: Gateway, stack: str, settings: Settings, progress: ProgressFn
) -> dict[str, str]:
    """Create the platform's secrets that are missing; their names by stack parameter."""
    names = {
        "redis_password_secret": _ensure_secret(
            gw, stack, f"{stack}_redis_password", None, lambda: secrets.token_hex(32), progress
        )
    }
    key = settings.secret_key
    names["secret_key_secret"] = _ensure_secret(
        gw,
        stack,
        f"{stack}_secret_key",
        None if key is None else key.get_secret_value(),
        _fernet_key,
        progress,
    )
    bot, app = settings.slack_bot_token, settings.slack_app_token
    if bot is not None and app is not None:
        for param, value in (("slack_bot_token", bot), ("slack_app_token", app)):
            names[f"{param}_secret"] = _ensure_secret(
                gw, stack, f"{stack}_{param}", value.get_secret_value(), None, progress
            )
    return names


def _ensure_secret(
    gw: Gateway,
    stack: str,
    base: str,
    value: str | None,
    generate: Any,
    progress: ProgressFn,
) -> str:
    """The name of a secret holding ``value`` (digest-named) or, without a
    value, of ``base`` created once with ``generate()``; created when missing."""
    name = base if value is None else f"{base}_{hashlib.sha256(value.encode()).hexdigest()[:12]}"
    if any(s["Spec"]["Name"] == name for s in gw.secrets(filters={"name": name})):
        return name
    data = value if value is not None else generate()
    progress(f"creating secret {name}", log=True)
    gw.create_secret(name, data.encode(), labels={PLATFORM_LABEL: stack})
    return name


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _remove_unused_secrets(gw: Gateway, stack: str, keep: set[str]) -> None:
    """Remove the stack's digest-named secrets of values no longer configured."""
    for secret in gw.secrets(filters={"label": f"{PLATFORM_LABEL}={stack}"}):
        if secret["Spec"]["Name"] in keep:
            continue
        try:
            gw.remove_secret(secret["ID"])
        except (InUse, NotFound):
            continue  # a task still shutting down holds it: the next deploy removes it


def platform_status(gw: Gateway, *, name: str = DEFAULT_NAME) -> PlatformStatus:
    """Every service of the platform stack ``name``: tasks wanted and running,
    and the health of the containers this node can see.

    Raises NotFound when the stack has no services.
    """
    from sparkswarm.stacks.deploy import stack_services

    services = stack_services(gw, name)
    if not services:
        raise NotFound(f"no platform stack {name!r}; `sparkswarm platform up` deploys it")
    containers = gw.containers(filters={"label": f"{NAMESPACE_LABEL}={name}"})
    health: dict[str, str] = {}
    for container in containers:
        task = (container.get("Labels") or {}).get("com.docker.swarm.task.id", "")
        health[task] = str(container.get("Status", ""))
    rows = []
    for full, service in sorted(services.items()):
        spec = service["Spec"]
        tasks = gw.tasks(filters={"service": service["ID"], "desired-state": "running"})
        running = [t for t in tasks if t.get("Status", {}).get("State") == "running"]
        states = [health.get(t["ID"], "") for t in running]
        rows.append(
            ServiceHealth(
                service=full,
                role=(spec.get("Labels") or {}).get(ROLE_LABEL, ""),
                desired=int(spec.get("Mode", {}).get("Replicated", {}).get("Replicas", 0)),
                running=len(running),
                healthy=sum("(healthy)" in s for s in states),
                unhealthy=sum("(unhealthy)" in s for s in states),
                image=str(spec["TaskTemplate"]["ContainerSpec"]["Image"]).split("@")[0],
            )
        )
    return PlatformStatus(stack=name, services=rows)


def platform_down(
    gw: Gateway,
    *,
    name: str = DEFAULT_NAME,
    purge: bool = False,
    timeout: float = 60.0,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Remove the platform stack ``name``. Its Redis data (the volume) and its
    secrets are kept unless ``purge``: then they go too (on this node).

    Raises NotFound when there is nothing of the stack to remove.
    """
    from sparkswarm.stacks.removal import remove_stack

    removed: StackRemoval | None = None
    try:
        removed = remove_stack(gw, name=name, progress=progress)
    except NotFound:
        if not purge:
            raise
    if removed is not None:
        _wait_networks_gone(gw, name, timeout)
    result: dict[str, Any] = {
        "stack": name,
        **(asdict(removed) if removed is not None else {}),
        "purged_secrets": [],
        "purged_volumes": [],
    }
    if not purge:
        return result
    for secret in gw.secrets(filters={"label": f"{PLATFORM_LABEL}={name}"}):
        progress(f"removing secret {secret['Spec']['Name']}", log=True)
        gw.remove_secret(secret["ID"])
        result["purged_secrets"].append(secret["Spec"]["Name"])
    result["purged_volumes"] = _remove_volumes(gw, name, timeout, progress)
    if removed is None and not result["purged_secrets"] and not result["purged_volumes"]:
        raise NotFound(f"nothing found of platform stack {name!r}")
    return result


def _wait_networks_gone(gw: Gateway, stack: str, timeout: float) -> None:
    """Return once the engine no longer lists the stack's networks.

    A removed overlay network stays listed for a moment; an ``up`` in that
    moment sees it, creates no new one, and its services then fail with
    "network not found" (``docker stack rm`` then ``deploy`` has the same race).
    """
    from sparkswarm.errors import OperationFailed
    from sparkswarm.stacks.removal import stack_filter
    from sparkswarm.waiting import poll

    gone = poll(
        lambda: True if not gw.networks(filters=stack_filter(stack)) else None,
        timeout=timeout,
        interval=0.5,
    )
    if gone is None:
        raise OperationFailed(f"the networks of {stack} were still listed after {timeout:g} s")


def _remove_volumes(gw: Gateway, stack: str, timeout: float, progress: ProgressFn) -> list[str]:
    """Remove the stack's volumes on this node once its containers are gone."""
    from sparkswarm.errors import OperationFailed
    from sparkswarm.waiting import poll

    selector = {"label": f"{NAMESPACE_LABEL}={stack}"}
    gone = poll(
        lambda: True if not gw.containers(filters=selector, all=True) else None,
        timeout=timeout,
        interval=0.5,
    )
    if gone is None:
        raise OperationFailed(
            f"the containers of {stack} were still there after {timeout:g} s; "
            "its volumes are kept (run `platform down --purge` again)"
        )
    names = []
    for volume in gw.volumes(filters=selector):
        progress(f"removing volume {volume['Name']}", log=True)
        gw.remove_volume(str(volume["Name"]))
        names.append(str(volume["Name"]))
    return names
