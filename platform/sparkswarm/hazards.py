"""What a request reaches or breaks beyond what it names, judged from its
params alone (pure): the per-request half of the registry's policy.

The registry (:mod:`sparkswarm.operation_table`) hangs these on operations,
so the CLI, schedules and the bot reach the same verdict for the same
params, whatever words produced them:

- **Host access** (``elevates``): a task that bind-mounts ``/`` is root on
  every node it lands on, and so is one with added capabilities, a volume
  of the ``local`` driver that binds a host folder (``o=bind,device=/``),
  relaxed seccomp/AppArmor/SELinux, or the host's network namespace (where
  127.0.0.1 reaches the Docker API and Redis, which drives it). From chat
  such a request needs the admin role and a confirmation. Bind mounts of
  folders under the setting ``SPARKSWARM_HOST_MOUNT_PATHS`` are allowed to
  operators. Paths are compared after normalising ``..`` and ``//``; the
  folders themselves live on other hosts, so symlinks inside them cannot be
  followed here: allow only folders whose content you control.
- **Stopping work** (``destructive``): whatever the spelling, a deploy that
  leaves a service with 0 replicas (``stack deploy spark --set workers=0``,
  ``spark up --workers 0``) or removes services (``--prune``) asks first,
  as ``service scale web=0`` does.
- **What it breaks** (``warns``): removing the ``ingress`` network takes the
  routing mesh away from every published port.

Each function takes the operation's params and returns sentences (empty:
nothing to say) or a bool. Raises InvalidRequest if the params cannot be
read (they were validated when the request was parsed, so only forged
params get there).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparkswarm.stacks.convert import DesiredStack

INGRESS_WARNING = (
    "`ingress` carries the routing mesh: every port published in ingress mode (the "
    "default) stops answering on every node until an ingress network is created again"
)
# Seccomp/AppArmor modes and SELinux settings that lift the default confinement.
_UNCONFINED = "unconfined"


def allowed_host_paths() -> list[str]:
    """The folders operators may bind-mount (setting ``SPARKSWARM_HOST_MOUNT_PATHS``)."""
    from sparkswarm.config import get_settings

    return list(get_settings().host_mount_paths)


def normal_path(path: str) -> str:
    """``path`` with ``..``, ``.`` and repeated slashes resolved (``//x/../`` -> ``/``)."""
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if normal == "//" else normal


def path_allowed(source: str, allowed: Iterable[str]) -> bool:
    """True when ``source`` is one of ``allowed`` or inside one of them."""
    source = normal_path(source)
    for folder in allowed:
        folder = normal_path(folder)
        if source == folder or source.startswith(folder.rstrip("/") + "/"):
            return True
    return False


def _mount_access(service: str, mount: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
    kind = mount.get("Type", "volume")
    source = str(mount.get("Source") or "")
    target = mount.get("Target", "?")
    if kind == "bind" and not path_allowed(source, allowed):
        return [f"{service} bind-mounts the host's {normal_path(source)} at {target}"]
    if kind == "npipe":
        return [f"{service} mounts the host's named pipe {source}"]
    if kind == "volume":
        driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
        options = {str(k): str(v) for k, v in (driver.get("Options") or {}).items()}
        device = options.get("device", "")
        binds = "bind" in options.get("o", "").split(",") or options.get("type") == "none"
        if device and (binds or device.startswith("/")) and not path_allowed(device, allowed):
            return [f"{service} mounts the host's {device} through volume {source or '?'}"]
    return []


def spec_host_access(spec: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
    """How an Engine ``ServiceSpec`` reaches the hosts its tasks run on."""
    service = str(spec.get("Name") or "the service")
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    found: list[str] = []
    for mount in container.get("Mounts") or []:
        found.extend(_mount_access(service, mount, allowed))
    if container.get("CapabilityAdd"):
        found.append(f"{service} adds capabilities {', '.join(container['CapabilityAdd'])}")
    privileges = container.get("Privileges") or {}
    for key in ("Seccomp", "AppArmor"):
        if (privileges.get(key) or {}).get("Mode") == _UNCONFINED:
            found.append(f"{service} runs without {key} confinement")
    if (privileges.get("SELinuxContext") or {}).get("Disable"):
        found.append(f"{service} runs with SELinux labelling disabled")
    networks = [*(task.get("Networks") or []), *(spec.get("Networks") or [])]
    if any(str(n.get("Target")) == "host" for n in networks):
        found.append(f"{service} joins the host's network (127.0.0.1 of the node)")
    return found


# --- the registry's functions, by operation -----------------------------------


def service_create_access(params: dict[str, Any]) -> list[str]:
    """service.create: how the service it creates reaches the hosts."""
    from sparkswarm.services.specs import ServiceOptions, build_service_spec, validated

    options = {k: v for k, v in params.items() if k not in ("name", "image", "timeout")}
    spec = build_service_spec(
        str(params.get("name")),
        str(params.get("image")),
        validated(ServiceOptions, options, "service options"),
        network_ids=list(options.get("networks") or []),
    )
    return spec_host_access(spec, allowed_host_paths())


def _desired(params: dict[str, Any]) -> DesiredStack:
    from sparkswarm.stacks.convert import translate
    from sparkswarm.stacks.source import load_stack_source

    loaded = load_stack_source(
        list(params.get("files") or []),
        str(params.get("working_dir") or "/"),
        dict(params.get("env") or {}),
        dict(params.get("attachments") or {}),
    )
    return translate(str(params.get("name")), loaded.model)


def stack_host_access(params: dict[str, Any]) -> list[str]:
    """stack.deploy / spark.up: how the stack's services reach the hosts."""
    allowed = allowed_host_paths()
    found: list[str] = []
    for spec in _desired(params).services.values():
        found.extend(spec_host_access(spec, allowed))
    return found


def _stopped_services(params: dict[str, Any]) -> list[str]:
    stopped = []
    for spec in _desired(params).services.values():
        replicated = (spec.get("Mode") or {}).get("Replicated")
        if replicated is not None and replicated.get("Replicas") == 0:
            stopped.append(str(spec.get("Name")))
    return stopped


def stack_stops_work(params: dict[str, Any]) -> bool:
    """stack.deploy that prunes services or leaves one with 0 replicas."""
    return bool(params.get("prune")) or bool(_stopped_services(params))


def spark_up_stops_work(params: dict[str, Any]) -> bool:
    """spark.up with 0 workers (or a stack leaving a service at 0 replicas)."""
    return params.get("workers") == 0 or stack_stops_work(params)


def network_rm_breaks(params: dict[str, Any]) -> list[str]:
    """network.rm of the swarm's ingress network."""
    return [INGRESS_WARNING] if params.get("name") == "ingress" else []
