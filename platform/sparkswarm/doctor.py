"""``sparkswarm swarm doctor``: is this swarm fit to run services?

Two halves, kept apart so the verdicts can be unit tested from given facts:

- :func:`sparkswarm.doctor_probe.probe` gathers :class:`DoctorFacts` (Engine
  API, ``/proc`` of this host, a throw-away overlay network);
- :func:`evaluate` turns facts into :class:`Check` verdicts (ok / warn /
  fail, each with a one-line fix). It does no I/O.

:func:`sparkswarm.doctor_probe.run_doctor` does both.

Host facts (listening ports, IPVS) are only meaningful when the engine runs
on this host, which we decide by trying to bind the node's own address here;
otherwise they are reported as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sparkswarm.model_base import LazyModel
from sparkswarm.nodes import failures_tolerated, quorum_size

Status = Literal["ok", "warn", "fail"]
MIN_API_VERSION = (1, 41)
# port/proto -> needed on managers only?
SWARM_PORTS: dict[str, bool] = {
    "2377/tcp": True,
    "7946/tcp": False,
    "7946/udp": False,
    "4789/udp": False,
}
IPVS_PATH = Path("/proc/sys/net/ipv4/vs")
PROC_NET = Path("/proc/net")


class Check(LazyModel):
    """One verdict of the doctor."""

    name: str
    status: Status
    summary: str
    fix: str = ""


@dataclass
class DoctorFacts:
    """What the probe found; None means "could not be determined"."""

    engine_error: str | None = None
    api_version: str | None = None
    server_version: str | None = None
    swarm_state: str | None = None
    swarm_error: str = ""
    is_manager: bool = False
    managers: int | None = None
    reachable_managers: int | None = None
    unreachable_managers: list[str] = field(default_factory=list)
    engine_is_local: bool = False
    listening: dict[str, bool] = field(default_factory=dict)
    ipvs_present: bool | None = None
    ingress_present: bool | None = None
    overlay_error: str | None = None
    overlay_tested: bool = False
    control_error: str | None = None
    queue_configured: bool = False
    secret_key: Literal["unset", "invalid", "set"] = "unset"


# --- pure verdicts ------------------------------------------------------------


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def check_engine(facts: DoctorFacts) -> Check:
    """Engine reachable, and new enough."""
    if facts.engine_error is not None:
        return Check(
            name="engine",
            status="fail",
            summary=f"unreachable: {facts.engine_error}",
            fix="start dockerd or set SPARKSWARM_MANAGERS to a reachable manager",
        )
    version = facts.api_version or "?"
    summary = f"Docker {facts.server_version or '?'}, API {version}"
    if _version_tuple(version) < MIN_API_VERSION:
        return Check(
            name="engine",
            status="fail",
            summary=summary + " (too old)",
            fix="upgrade Docker Engine to 20.10 or newer (API 1.41)",
        )
    return Check(name="engine", status="ok", summary=summary)


def check_swarm_state(facts: DoctorFacts) -> Check:
    """The engine is an active swarm member."""
    state = facts.swarm_state
    if state == "active":
        role = "manager" if facts.is_manager else "worker"
        return Check(name="swarm", status="ok", summary=f"active ({role})")
    fixes = {
        "inactive": "run: sparkswarm swarm init --advertise-addr <this host's address>",
        "pending": "wait for the join to finish, or: sparkswarm swarm leave --force",
        "locked": "unlock it: docker swarm unlock",
        "error": "see `docker info`; then: sparkswarm swarm leave --force and join again",
    }
    detail = f": {facts.swarm_error}" if facts.swarm_error else ""
    return Check(
        name="swarm",
        status="fail",
        summary=f"state {state or 'unknown'}{detail}",
        fix=fixes.get(state or "", "check `docker info`"),
    )


def check_quorum(facts: DoctorFacts) -> Check:
    """Manager count, reachable majority, and whether losing one manager is survivable."""
    if facts.control_error is not None:
        return Check(
            name="managers",
            status="fail",
            summary=f"the control plane does not answer: {facts.control_error}",
            fix="bring managers back until a majority is up, "
            "or recover: docker swarm init --force-new-cluster",
        )
    if not facts.is_manager or facts.managers is None:
        return Check(
            name="managers",
            status="warn",
            summary="unknown (not connected to a manager)",
            fix="point SPARKSWARM_MANAGERS at a manager to check quorum",
        )
    total = facts.managers
    reachable = facts.reachable_managers if facts.reachable_managers is not None else total
    needed = quorum_size(total)
    tolerated = failures_tolerated(total)
    summary = f"{reachable}/{total} reachable, quorum {needed}, tolerates {tolerated} loss(es)"
    if facts.unreachable_managers:
        summary += f" (unreachable: {', '.join(facts.unreachable_managers)})"
    if reachable < needed:
        return Check(
            name="managers",
            status="fail",
            summary=summary + ": quorum LOST",
            fix="bring managers back, or recover: docker swarm init --force-new-cluster",
        )
    if reachable - 1 < needed:
        return Check(
            name="managers",
            status="warn",
            summary=summary + ": losing one manager loses quorum",
            fix="promote workers so there are 3 (or 5) reachable managers",
        )
    if total % 2 == 0:
        return Check(
            name="managers",
            status="warn",
            summary=summary + " (even count)",
            fix="use an odd number of managers; the extra one adds no fault tolerance",
        )
    return Check(name="managers", status="ok", summary=summary)


def check_ports(facts: DoctorFacts) -> Check:
    """Swarm ports listening on this host (managers need 2377/tcp as well)."""
    if not facts.engine_is_local:
        return Check(
            name="ports",
            status="warn",
            summary="unknown: the engine is not on this host",
            fix="run `sparkswarm swarm doctor` on the node itself to check its ports",
        )
    needed = [
        p for p, managers_only in SWARM_PORTS.items() if facts.is_manager or not managers_only
    ]
    missing = [p for p in needed if not facts.listening.get(p)]
    if not missing:
        return Check(name="ports", status="ok", summary="listening: " + ", ".join(needed))
    # The VXLAN socket opens with the first overlay network in use here.
    if missing == ["4789/udp"]:
        return Check(
            name="ports",
            status="warn",
            summary="4789/udp (VXLAN) not open yet",
            fix="normal until an overlay network is used on this node; "
            "else allow 4789/udp in the firewall",
        )
    return Check(
        name="ports",
        status="fail",
        summary="not listening: " + ", ".join(missing),
        fix="check the swarm's --listen-addr and firewall (2377/tcp, 7946/tcp+udp, 4789/udp)",
    )


def check_ipvs(facts: DoctorFacts) -> Check:
    """IPVS in the kernel: the routing mesh and VIP endpoints need it."""
    if facts.ipvs_present is None:
        return Check(
            name="ipvs",
            status="warn",
            summary="unknown: the engine is not on this host",
            fix="run the doctor on the node itself",
        )
    if facts.ipvs_present:
        return Check(name="ipvs", status="ok", summary="present: routing mesh and VIP usable")
    return Check(
        name="ipvs",
        status="warn",
        summary="absent: the routing mesh (ingress) and VIP will not carry traffic",
        fix="publish ports with mode=host and use --endpoint-mode dnsrr (or load ip_vs)",
    )


def check_overlay(facts: DoctorFacts) -> Check:
    """Overlay networking usable: a test network could be created, ingress exists."""
    if facts.overlay_error is not None:
        return Check(
            name="overlay",
            status="fail",
            summary=f"cannot create an overlay network: {facts.overlay_error}",
            fix="check `docker info` and the dockerd log",
        )
    if facts.control_error is not None:
        return Check(
            name="overlay",
            status="warn",
            summary="not tested: the control plane does not answer",
            fix="restore the managers' quorum first",
        )
    if not facts.is_manager:
        return Check(
            name="overlay",
            status="warn",
            summary="not tested (needs a manager)",
            fix="point SPARKSWARM_MANAGERS at a manager",
        )
    if facts.ingress_present is False:
        return Check(
            name="overlay",
            status="warn",
            summary="the ingress network is missing (published ingress ports will not work)",
            fix="docker network create --driver overlay --ingress ingress",
        )
    if not facts.overlay_tested:
        return Check(
            name="overlay",
            status="ok",
            summary="ingress network present (no test network created)",
        )
    return Check(name="overlay", status="ok", summary="test overlay network created and removed")


_KEY_HINT = (
    "set SPARKSWARM_SECRET_KEY to a Fernet key: python -c 'from cryptography.fernet "
    "import Fernet; print(Fernet.generate_key().decode())'"
)


def check_secret_key(facts: DoctorFacts) -> Check:
    """Secret parameters (join tokens, secret files) sealed in Redis, or not."""
    if not facts.queue_configured:
        return Check(name="secrets", status="ok", summary="no queue configured: none kept in Redis")
    if facts.secret_key == "invalid":
        return Check(
            name="secrets",
            status="fail",
            summary="SPARKSWARM_SECRET_KEY is not a Fernet key",
            fix=_KEY_HINT,
        )
    if facts.secret_key == "unset":
        return Check(
            name="secrets",
            status="warn",
            summary="no SPARKSWARM_SECRET_KEY: secret parameters sit in Redis in clear while "
            "their run is queued, and schedules with secret parameters are refused",
            fix=_KEY_HINT,
        )
    return Check(name="secrets", status="ok", summary="secret parameters are sealed in Redis")


def secret_key_state(key: str | None) -> Literal["unset", "invalid", "set"]:
    """Whether ``key`` (SPARKSWARM_SECRET_KEY) is missing, malformed or usable."""
    if not key:
        return "unset"
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except ValueError:
        return "invalid"
    return "set"


def evaluate(facts: DoctorFacts) -> list[Check]:
    """Every verdict for ``facts``; only the engine check when it is unreachable."""
    engine = check_engine(facts)
    if facts.engine_error is not None:
        return [engine]
    swarm = check_swarm_state(facts)
    checks = [engine, swarm]
    if swarm.status == "ok":
        checks.append(check_quorum(facts))
    checks += [check_ports(facts), check_ipvs(facts)]
    if swarm.status == "ok":
        checks.append(check_overlay(facts))
    checks.append(check_secret_key(facts))
    return checks


def has_failures(checks: list[Check]) -> bool:
    """True if any check failed (the CLI then exits 1)."""
    return any(c.status == "fail" for c in checks)
