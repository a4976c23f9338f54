"""Compose model -> swarm objects, exactly as ``docker stack deploy`` builds them (pure).

Follows docker/cli ``cli/compose/convert`` (service.go, compose.go,
volume.go): names ``<stack>_<name>``, the ``com.docker.stack.namespace``
label on every object, ``com.docker.stack.image`` on services, the service
name as an alias on each user-defined network, secrets/configs sorted by
name, ports sorted by published port, durations in nanoseconds. The result
is Engine API JSON (``ServiceSpec`` etc.) with objects referred to by name;
:mod:`.deploy` fills in IDs where the API wants them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sparkswarm import limits
from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.spec_parts import (
    endpoint_spec,
    healthcheck_spec,
    mode_spec,
    nanoseconds,
    resources_spec,
    restart_policy,
    update_config,
)

NAMESPACE_LABEL = "com.docker.stack.namespace"
IMAGE_LABEL = "com.docker.stack.image"
DEFAULT_NETWORK_DRIVER = "overlay"
_BUILTIN_NETWORKS = ("bridge", "host", "none", "default")


@dataclass
class DesiredStack:
    """What a stack should look like: JSON-able, keyed by full object names."""

    name: str
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    external_networks: list[str] = field(default_factory=list)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A plain dict (for snapshots and operation results)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesiredStack:
        """The inverse of :meth:`to_json`."""
        return cls(**data)


_STACK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
MAX_SERVICE_NAME = 63


def validate_stack_name(stack: str) -> str:
    """``stack`` if it can prefix swarm object names; InvalidRequest otherwise."""
    if not _STACK_NAME.match(stack or ""):
        raise InvalidRequest(
            f"invalid stack name {stack!r}: use letters, digits, '_', '.', '-' "
            "and start with a letter or digit"
        )
    return stack


def with_default_tag(image: str) -> str:
    """``image`` with ``:latest`` when it names no tag or digest, as the docker CLI sends it.

    ``busybox`` -> ``busybox:latest``; ``host:5000/web`` -> ``host:5000/web:latest``
    (the colon of a registry port is not a tag). The stack's image label keeps
    the image as written.
    """
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def scope(stack: str, name: str) -> str:
    """``<stack>_<name>``, the CLI's namespacing."""
    return f"{stack}_{name}"


def _labels(stack: str, labels: dict[str, Any] | None) -> dict[str, str]:
    return {**{k: str(v) for k, v in (labels or {}).items()}, NAMESPACE_LABEL: stack}


def _mounts(stack: str, service: dict[str, Any], volumes: dict[str, Any]) -> list[dict[str, Any]]:
    mounts = []
    for volume in service.get("volumes") or []:
        kind = volume.get("type") or "volume"
        mount: dict[str, Any] = {
            "Type": kind,
            "Target": volume.get("target", ""),
            "Source": volume.get("source", ""),
            "ReadOnly": bool(volume.get("read_only", False)),
            # No "Consistency": the CLI sends it, the engine drops it, and a
            # spec that keeps it would differ from the stored one on every
            # redeploy (an update each time).
        }
        if kind == "volume" and mount["Source"]:
            declared = volumes[mount["Source"]]
            options: dict[str, Any] = {"NoCopy": bool((volume.get("volume") or {}).get("nocopy"))}
            mount["Source"] = declared.get("name") or scope(stack, mount["Source"])
            if not declared.get("external"):
                options["Labels"] = _labels(stack, declared.get("labels"))
                if declared.get("driver") or declared.get("driver_opts") is not None:
                    options["DriverConfig"] = {
                        "Name": declared.get("driver", ""),
                        "Options": declared.get("driver_opts"),
                    }
            mount["VolumeOptions"] = options
        elif kind == "bind" and volume.get("bind") is not None:
            mount["BindOptions"] = {"Propagation": volume["bind"].get("propagation", "")}
        elif kind == "tmpfs" and volume.get("tmpfs") is not None:
            mount["TmpfsOptions"] = {"SizeBytes": volume["tmpfs"].get("size", 0)}
        mounts.append(mount)
    return mounts


def _networks(
    stack: str, name: str, service: dict[str, Any], declared: dict[str, Any]
) -> list[Any]:
    wanted = service.get("networks") or {"default": None}
    attachments = []
    for network, options in wanted.items():
        target = (declared.get(network) or {}).get("name") or scope(stack, network)
        aliases = list((options or {}).get("aliases") or [])
        if target not in _BUILTIN_NETWORKS and not target.startswith("container:"):
            aliases.append(name)
        attachment: dict[str, Any] = {"Target": target, "Aliases": aliases or None}
        if (options or {}).get("driver_opts"):
            attachment["DriverOpts"] = {k: str(v) for k, v in options["driver_opts"].items()}
        attachments.append(attachment)
    return sorted(attachments, key=lambda a: a["Target"])


def _file_refs(stack: str, refs: list[dict[str, Any]], declared: dict[str, Any], kind: str) -> Any:
    result = []
    for ref in refs:
        source = ref["source"]
        full = declared[source].get("name") or scope(stack, source)
        mode = ref.get("mode")
        result.append(
            {
                "File": {
                    "Name": ref.get("target") or source,
                    "UID": ref.get("uid") or "0",
                    "GID": ref.get("gid") or "0",
                    "Mode": 0o444 if mode is None else int(mode),
                },
                f"{kind}Name": full,
            }
        )
    # The CLI sorts by name only, ties in Go map order (random); we break
    # ties by target file name to be deterministic.
    return sorted(result, key=lambda r: (r[f"{kind}Name"], r["File"]["Name"]))


def _normalise_caps(caps: list[str] | None) -> list[str]:
    result = []
    for cap in caps or []:
        cap = cap.strip().upper()
        result.append(cap if cap == "ALL" or cap.startswith("CAP_") else f"CAP_{cap}")
    return sorted(result)


def effective_capabilities(
    add: list[str] | None, drop: list[str] | None
) -> tuple[list[str], list[str]]:
    """``CAP_``-prefixed, sorted capabilities to add and drop (the CLI's
    EffectiveCapAddCapDrop: ``ALL`` trumps the others, adding wins over dropping)."""
    added, dropped = _normalise_caps(add), _normalise_caps(drop)
    if "ALL" in added:
        added = ["ALL"]
    if "ALL" in dropped:
        dropped = ["ALL"]
    return added, [cap for cap in dropped if cap not in added]


def service_spec(stack: str, name: str, service: dict[str, Any], model: dict[str, Any]) -> Any:
    """The Engine API ``ServiceSpec`` for one long-form compose service."""
    deploy = service.get("deploy") or {}
    placement = deploy.get("placement") or {}
    dns, search = service.get("dns") or None, service.get("dns_search") or None
    environment = service.get("environment") or {}
    logging = service.get("logging")
    ulimits = service.get("ulimits") or {}
    add, drop = effective_capabilities(service.get("cap_add"), service.get("cap_drop"))
    container: dict[str, Any] = {
        "Image": with_default_tag(service["image"]),
        "Labels": _labels(stack, service.get("labels")),
        "Command": service.get("entrypoint"),
        "Args": service.get("command"),
        "Hostname": service.get("hostname", ""),
        "Env": sorted(k if v is None else f"{k}={v}" for k, v in environment.items()) or None,
        "Dir": service.get("working_dir", ""),
        "User": service.get("user", ""),
        "Mounts": _mounts(stack, service, model["volumes"]) or None,
        "StopGracePeriod": nanoseconds(service.get("stop_grace_period")),
        "StopSignal": service.get("stop_signal", ""),
        "TTY": bool(service.get("tty", False)),
        "OpenStdin": bool(service.get("stdin_open", False)),
        "ReadOnly": bool(service.get("read_only", False)),
        "Healthcheck": healthcheck_spec(service.get("healthcheck")),
        "Hosts": [
            f"{ip} {host}"
            for host, _, ip in (h.partition(":") for h in service.get("extra_hosts") or [])
            if ip
        ]
        or None,
        "DNSConfig": {"Nameservers": dns, "Search": search} if dns or search else None,
        "Secrets": _file_refs(stack, service.get("secrets") or [], model["secrets"], "Secret"),
        "Configs": _file_refs(stack, service.get("configs") or [], model["configs"], "Config"),
        "Privileges": {"CredentialSpec": None, "SELinuxContext": None},
        "Isolation": service.get("isolation", ""),
        "Init": service.get("init"),
        "Sysctls": service.get("sysctls") or None,
        "CapabilityAdd": add or None,
        "CapabilityDrop": drop or None,
        "Ulimits": [
            {
                "Name": key,
                "Soft": v if isinstance(v, int) else v["soft"],
                "Hard": v if isinstance(v, int) else v["hard"],
            }
            for key, v in sorted(ulimits.items())
        ]
        or None,
    }
    spec: dict[str, Any] = {
        "Name": scope(stack, name),
        "Labels": {**_labels(stack, deploy.get("labels")), IMAGE_LABEL: service["image"]},
        "TaskTemplate": {
            "ContainerSpec": container,
            "LogDriver": (
                {
                    "Name": logging.get("driver", ""),
                    "Options": {k: str(v) for k, v in (logging.get("options") or {}).items()}
                    or None,
                }
                if logging is not None
                else None
            ),
            "Resources": resources_spec(deploy.get("resources") or {}),
            "RestartPolicy": restart_policy(deploy, service.get("restart")),
            "Placement": {
                "Constraints": placement.get("constraints") or None,
                "Preferences": [
                    {"Spread": {"SpreadDescriptor": p.get("spread", "")}}
                    for p in placement.get("preferences") or []
                ]
                or None,
                "MaxReplicas": placement.get("max_replicas_per_node", 0),
            },
            "Networks": _networks(stack, name, service, model["networks"]),
        },
        "Mode": mode_spec(deploy),
        "UpdateConfig": update_config(deploy.get("update_config")),
        "RollbackConfig": update_config(deploy.get("rollback_config")),
        "EndpointSpec": endpoint_spec(deploy, service.get("ports") or []),
    }
    return spec


def _network_create(stack: str, network: dict[str, Any]) -> dict[str, Any]:
    ipam = network.get("ipam") or {}
    options: dict[str, Any] = {
        "driver": network.get("driver") or DEFAULT_NETWORK_DRIVER,
        "options": network.get("driver_opts"),
        "labels": _labels(stack, network.get("labels")),
        "internal": bool(network.get("internal", False)),
        "attachable": bool(network.get("attachable", False)),
        "scope": None,
        "ipam": None,
    }
    if ipam.get("driver") or ipam.get("config"):
        options["ipam"] = {
            "Driver": ipam.get("driver", ""),
            "Config": [{"Subnet": c.get("subnet", "")} for c in ipam.get("config") or []],
        }
    return options


def translate(stack: str, model: dict[str, Any]) -> DesiredStack:
    """The swarm objects for a loaded compose model.

    Raises InvalidRequest on conflicts and on replica counts over the limits
    of :mod:`sparkswarm.limits` (per service, and for the stack in total).
    """
    desired = DesiredStack(name=validate_stack_name(stack))
    for name in model["services"]:
        if len(scope(stack, name)) > MAX_SERVICE_NAME:
            raise InvalidRequest(
                f"services.{name}: service name {scope(stack, name)!r} is longer than "
                f"{MAX_SERVICE_NAME} characters"
            )
    used_networks: set[str] = set()
    for name, service in sorted(model["services"].items()):
        try:
            desired.services[name] = service_spec(stack, name, service, model)
        except (ValueError, KeyError) as exc:
            raise InvalidRequest(f"services.{name}: {exc}") from None
        limits.check_spec_numbers(desired.services[name], f"services.{name}")
        used_networks.update(service.get("networks") or {"default": None})
    limits.check_services(
        desired.name, {spec["Name"]: spec["Mode"] for spec in desired.services.values()}
    )
    for network in sorted(used_networks):
        declared = model["networks"].get(network) or {}
        if declared.get("external"):
            desired.external_networks.append(declared["name"])
            continue
        full = declared.get("name") or scope(stack, network)
        desired.networks[full] = _network_create(stack, declared)
    for section, target in (("configs", desired.configs), ("secrets", desired.secrets)):
        for key, item in sorted(model[section].items()):
            if item.get("external"):
                continue
            full = item.get("name") or scope(stack, key)
            spec: dict[str, Any] = {
                "Name": full,
                "Labels": _labels(stack, item.get("labels")),
                "Data": item.get("data_b64", ""),
            }
            if item.get("driver"):
                spec["Driver"] = {"Name": item["driver"], "Options": item.get("driver_opts")}
            if item.get("template_driver"):
                spec["Templating"] = {"Name": item["template_driver"]}
            target[full] = spec
    return desired
