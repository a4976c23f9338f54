"""Loading compose files: YAML, interpolation, schema, long form, env files, merge.

:func:`load_stack` is pure apart from the ``read_file`` callback it is given
(used for ``env_file`` and config/secret ``file:`` entries), so the CLI can run
it against the disk (recording what it read) and a queue worker can run it
again against that recording: see :class:`StackSource`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkswarm.bounded import load_yaml, reason
from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.compose_check import check_translatable, defining_file
from sparkswarm.stacks.compose_merge import merge_files
from sparkswarm.stacks.compose_normalise import normalise_objects, normalise_service
from sparkswarm.stacks.compose_schema import validate
from sparkswarm.stacks.interpolate import interpolate_tree

FORBIDDEN = {
    "extends": "support for `extends` is not implemented",
    "volume_driver": "define a top-level volume with a driver instead",
    "volumes_from": "share a top-level volume instead",
    "cpu_quota": "use deploy.resources",
    "cpu_shares": "use deploy.resources",
    "cpuset": "use deploy.resources",
    "mem_limit": "use deploy.resources",
    "memswap_limit": "use deploy.resources",
}
IGNORED_BY_SWARM = (
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "container_name",
    "depends_on",
    "devices",
    "domainname",
    "expose",
    "external_links",
    "group_add",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "security_opt",
    "shm_size",
    "userns_mode",
)

ReadFile = Callable[[str], bytes]


@dataclass
class LoadedStack:
    """The merged long-form model plus what loading it needed and noticed."""

    model: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    used_env: dict[str, str] = field(default_factory=dict)
    files_read: dict[str, bytes] = field(default_factory=dict)


def parse_yaml(text: str, filename: str) -> dict[str, Any]:
    """The top-level mapping of one YAML document; InvalidRequest naming the file.

    Bounded (:mod:`sparkswarm.bounded`): a document that is too large or
    expands too far through aliases is refused before it is walked.
    """
    data = load_yaml(text, filename)
    if not isinstance(data, dict):
        raise InvalidRequest(f"{filename}: the top level must be a mapping")
    _check_keys(data, filename, "")
    return data


def _check_keys(value: Any, filename: str, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest(f"{filename}: {where or 'top level'}: non-string key {key!r}")
            _check_keys(item, filename, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_keys(item, filename, f"{where}[{index}]")


def parse_env_file(
    data: bytes, filename: str, lookup: Callable[[str], str | None]
) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments; a bare ``KEY`` takes the environment's value)."""
    result: dict[str, str] = {}
    for number, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key or any(c.isspace() for c in key):
            raise InvalidRequest(f"{filename}:{number}: variable {key!r} contains whitespace")
        if sep:
            result[key] = value
        else:
            looked_up = lookup(key)
            if looked_up is not None:
                result[key] = looked_up
    return result


def _resolve_environment(
    service: dict[str, Any], name: str, read: ReadFile, lookup: Callable[[str], str | None]
) -> None:
    variables: dict[str, str | None] = {}
    for path in service.pop("env_file", []) or []:
        try:
            data = read(path)
        except OSError as exc:
            raise InvalidRequest(
                f"services.{name}.env_file: cannot read {path}: {reason(exc)}"
            ) from None
        variables.update(parse_env_file(data, path, lookup))
    variables.update(service.get("environment", {}))
    resolved: dict[str, str | None] = {}
    for key, value in variables.items():
        # As the CLI: an unset or empty value is taken from the environment.
        from_env = lookup(key) if not value else None
        resolved[key] = from_env if from_env is not None else value
    if resolved or "environment" in service:
        service["environment"] = resolved


def load_file(
    filename: str,
    text: str,
    *,
    lookup: Callable[[str], str | None],
    working_dir: str,
    read: ReadFile,
    warnings: list[str],
) -> dict[str, Any]:
    """One file: parsed, interpolated, validated and in long form."""
    raw = parse_yaml(text, filename)
    for service_name, service in (raw.get("services") or {}).items():
        if isinstance(service, dict):
            for key, why in FORBIDDEN.items():
                if key in service:
                    raise InvalidRequest(f"{filename}: services.{service_name}.{key}: {why}")
    interpolated = interpolate_tree(raw, lookup, filename=filename, warnings=warnings)
    validate(interpolated, filename=filename)
    home = lookup("HOME")
    model: dict[str, Any] = {"services": {}}
    try:
        for section in ("networks", "volumes", "secrets", "configs"):
            model[section] = normalise_objects(section, interpolated.get(section), working_dir)
        for name, service in (interpolated.get("services") or {}).items():
            long_form = normalise_service(service, working_dir, home)
            _resolve_environment(long_form, name, read, lookup)
            model["services"][name] = long_form
            for key in IGNORED_BY_SWARM:
                if key in service:
                    warnings.append(f"{filename}: services.{name}.{key} is ignored by swarm")
            if "restart" in service and long_form["deploy"].get("restart_policy"):
                warnings.append(
                    f"{filename}: services.{name}.restart is ignored (deploy.restart_policy is set)"
                )
    except (ValueError, InvalidRequest) as exc:
        raise InvalidRequest(f"{filename}: {exc}") from None
    return model


def _check_references(model: dict[str, Any], files: list[tuple[str, dict[str, Any]]]) -> None:
    def origin(service: str, key: str, item: str) -> str:
        for filename, file_model in reversed(files):
            entry = file_model["services"].get(service, {})
            value = entry.get(key)
            if isinstance(value, dict) and item in value:
                return str(filename)
            if isinstance(value, list) and any(
                item in (v.get("source"), v.get("target")) for v in value
            ):
                return str(filename)
        return str(files[-1][0])

    for name, service in model["services"].items():
        where = f"services.{name}"
        if not service.get("image"):
            raise InvalidRequest(
                f"{origin(name, 'image', '')}: {where}.image: an image is required"
            )
        for network in service.get("networks") or {}:
            if network not in model["networks"] and network != "default":
                raise InvalidRequest(
                    f"{origin(name, 'networks', network)}: {where}.networks.{network}: "
                    f"undefined network {network!r} (declare it under top-level networks)"
                )
        for key in ("secrets", "configs"):
            for ref in service.get(key) or []:
                if ref.get("source") not in model[key]:
                    raise InvalidRequest(
                        f"{origin(name, key, ref.get('source'))}: {where}.{key}: "
                        f"undefined {key[:-1]} {ref.get('source')!r}"
                    )
        for volume in service.get("volumes") or []:
            source = volume.get("source")
            if (
                volume.get("type", "volume") == "volume"
                and source
                and source not in model["volumes"]
            ):
                raise InvalidRequest(
                    f"{origin(name, 'volumes', source)}: {where}.volumes: "
                    f"undefined volume {source!r}"
                )


def _attach_file_data(
    model: dict[str, Any], read: ReadFile, files: list[tuple[str, dict[str, Any]]]
) -> None:
    for section in ("secrets", "configs"):
        for name, item in model[section].items():
            if item.get("external") or item.get("driver"):
                continue
            if "file" not in item:
                origin = defining_file(files, section, name)
                raise InvalidRequest(f"{origin}: {section}.{name}: needs file, external or driver")
            try:
                item["data_b64"] = base64.b64encode(read(item["file"])).decode()
            except OSError as exc:
                origin = defining_file(files, section, name, ("file",))
                raise InvalidRequest(
                    f"{origin}: {section}.{name}.file: cannot read {item['file']}: {reason(exc)}"
                ) from None


def load_stack(
    files: list[tuple[str, str]],
    *,
    env: Mapping[str, str],
    working_dir: str,
    read_file: ReadFile,
) -> LoadedStack:
    """Load, validate and merge ``files`` (name, text) in order.

    ``env`` feeds interpolation and environment resolution; ``working_dir``
    anchors relative paths. Raises InvalidRequest naming the file and key.
    """
    if not files:
        raise InvalidRequest("no compose file given")
    loaded = LoadedStack(model={})

    def lookup(name: str) -> str | None:
        value = env.get(name)
        if value is not None:
            loaded.used_env[name] = value
        return value

    def read(path: str) -> bytes:
        data = read_file(path)
        loaded.files_read[path] = data
        return data

    per_file = [
        (
            name,
            load_file(
                name,
                text,
                lookup=lookup,
                working_dir=working_dir,
                read=read,
                warnings=loaded.warnings,
            ),
        )
        for name, text in files
    ]
    model = merge_files([m for _, m in per_file])
    _check_references(model, per_file)
    check_translatable(model, per_file)
    _attach_file_data(model, read, per_file)
    loaded.model = model
    return loaded
