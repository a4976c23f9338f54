"""Networks: create (overlay by default), list, remove.

``create_network`` asserts the world: a network of that name with the same
options is left alone, one with different options is a Conflict (networks
cannot be updated in place; remove it first). ``remove_network`` of an absent
network succeeds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import Conflict, InvalidRequest, NotFound
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.waiting import poll

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

# Docker's own rule for object names.
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DRIVERS = ("overlay", "bridge", "macvlan", "ipvlan")


@dataclass(frozen=True, kw_only=True)
class NetworkInfo:
    """One network as ``network ls`` shows it (results are frozen dataclasses:
    see :mod:`sparkswarm.services.models`)."""

    id: str
    name: str
    driver: str
    scope: str
    attachable: bool = False
    encrypted: bool = False
    internal: bool = False
    ingress: bool = False
    subnets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class NetworkChange:
    """The result of create/rm: the network (None once removed) and whether anything changed."""

    name: str
    network: NetworkInfo | None = None
    changed: bool


@dataclass(frozen=True, kw_only=True)
class NetworkRequest:
    """What the caller asked for, checked by :func:`validate_network_request`;
    compared with what exists."""

    name: str
    driver: str = "overlay"
    attachable: bool = False
    encrypted: bool = False
    subnet: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def network_info(raw: Mapping[str, Any]) -> NetworkInfo:
    """Translate the Engine's network object into a :class:`NetworkInfo`."""
    ipam = raw.get("IPAM") or {}
    return NetworkInfo(
        id=raw["Id"],
        name=raw["Name"],
        driver=raw.get("Driver", ""),
        scope=raw.get("Scope", ""),
        attachable=bool(raw.get("Attachable")),
        encrypted="encrypted" in (raw.get("Options") or {}),
        internal=bool(raw.get("Internal")),
        ingress=bool(raw.get("Ingress")),
        subnets=[c["Subnet"] for c in ipam.get("Config") or [] if c.get("Subnet")],
        labels=dict(raw.get("Labels") or {}),
    )


def validate_network_name(name: str) -> str:
    """``name`` if Docker accepts it as a network name; InvalidRequest otherwise."""
    if not _NAME.match(name):
        raise InvalidRequest(f"network name {name!r} must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    return name


def validate_network_request(
    *,
    name: str,
    driver: str = "overlay",
    attachable: bool = False,
    encrypted: bool = False,
    subnet: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> NetworkRequest:
    """Check the request; InvalidRequest for a bad name, driver or subnet."""
    validate_network_name(name)
    if driver not in DRIVERS:
        raise InvalidRequest(f"driver must be one of {', '.join(DRIVERS)}, not {driver!r}")
    if encrypted and driver != "overlay":
        raise InvalidRequest("--encrypted applies to overlay networks only")
    if subnet is not None:
        try:
            subnet = str(ipaddress.ip_network(subnet, strict=True))
        except ValueError as exc:
            raise InvalidRequest(f"subnet {subnet!r} is not a network CIDR: {exc}") from None
    return NetworkRequest(
        name=name,
        driver=driver,
        attachable=attachable,
        encrypted=encrypted,
        subnet=subnet,
        labels=dict(labels or {}),
    )


def network_differences(request: NetworkRequest, existing: NetworkInfo) -> list[str]:
    """What differs between the request and an existing network (empty: the same)."""
    found = {
        "driver": (request.driver, existing.driver),
        "attachable": (request.attachable, existing.attachable),
        "encrypted": (request.encrypted, existing.encrypted),
        "labels": (request.labels, existing.labels),
    }
    if request.subnet is not None:
        found["subnet"] = ([request.subnet], existing.subnets)
    return [
        f"{key}: want {want}, have {have}" for key, (want, have) in found.items() if want != have
    ]


def find_network(gw: Gateway, name: str) -> NetworkInfo | None:
    """The network called exactly ``name`` (the Engine's filter matches substrings)."""
    for raw in gw.networks(names=[name]):
        if raw["Name"] == name:
            return network_info(raw)
    return None


def list_networks(gw: Gateway, *, driver: str | None = None) -> list[NetworkInfo]:
    """All networks (or those of ``driver``), sorted by name."""
    filters = {"driver": driver} if driver else None
    return sorted((network_info(raw) for raw in gw.networks(filters=filters)), key=lambda n: n.name)


def create_network(
    gw: Gateway,
    *,
    name: str,
    driver: str = "overlay",
    attachable: bool = False,
    encrypted: bool = False,
    subnet: str | None = None,
    labels: dict[str, str] | None = None,
    progress: ProgressFn = no_progress,
) -> NetworkChange:
    """Create network ``name`` unless the same one exists.

    Raises InvalidRequest for bad input and Conflict when a network of that
    name exists with other options.
    """
    request = validate_network_request(
        name=name,
        driver=driver,
        attachable=attachable,
        encrypted=encrypted,
        subnet=subnet,
        labels=labels,
    )
    existing = find_network(gw, name)
    if existing is not None:
        differences = network_differences(request, existing)
        if differences:
            raise Conflict(
                f"network {name} exists with other options ({'; '.join(differences)}); "
                "remove it first"
            )
        progress("network exists", network=name)
        return NetworkChange(name=name, network=existing, changed=False)
    ipam = {"Driver": "default", "Config": [{"Subnet": request.subnet}]} if request.subnet else None
    progress("creating network", network=name, driver=request.driver)
    created = gw.create_network(
        name,
        driver=request.driver,
        options={"encrypted": ""} if request.encrypted else None,
        ipam=ipam,
        attachable=request.attachable or None,
        labels=request.labels or None,
        # The Engine does not lock names: duplicates are refused only on request.
        check_duplicate=True,
    )
    # The swarm allocates a new network a moment after creating it; until
    # then the engine shows it without its driver and subnets.
    raw = poll(
        lambda: found if (found := gw.inspect_network(created)).get("Driver") else None,
        timeout=5.0,
        interval=0.01,
    )
    return NetworkChange(
        name=name, network=network_info(raw or gw.inspect_network(created)), changed=True
    )


def remove_network(gw: Gateway, *, name: str, progress: ProgressFn = no_progress) -> NetworkChange:
    """Remove network ``name``; an absent network is not an error (``changed=False``).

    Raises InvalidRequest for a name no network can have.
    """
    existing = find_network(gw, validate_network_name(name))
    if existing is None:
        return NetworkChange(name=name, changed=False)
    progress("removing network", network=name)
    try:
        gw.remove_network(existing.id)
    except NotFound:
        return NetworkChange(name=name, changed=False)
    return NetworkChange(name=name, changed=True)
