"""One compose file, validated, to its long form (pure).

Short syntaxes become the long ones the CLI's loader produces: ports
``"8080:80"`` -> ``{mode: ingress, protocol: tcp, target: 80, published: 8080}``,
volumes ``"data:/d:ro"`` -> ``{type: volume, source: data, target: /d, read_only: true}``,
``environment``/``labels`` lists -> mappings, secrets/configs names -> ``{source: ...}``,
string commands -> argv lists, relative paths -> absolute ones (against the
folder of the first file, as the CLI does).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

PROPAGATIONS = ("rprivate", "private", "rshared", "shared", "rslave", "slave")
_PORT_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def go_string(value: Any) -> str:
    """``fmt.Sprint`` of a YAML scalar: booleans lower-case, whole floats without ``.0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _port_range(text: str) -> tuple[int, int]:
    match = _PORT_RANGE.match(text)
    if not match:
        raise ValueError(f"invalid port {text!r}")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start or end > 65535:
        raise ValueError(f"invalid port range {text!r}")
    return start, end


def parse_port_spec(spec: str) -> list[dict[str, Any]]:
    """Long-syntax ports for one short spec ``[ip:][host[-host]:]container[-container][/proto]``.

    Mirrors go-connections ``nat.ParsePortSpec`` + the CLI's
    ``ConvertPortToPortConfig``; raises ValueError for a bad spec.
    """
    body, _, protocol = spec.partition("/")
    protocol = (protocol or "tcp").lower()
    if protocol not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid protocol {protocol!r}")
    if body.startswith("["):  # [ipv6]:host:container
        closing = body.find("]")
        body = body[closing + 2 :] if closing > 0 else body
        parts = ["", *body.split(":")] if body.count(":") == 1 else body.split(":")
    else:
        parts = body.split(":")
    if len(parts) == 1:
        host, container = "", parts[0]
    elif len(parts) == 2:
        host, container = parts
    elif len(parts) == 3:
        host, container = parts[1], parts[2]
    else:
        raise ValueError(f"invalid port spec {spec!r}")
    if not container:
        raise ValueError(f"no container port in {spec!r}")
    start, end = _port_range(container)
    host_start = host_end = 0
    if host:
        host_start, host_end = _port_range(host)
    if host and (end - start) != (host_end - host_start) and end != start:
        raise ValueError(f"invalid ranges for container and host ports in {spec!r}")
    ports = []
    for offset in range(end - start + 1):
        if not host:
            published = [0]
        elif end == start:
            published = list(range(host_start, host_end + 1))
        else:
            published = [host_start + offset]
        for port in published:
            ports.append(
                {
                    "mode": "ingress",
                    "protocol": protocol,
                    "target": start + offset,
                    "published": port,
                }
            )
    return ports


def parse_volume_spec(spec: str) -> dict[str, Any]:
    """Long-syntax volume for ``[source:]target[:options]`` (docker/cli ParseVolume)."""
    if len(spec) <= 2:
        return {"type": "volume", "target": spec}
    fields = spec.split(":")
    if any(not field for field in fields):
        raise ValueError(f"invalid spec {spec!r}: empty section between colons")
    if len(fields) > 3:
        raise ValueError(f"invalid spec {spec!r}: too many colons")
    volume: dict[str, Any] = {}
    if len(fields) == 1:
        volume["target"] = fields[0]
    else:
        volume["source"], volume["target"] = fields[0], fields[1]
    if len(fields) == 3:
        for option in fields[2].split(","):
            if option in ("ro", "rw"):
                volume["read_only"] = option == "ro"
            elif option == "nocopy":
                volume["volume"] = {"nocopy": True}
            elif option in PROPAGATIONS:
                volume["bind"] = {"propagation": option}
    source = volume.get("source", "")
    volume["type"] = "bind" if source[:1] in (".", "/", "~") else "volume"
    return volume


def _mapping(value: Any, *, allow_none: bool) -> dict[str, str | None]:
    """A ``list_or_dict`` as a mapping (``KEY`` alone: None or "" as the CLI does)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {
            str(k): (None if v is None and allow_none else go_string("" if v is None else v))
            for k, v in value.items()
        }
    result: dict[str, str | None] = {}
    for item in value:
        key, sep, rest = str(item).partition("=")
        result[key] = rest if sep else (None if allow_none else "")
    return result


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def absolute(working_dir: str, path: str, home: str | None = None) -> str:
    """``path`` made absolute against ``working_dir`` (``~`` is ``home``)."""
    if path.startswith("~") and home:
        path = path.replace("~", home, 1)
    return path if posixpath.isabs(path) else posixpath.normpath(posixpath.join(working_dir, path))


def normalise_service(
    service: dict[str, Any], working_dir: str, home: str | None
) -> dict[str, Any]:
    """A validated service mapping in long form (environment resolved later)."""
    out = dict(service)
    for key in ("command", "entrypoint"):
        if key in out:
            out[key] = _command(out[key])
    for key in ("dns", "dns_search", "tmpfs", "env_file"):
        if key in out:
            out[key] = _string_list(out[key])
    if "env_file" in out:
        out["env_file"] = [absolute(working_dir, path) for path in out["env_file"]]
    if "environment" in out:
        out["environment"] = _mapping(out["environment"], allow_none=True)
    if "labels" in out:
        out["labels"] = _mapping(out["labels"], allow_none=False)
    if "sysctls" in out:
        out["sysctls"] = _mapping(out["sysctls"], allow_none=False)
    if isinstance(out.get("extra_hosts"), dict):
        out["extra_hosts"] = sorted(f"{k}:{go_string(v)}" for k, v in out["extra_hosts"].items())
    if isinstance(out.get("networks"), list):
        out["networks"] = {name: None for name in out["networks"]}
    if "ports" in out:
        ports: list[dict[str, Any]] = []
        for entry in out["ports"]:
            if isinstance(entry, dict):
                ports.append(dict(entry))
            else:
                ports.extend(
                    sorted(
                        parse_port_spec(str(entry)), key=lambda p: f"{p['target']}/{p['protocol']}"
                    )
                )
        out["ports"] = ports
    if "volumes" in out:
        volumes = []
        for entry in out["volumes"]:
            volume = dict(entry) if isinstance(entry, dict) else parse_volume_spec(entry)
            if volume.get("type") == "bind" and volume.get("source"):
                volume["source"] = absolute(working_dir, volume["source"], home)
            volumes.append(volume)
        out["volumes"] = volumes
    for key in ("secrets", "configs"):
        if key in out:
            out[key] = [{"source": e} if isinstance(e, str) else dict(e) for e in out[key]]
    if isinstance(out.get("healthcheck"), dict) and isinstance(out["healthcheck"].get("test"), str):
        out["healthcheck"] = {
            **out["healthcheck"],
            "test": ["CMD-SHELL", out["healthcheck"]["test"]],
        }
    deploy = dict(out.get("deploy") or {})
    if "labels" in deploy:
        deploy["labels"] = _mapping(deploy["labels"], allow_none=False)
    out["deploy"] = deploy
    return out


def normalise_objects(
    section: str, objects: dict[str, Any] | None, working_dir: str
) -> dict[str, dict[str, Any]]:
    """Top-level networks/volumes/secrets/configs in long form.

    ``external: {name: x}`` becomes ``external: true, name: x``; an external
    object without a name is named after its key; files become absolute.
    Raises ValueError for the conflicts the CLI rejects.
    """
    result: dict[str, dict[str, Any]] = {}
    for key, raw in (objects or {}).items():
        item = dict(raw or {})
        if "labels" in item:
            item["labels"] = _mapping(item["labels"], allow_none=False)
        external = item.get("external")
        if isinstance(external, dict):
            if external.get("name"):
                if item.get("name"):
                    raise ValueError(f"{section}.{key}: external.name and name conflict; use name")
                item["name"] = external["name"]
            item["external"] = True
        if item.get("external"):
            item.setdefault("name", key)
            if section == "volumes":
                for conflicting in ("driver", "driver_opts", "labels"):
                    if item.get(conflicting):
                        raise ValueError(
                            f"volumes.{key}: external and {conflicting} cannot both be set"
                        )
        elif section in ("secrets", "configs") and "file" in item:
            item["file"] = absolute(working_dir, item["file"])
        if "driver_opts" in item:
            item["driver_opts"] = {k: go_string(v) for k, v in item["driver_opts"].items()}
        result[key] = item
    return result
