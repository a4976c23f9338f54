"""The doctor's probing half: gather :class:`~sparkswarm.doctor.DoctorFacts`.

Engine API answers, the sockets listening in this network namespace, IPVS,
and a throw-away overlay network. The verdicts are in :mod:`sparkswarm.doctor`;
:func:`run_doctor` gathers and judges.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from sparkswarm.doctor import (
    IPVS_PATH,
    PROC_NET,
    SWARM_PORTS,
    Check,
    DoctorFacts,
    evaluate,
    secret_key_state,
)
from sparkswarm.errors import SparkswarmError

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def listening_ports(proc_net: Path = PROC_NET) -> dict[str, bool]:
    """Which swarm ports have a listening (tcp) or bound (udp) socket in this netns."""
    found: dict[str, bool] = dict.fromkeys(SWARM_PORTS, False)
    for proto in ("tcp", "udp"):
        for table in (proto, proto + "6"):
            try:
                lines = (proc_net / table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) < 4:
                    continue
                port = int(fields[1].rsplit(":", 1)[1], 16)
                # tcp: 0A is LISTEN; udp: 07 is an unconnected bound socket.
                if fields[3] == ("0A" if proto == "tcp" else "07"):
                    key = f"{port}/{proto}"
                    if key in found:
                        found[key] = True
    return found


def address_is_local(address: str) -> bool:
    """True if ``address`` belongs to this host (network namespace): we can bind it."""
    if not address:
        return False
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def probe(gw: Gateway, *, test_overlay: bool = True) -> DoctorFacts:
    """Gather the facts. Never raises for an unreachable engine (it is a fact)."""
    from sparkswarm.config import get_settings

    settings = get_settings()
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    facts = DoctorFacts(queue_configured=bool(settings.redis_url), secret_key=secret_key_state(key))
    try:
        version = gw.version()
        info = gw.info()
    except SparkswarmError as exc:
        facts.engine_error = str(exc)
        return facts
    facts.api_version = version.get("ApiVersion")
    facts.server_version = version.get("Version")
    swarm = info.get("Swarm") or {}
    facts.swarm_state = swarm.get("LocalNodeState")
    facts.swarm_error = swarm.get("Error") or ""
    facts.is_manager = bool(swarm.get("ControlAvailable"))
    facts.engine_is_local = address_is_local(swarm.get("NodeAddr") or "")
    if facts.engine_is_local:
        facts.listening = listening_ports()
        facts.ipvs_present = IPVS_PATH.exists()
    if facts.is_manager and facts.swarm_state == "active":
        try:
            managers = gw.nodes(filters={"role": "manager"})
        except SparkswarmError as exc:
            # A manager without a Raft leader answers /info but nothing else.
            facts.control_error = str(exc)
            return facts
        facts.managers = len(managers)
        facts.reachable_managers = sum(
            1 for m in managers if (m.get("ManagerStatus") or {}).get("Reachability") == "reachable"
        )
        facts.unreachable_managers = sorted(
            (m.get("Description") or {}).get("Hostname") or m["ID"]
            for m in managers
            if (m.get("ManagerStatus") or {}).get("Reachability") != "reachable"
        )
        facts.ingress_present = any(
            n.get("Ingress") for n in gw.networks(filters={"driver": "overlay"})
        )
        if test_overlay:
            facts.overlay_error = _try_overlay(gw)
            facts.overlay_tested = True
    return facts


def _try_overlay(gw: Gateway) -> str | None:
    name = f"sparkswarm-doctor-{secrets.token_hex(4)}"
    try:
        created = gw.create_network(
            name, driver="overlay", attachable=True, labels={"sparkswarm.doctor": "probe"}
        )
    except SparkswarmError as exc:
        return str(exc)
    with contextlib.suppress(SparkswarmError):
        gw.remove_network(created)
    return None


def run_doctor(gw: Gateway, *, test_overlay: bool = True) -> list[Check]:
    """Probe and evaluate: the doctor's verdicts for the swarm behind ``gw``."""
    return evaluate(probe(gw, test_overlay=test_overlay))
