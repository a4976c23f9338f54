"""Swarm membership: init, join, leave, and the join tokens.

Every function is keyword-only and safe to run twice: ``init_swarm`` on an
engine that is already in a swarm reports that swarm, ``join_swarm`` on an
engine already joined to the same swarm reports it, ``leave_swarm`` on an
engine in no swarm does nothing. Join tokens are secrets: they are returned
to the caller that asked for them and never logged or put in a result model.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from sparkswarm.errors import Conflict, InvalidRequest, OperationFailed, SparkswarmError
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.retry import update_with_retry

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

TokenRole = Literal["worker", "manager"]
TOKEN_PREFIX = "SWMTKN-1-"
# swarmkit: SWMTKN-1-<root CA digest, base36, 50>-<secret, base36, 25>.
JOIN_TOKEN_FORMAT = re.compile(r"SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}")
DEFAULT_SWARM_PORT = 2377


@dataclass(frozen=True, kw_only=True)
class SwarmStatus:
    """Where the engine behind the gateway stands in its swarm (results are
    frozen dataclasses: see :mod:`sparkswarm.services.models`)."""

    state: str
    node_id: str | None = None
    node_addr: str | None = None
    is_manager: bool = False
    cluster_id: str | None = None
    managers: int | None = None
    nodes: int | None = None
    remote_managers: list[str] = field(default_factory=list)
    changed: bool = False


@dataclass(frozen=True, kw_only=True)
class TokenRotation:
    """The outcome of a token rotation; the token itself is masked."""

    role: TokenRole
    token_masked: str
    changed: bool = True


def mask_token(token: str) -> str:
    """``SWMTKN-1-****...wxyz``: enough to tell tokens apart, useless to join with."""
    if not token:
        return ""
    prefix = TOKEN_PREFIX if token.startswith(TOKEN_PREFIX) else ""
    if len(token) - len(prefix) < 16:
        return f"{prefix}****"
    return f"{prefix}****...{token[-4:]}"


def swarm_status(gw: Gateway) -> SwarmStatus:
    """The engine's swarm state, from ``/info`` (works on workers too)."""
    swarm: dict[str, Any] = gw.info().get("Swarm") or {}
    cluster = swarm.get("Cluster") or {}
    return SwarmStatus(
        state=swarm.get("LocalNodeState") or "inactive",
        node_id=swarm.get("NodeID") or None,
        node_addr=swarm.get("NodeAddr") or None,
        is_manager=bool(swarm.get("ControlAvailable")),
        cluster_id=cluster.get("ID"),
        managers=swarm.get("Managers"),
        nodes=swarm.get("Nodes"),
        remote_managers=[m["Addr"] for m in swarm.get("RemoteManagers") or []],
    )


def validate_address_pools(pools: list[str]) -> list[str]:
    """Normalise CIDRs (``10.20.0.0/16``); InvalidRequest for anything else."""
    normalised = []
    for pool in pools:
        try:
            normalised.append(str(ipaddress.ip_network(pool, strict=True)))
        except ValueError as exc:
            raise InvalidRequest(
                f"--default-addr-pool {pool!r} is not a network CIDR: {exc}"
            ) from None
    return normalised


def validate_node_address(value: str | None, flag: str) -> str | None:
    """An ``--advertise-addr``/``--listen-addr`` value: IP, host or interface, optional port.

    Checked before looking at the engine, so a typo is refused even when the
    engine is already in a swarm. Empty means not given. Raises InvalidRequest
    for whitespace or a bad port.
    """
    if not value:
        return None
    if any(ch.isspace() for ch in value):
        raise InvalidRequest(f"{flag} {value!r} must be an address, host or interface[:port]")
    host, colon, port = value.rpartition(":")
    if colon and "]" not in port and host and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidRequest(f"{flag} {value!r} has a bad port")
    return value


def normalise_remote(remote: str) -> str:
    """``host`` -> ``host:2377``; InvalidRequest for an empty or malformed address."""
    remote = remote.strip()
    if not remote or remote.startswith(":") or " " in remote:
        raise InvalidRequest(f"manager address {remote!r} must look like HOST:2377")
    host, sep, port = remote.rpartition(":")
    if not sep or "]" in port:
        return f"{remote}:{DEFAULT_SWARM_PORT}"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidRequest(f"manager address {remote!r} has a bad port")
    return f"{host}:{port}"


def init_swarm(
    gw: Gateway,
    *,
    advertise_addr: str | None = None,
    listen_addr: str = "0.0.0.0:2377",
    default_addr_pool: list[str] | None = None,
    progress: ProgressFn = no_progress,
) -> SwarmStatus:
    """Make the engine the first manager of a new swarm, unless it is in one.

    An engine already in a swarm is reported (``changed=False``), never
    re-initialised. Raises InvalidRequest for a bad address pool, Conflict
    when the engine is half-way into a swarm (pending, locked, error).
    """
    pools = validate_address_pools(default_addr_pool or [])
    validate_node_address(advertise_addr, "--advertise-addr")
    validate_node_address(listen_addr, "--listen-addr")
    current = swarm_status(gw)
    if current.state == "active":
        progress("already part of a swarm", node_id=current.node_id)
        return current
    if current.state != "inactive":
        raise Conflict(
            f"the engine's swarm state is {current.state!r}; "
            "fix or leave (sparkswarm swarm leave --force) before init"
        )
    progress("initialising a new swarm", advertise_addr=advertise_addr)
    gw.init_swarm(
        advertise_addr=advertise_addr or None,
        listen_addr=listen_addr,
        default_addr_pool=pools or None,
    )
    return replace(swarm_status(gw), changed=True)


def join_swarm(
    gw: Gateway,
    *,
    token: str,
    remote: str,
    advertise_addr: str | None = None,
    listen_addr: str = "0.0.0.0:2377",
    availability: Literal["active", "pause", "drain"] = "active",
    progress: ProgressFn = no_progress,
) -> SwarmStatus:
    """Join the engine to the swarm managed at ``remote`` with ``token``.

    Already joined to that swarm (``remote`` is one of its managers): reported,
    ``changed=False``. In a different swarm: Conflict. A bad token or an
    unreachable manager: OperationFailed, after the Engine's own ~20 s wait,
    with the half-done join cancelled. ``availability`` lets a node join without receiving tasks
    (``drain``), as ``docker swarm join --availability`` does.
    """
    if not JOIN_TOKEN_FORMAT.fullmatch(token):
        raise InvalidRequest(
            "that is not a join token (SWMTKN-1-...; see: sparkswarm swarm join-token)"
        )
    if availability not in ("active", "pause", "drain"):
        raise InvalidRequest(f"availability must be active, pause or drain, not {availability!r}")
    remote = normalise_remote(remote)
    validate_node_address(advertise_addr, "--advertise-addr")
    validate_node_address(listen_addr, "--listen-addr")
    current = swarm_status(gw)
    if current.state == "active":
        if remote in current.remote_managers:
            progress("already joined to this swarm", node_id=current.node_id)
            return current
        raise Conflict(
            f"the engine is already in another swarm (managers: "
            f"{', '.join(current.remote_managers) or 'unknown'}); leave it first"
        )
    if current.state != "inactive":
        raise Conflict(f"the engine's swarm state is {current.state!r}; leave it first")
    progress("joining", remote=remote)
    try:
        gw.join_swarm(
            token=token,
            remote=remote,
            advertise_addr=advertise_addr,
            listen_addr=listen_addr,
            availability=availability,
        )
    except SparkswarmError as exc:
        # A stale (rotated) token or an unreachable manager is not refused at
        # once: the Engine gives up waiting after ~20 s and keeps retrying in
        # the background ("pending") forever. Cancel that, so a failed join
        # leaves the engine as it was.
        if swarm_status(gw).state != "pending":
            raise
        gw.leave_swarm(force=True)
        raise OperationFailed(
            f"joining {remote} did not complete ({exc}); the attempt was cancelled and the "
            "engine is in no swarm. Usual causes: a rotated (stale) join token, or the "
            "manager is unreachable from this node"
        ) from exc
    return replace(swarm_status(gw), changed=True)


def leave_swarm(
    gw: Gateway, *, force: bool = False, progress: ProgressFn = no_progress
) -> SwarmStatus:
    """Take the engine out of its swarm; nothing to do if it is in none.

    A manager leaves only with ``force`` (it weakens the swarm's quorum, and
    the last manager takes the whole swarm with it): InvalidRequest otherwise.
    """
    current = swarm_status(gw)
    if current.state == "inactive":
        progress("not in a swarm")
        return current
    if current.is_manager and not force:
        raise InvalidRequest(
            "this engine is a swarm manager: demote it first, or use --force "
            "(leaving the last manager destroys the swarm)"
        )
    progress("leaving the swarm", node_id=current.node_id)
    gw.leave_swarm(force=force)
    return replace(swarm_status(gw), changed=True)


def _check_role(role: str) -> TokenRole:
    if role == "worker":
        return "worker"
    if role == "manager":
        return "manager"
    raise InvalidRequest(f"role must be worker or manager, not {role!r}")


def read_join_token(gw: Gateway, *, role: str) -> str:
    """The current join token for ``role`` (a secret: do not log it).

    Reading is not an operation (it changes nothing, and a record of it would
    hold the secret). Raises InvalidRequest if the engine is not a manager.
    """
    checked = _check_role(role)
    tokens = gw.inspect_swarm()["JoinTokens"]
    token: str = tokens["Worker" if checked == "worker" else "Manager"]
    return token


def rotate_join_token(
    gw: Gateway, *, role: str, progress: ProgressFn = no_progress
) -> TokenRotation:
    """Replace the ``role`` join token; nodes that joined with the old one stay.

    Retries a bounded number of times when the swarm spec changed meanwhile.
    The result carries the new token masked; read it with read_join_token.
    """
    checked = _check_role(role)

    def rotate(swarm: dict[str, Any]) -> None:
        # The spec is resent as is: update_swarm replaces it.
        gw.update_swarm(
            swarm["Version"]["Index"],
            swarm["Spec"],
            rotate_worker_token=checked == "worker",
            rotate_manager_token=checked == "manager",
        )

    update_with_retry(gw.inspect_swarm, rotate)
    progress(f"{checked} join token rotated")
    return TokenRotation(role=checked, token_masked=mask_token(read_join_token(gw, role=checked)))
