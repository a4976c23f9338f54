"""Parsing of single ``service`` flag values into Engine API structures (pure).

Each function takes the text a user typed (``--publish``, ``--mount``,
``--env``, ``--limit-memory`` ...) and returns the JSON the Engine expects,
or raises InvalidRequest with a message that says what was wrong and what
is accepted. Nothing here talks to the engine.
"""

from __future__ import annotations

import re
from typing import Any

from sparkswarm.errors import InvalidRequest

# swarmkit's own rule for service names (controlapi: a DNS label, at most 63
# characters), so the engine would refuse anything this refuses.
_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")
MAX_SERVICE_NAME = 63

PUBLISH_MODES = ("ingress", "host")
PROTOCOLS = ("tcp", "udp", "sctp")
MOUNT_TYPES = ("bind", "volume", "tmpfs")


def validate_service_name(name: str) -> str:
    """Return ``name`` if the engine would accept it as a service name.

    Raises InvalidRequest otherwise.
    """
    if not name:
        raise InvalidRequest("service name is empty")
    if len(name) > MAX_SERVICE_NAME:
        raise InvalidRequest(
            f"invalid service name {name!r}: longer than {MAX_SERVICE_NAME} characters"
        )
    if not _SERVICE_NAME.match(name):
        raise InvalidRequest(
            f"invalid service name {name!r}: use letters, digits, '-' and '_', "
            "starting and ending with a letter or digit"
        )
    return name


def validate_image(image: str) -> str:
    """Return ``image`` if it looks like an image reference; InvalidRequest if not."""
    if not image or any(ch.isspace() for ch in image) or image.startswith(("-", ":", "@")):
        raise InvalidRequest(f"invalid image reference {image!r}")
    return image


# --- ports -----------------------------------------------------------------


def _port_number(text: str, what: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InvalidRequest(f"invalid {what} port {text!r} in --publish {spec!r} (1-65535)")
    return int(text)


def _protocol(text: str, spec: str) -> str:
    if text not in PROTOCOLS:
        raise InvalidRequest(
            f"invalid protocol {text!r} in --publish {spec!r}: one of {', '.join(PROTOCOLS)}"
        )
    return text


def parse_publish(spec: str) -> dict[str, Any]:
    """An EndpointSpec port from ``--publish`` text.

    Accepted forms (mode defaults to ingress, protocol to tcp)::

        8080:80   8080:80/udp   80   mode=host,8080:80
        mode=host,target=80,published=8080,protocol=tcp

    Raises InvalidRequest for anything else (port ranges and host IPs are not
    supported by swarm services).
    """
    port: dict[str, Any] = {"Protocol": "tcp", "PublishMode": "ingress"}
    short_seen = False
    for raw_part in spec.split(","):
        part = raw_part.strip()
        if not part:
            raise InvalidRequest(f"empty field in --publish {spec!r}")
        if "=" in part:
            key, _, value = part.partition("=")
            key = key.strip().lower()
            value = value.strip()
            if key == "mode":
                if value not in PUBLISH_MODES:
                    raise InvalidRequest(
                        f"invalid publish mode {value!r} in --publish {spec!r}: host or ingress"
                    )
                port["PublishMode"] = value
            elif key == "target":
                port["TargetPort"] = _port_number(value, "target", spec)
            elif key == "published":
                port["PublishedPort"] = _port_number(value, "published", spec)
            elif key == "protocol":
                port["Protocol"] = _protocol(value, spec)
            else:
                raise InvalidRequest(
                    f"unknown field {key!r} in --publish {spec!r}: "
                    "use mode, target, published, protocol"
                )
            continue
        if short_seen:
            raise InvalidRequest(f"more than one port mapping in --publish {spec!r}")
        short_seen = True
        ports, slash, protocol = part.partition("/")
        if slash:
            port["Protocol"] = _protocol(protocol, spec)
        published, colon, target = ports.rpartition(":")
        if colon:
            if ":" in published or "." in published:
                raise InvalidRequest(
                    f"host IPs are not supported by swarm services: --publish {spec!r}"
                )
            port["PublishedPort"] = _port_number(published, "published", spec)
        port["TargetPort"] = _port_number(target, "target", spec)
    if "TargetPort" not in port:
        raise InvalidRequest(f"--publish {spec!r} has no target port")
    return port


def port_matches_removal(port: dict[str, Any], spec: str) -> bool:
    """Whether ``--publish-rm spec`` removes ``port``.

    ``spec`` is a target port (``80``, ``80/udp``) as the docker CLI takes it,
    or any form parse_publish accepts (then the published port must match too).
    """
    text = spec.strip()
    target, slash, protocol = text.partition("/")
    if target.isdigit() and "," not in text:
        return bool(
            port.get("TargetPort") == int(target)
            and port.get("Protocol", "tcp") == (protocol if slash else "tcp")
        )
    wanted = parse_publish(text)
    return all(
        port.get(key) == wanted[key]
        for key in ("TargetPort", "Protocol", "PublishedPort")
        if key in wanted
    )


def ports_to_remove(ports: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    """The ports ``--publish-rm spec`` removes from ``ports``.

    A bare number (``8080``, ``8080/udp``) is a target port, as the docker
    CLI takes it; when no port has that target, it is matched against the
    published ports instead (``--publish-rm 8080`` for ``8080:80``), which
    docker silently ignores. Other forms as :func:`port_matches_removal`.
    """
    matched = [port for port in ports if port_matches_removal(port, spec)]
    text = spec.strip()
    number, slash, protocol = text.partition("/")
    if matched or not number.isdigit() or "," in text:
        return matched
    wanted = (int(number), protocol if slash else "tcp")
    return [p for p in ports if (p.get("PublishedPort"), p.get("Protocol", "tcp")) == wanted]


def describe_ports(ports: list[dict[str, Any]]) -> str:
    """``8080:80/tcp (host), 53/udp`` for a list of EndpointSpec ports."""
    shown = []
    for port in ports:
        published = f"{port['PublishedPort']}:" if port.get("PublishedPort") else ""
        text = f"{published}{port.get('TargetPort')}/{port.get('Protocol', 'tcp')}"
        if port.get("PublishMode") == "host":
            text += " (host)"
        shown.append(text)
    return ", ".join(shown) or "none"


def validate_port_removal(spec: str) -> str:
    """``spec`` if ``--publish-rm`` takes it (see port_matches_removal); InvalidRequest if not.

    Checked whether or not the service publishes anything, so a typo is
    refused instead of silently removing nothing.
    """
    text = spec.strip()
    target, slash, protocol = text.partition("/")
    try:
        if target.isdigit() and "," not in text:
            _port_number(target, "target", spec)
            if slash:
                _protocol(protocol, spec)
        else:
            parse_publish(text)
    except InvalidRequest as exc:
        raise InvalidRequest(
            f"invalid --publish-rm {spec!r}: give a target port (80, 80/udp) "
            f"or a --publish form ({exc})"
        ) from None
    return spec


# --- key=value lists -------------------------------------------------------


def parse_key_values(items: list[str], flag: str, *, allow_bare: bool = False) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}`` (later items win).

    With ``allow_bare`` an item without ``=`` maps to ``""`` (labels allow that).
    Raises InvalidRequest for an empty key or, without ``allow_bare``, a missing ``=``.
    """
    result: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not key or (not equals and not allow_bare):
            raise InvalidRequest(f"invalid {flag} {item!r}: expected KEY=VALUE")
        if any(ch.isspace() for ch in key):
            raise InvalidRequest(f"invalid {flag} {item!r}: the key contains whitespace")
        result[key] = value
    return result


def env_list(env: dict[str, str]) -> list[str]:
    """Engine form of an environment: ``["A=1", ...]`` in insertion order."""
    return [f"{key}={value}" for key, value in env.items()]


def parse_constraint(text: str) -> str:
    """A placement constraint such as ``node.role==manager``; InvalidRequest if malformed."""
    match = re.fullmatch(r"\s*([\w.\-]+)\s*(==|!=)\s*(\S.*?)\s*", text)
    if match is None:
        raise InvalidRequest(
            f"invalid --constraint {text!r}: expected ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE, "
            "e.g. node.role==manager"
        )
    return f"{match.group(1)}{match.group(2)}{match.group(3)}"


# --- mounts ----------------------------------------------------------------

_TRUE = ("", "1", "true", "yes")
_FALSE = ("0", "false", "no")


def parse_mount(spec: str) -> dict[str, Any]:
    """An Engine ``Mount`` from docker CLI ``--mount`` text.

    ``type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=64m]``;
    ``src``, ``dst``/``destination`` and ``ro`` are accepted aliases, the type
    defaults to volume. Raises InvalidRequest when a field is unknown, the
    target is missing or not absolute, a bind source is not absolute, or a
    tmpfs mount has a source.
    """
    mount: dict[str, Any] = {"Type": "volume"}
    tmpfs: dict[str, Any] = {}
    for raw_field in spec.split(","):
        field = raw_field.strip()
        key, equals, value = field.partition("=")
        key = key.lower()
        if key == "type":
            if value not in MOUNT_TYPES:
                raise InvalidRequest(
                    f"invalid mount type {value!r} in --mount {spec!r}: bind, volume or tmpfs"
                )
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            if value.lower() not in _TRUE + _FALSE:
                raise InvalidRequest(f"invalid readonly value {value!r} in --mount {spec!r}")
            if value.lower() in _TRUE:
                mount["ReadOnly"] = True
        elif key == "tmpfs-size" and equals:
            tmpfs["SizeBytes"] = memory_flag(value, "--mount tmpfs-size")
        else:
            raise InvalidRequest(
                f"unknown field {field!r} in --mount {spec!r}: "
                "use type, source, target, readonly, tmpfs-size"
            )
    target = mount.get("Target")
    if not target or not str(target).startswith("/"):
        raise InvalidRequest(f"--mount {spec!r} needs an absolute target=/path")
    if mount["Type"] == "bind" and not str(mount.get("Source", "")).startswith("/"):
        raise InvalidRequest(f"bind --mount {spec!r} needs an absolute source=/path")
    if mount["Type"] == "tmpfs" and mount.get("Source"):
        raise InvalidRequest(f"tmpfs --mount {spec!r} cannot have a source")
    if tmpfs:
        if mount["Type"] != "tmpfs":
            raise InvalidRequest(f"tmpfs-size only applies to type=tmpfs in --mount {spec!r}")
        mount["TmpfsOptions"] = tmpfs
    return mount


# --- durations and resources: Go's syntax (sparkswarm.units), our ranges -----


def duration_flag(text: str, flag: str = "duration") -> int:
    """Nanoseconds in a Go duration (``10s``, ``1m30s``, ``500ms``) for a swarm setting.

    Raises InvalidRequest when ``text`` is not a duration (Go's rules: no
    spaces, an int64 of nanoseconds) or is negative (no swarm setting takes one).
    """
    from sparkswarm.units import parse_duration

    try:
        nanoseconds = parse_duration(text)
    except ValueError as exc:
        reason = str(exc).removeprefix("time: ")
        detail = "" if reason.startswith("invalid duration") else f"{reason}; "
        raise InvalidRequest(
            f"invalid duration {text!r} for {flag}: {detail}use a number with a unit "
            "(ns, us, ms, s, m, h), e.g. 10s, 1m30s or 500ms"
        ) from None
    if nanoseconds < 0:
        raise InvalidRequest(f"invalid duration {text!r} for {flag}: must not be negative")
    return nanoseconds


def memory_flag(text: str, flag: str = "memory") -> int:
    """Bytes in ``text``: ``512m``, ``1g``, ``1.5g``, ``64mb``, ``1024`` (binary units).

    Raises InvalidRequest when ``text`` is not a size more than 0.
    """
    from sparkswarm.units import parse_ram_bytes

    try:
        size = parse_ram_bytes(text)
    except ValueError:
        raise InvalidRequest(f"invalid {flag} {text!r}: use e.g. 512m, 1g or 1.5g") from None
    if size <= 0:
        raise InvalidRequest(f"invalid {flag} {text!r}: must be more than 0")
    return size


def cpus_flag(text: str, flag: str = "cpu") -> int:
    """NanoCPUs in ``text`` (``0.5`` -> 500_000_000).

    Raises InvalidRequest when ``text`` is not a number more than 0 or is finer than 1e-9.
    """
    from sparkswarm.units import parse_nano_cpus

    try:
        nano = parse_nano_cpus(text)
    except ValueError as exc:
        raise InvalidRequest(f"invalid {flag} {text!r}: {exc}; use e.g. 0.5") from None
    if nano <= 0:
        raise InvalidRequest(f"invalid {flag} {text!r}: must be a number more than 0")
    return nano
