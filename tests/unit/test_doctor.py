"""Doctor verdicts from given facts, and the /proc/net parser (pure, no engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparkswarm.doctor import DoctorFacts, evaluate, has_failures
from sparkswarm.doctor_probe import address_is_local, listening_ports

ALL_PORTS = {"2377/tcp": True, "7946/tcp": True, "7946/udp": True, "4789/udp": True}


def healthy(**changes: Any) -> DoctorFacts:
    """Facts of a healthy 3-manager swarm seen from a local manager."""
    facts = DoctorFacts(
        api_version="1.41",
        server_version="20.10.24",
        swarm_state="active",
        is_manager=True,
        managers=3,
        reachable_managers=3,
        engine_is_local=True,
        listening=dict(ALL_PORTS),
        ipvs_present=True,
        ingress_present=True,
        overlay_tested=True,
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def verdicts(facts: DoctorFacts) -> dict[str, str]:
    return {check.name: check.status for check in evaluate(facts)}


def test_a_healthy_swarm_is_all_ok() -> None:
    checks = evaluate(healthy())
    assert {c.name: c.status for c in checks} == {
        "engine": "ok",
        "swarm": "ok",
        "managers": "ok",
        "ports": "ok",
        "ipvs": "ok",
        "overlay": "ok",
        "secrets": "ok",
    }
    assert not has_failures(checks)


@pytest.mark.parametrize(
    ("queue", "key", "status"),
    [
        (False, "unset", "ok"),  # nothing kept in Redis
        (True, "unset", "warn"),
        (True, "invalid", "fail"),
        (True, "set", "ok"),
    ],
)
def test_the_secret_key_is_checked_when_a_queue_is_configured(
    queue: bool, key: str, status: str
) -> None:
    checks = {c.name: c for c in evaluate(healthy(queue_configured=queue, secret_key=key))}
    assert checks["secrets"].status == status
    if status != "ok":
        assert "SPARKSWARM_SECRET_KEY" in checks["secrets"].summary + checks["secrets"].fix


def test_a_secret_key_is_judged_by_whether_fernet_takes_it() -> None:
    from cryptography.fernet import Fernet

    from sparkswarm.doctor import secret_key_state

    assert secret_key_state(None) == "unset"
    assert secret_key_state("not-a-key") == "invalid"
    assert secret_key_state(Fernet.generate_key().decode()) == "set"


def test_unreachable_engine_is_the_only_verdict_and_fails() -> None:
    checks = evaluate(DoctorFacts(engine_error="connection refused"))
    assert [(c.name, c.status) for c in checks] == [("engine", "fail")]
    assert checks[0].fix and has_failures(checks)


@pytest.mark.parametrize(
    ("changes", "name", "status", "words"),
    [
        ({"api_version": "1.40"}, "engine", "fail", "too old"),
        ({"swarm_state": "inactive"}, "swarm", "fail", "inactive"),
        ({"swarm_state": "locked"}, "swarm", "fail", "locked"),
        ({"managers": 1, "reachable_managers": 1}, "managers", "warn", "tolerates 0"),
        ({"managers": 2, "reachable_managers": 2}, "managers", "warn", "losing one"),
        ({"managers": 4, "reachable_managers": 4}, "managers", "warn", "even"),
        ({"managers": 5, "reachable_managers": 5}, "managers", "ok", "tolerates 2"),
        ({"managers": 3, "reachable_managers": 2}, "managers", "warn", "losing one"),
        ({"managers": 3, "reachable_managers": 1}, "managers", "fail", "quorum LOST"),
        (
            {"managers": 3, "reachable_managers": 2, "unreachable_managers": ["lab-m1"]},
            "managers",
            "warn",
            "(unreachable: lab-m1): losing one",
        ),
        ({"is_manager": False, "managers": None}, "managers", "warn", "unknown"),
        ({"listening": {**ALL_PORTS, "7946/udp": False}}, "ports", "fail", "7946/udp"),
        ({"listening": {**ALL_PORTS, "4789/udp": False}}, "ports", "warn", "VXLAN"),
        ({"engine_is_local": False, "listening": {}}, "ports", "warn", "unknown"),
        ({"ipvs_present": False}, "ipvs", "warn", "routing mesh"),
        ({"ipvs_present": None}, "ipvs", "warn", "unknown"),
        ({"overlay_error": "plugin not found"}, "overlay", "fail", "plugin not found"),
        ({"ingress_present": False}, "overlay", "warn", "ingress"),
        ({"overlay_tested": False}, "overlay", "ok", "ingress network present"),
        ({"control_error": "no leader"}, "managers", "fail", "no leader"),
        ({"control_error": "no leader"}, "overlay", "warn", "control plane"),
    ],
)
def test_verdicts(changes: dict[str, Any], name: str, status: str, words: str) -> None:
    checks = {c.name: c for c in evaluate(healthy(**changes))}
    assert checks[name].status == status
    assert words in checks[name].summary
    if status != "ok":
        assert checks[name].fix, "every warning and failure says how to fix it"


def test_worker_needs_no_manager_port() -> None:
    facts = healthy(is_manager=False, managers=None, listening={**ALL_PORTS, "2377/tcp": False})
    assert verdicts(facts)["ports"] == "ok"


def test_inactive_swarm_skips_swarm_only_checks_but_fails() -> None:
    found = verdicts(healthy(swarm_state="inactive"))
    assert "managers" not in found and "overlay" not in found
    assert found["swarm"] == "fail"


TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 01004D0A:0949 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 01004D0A:1F0A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   2: 0100007F:1F0A 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0
"""
UDP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
12240: 00000000:12B5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0
"""


def test_listening_ports_reads_proc_net(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(TCP)
    (tmp_path / "udp").write_text(UDP)
    # tcp6/udp6 missing: tolerated.
    assert listening_ports(tmp_path) == {
        "2377/tcp": True,
        "7946/tcp": True,
        "7946/udp": False,
        "4789/udp": True,
    }


def test_established_connection_is_not_listening(tmp_path: Path) -> None:
    (tmp_path / "tcp").write_text(TCP.splitlines()[0] + "\n" + TCP.splitlines()[3] + "\n")
    assert listening_ports(tmp_path)["7946/tcp"] is False


def test_address_is_local() -> None:
    assert address_is_local("127.0.0.1")
    # TEST-NET-3 is never assigned to a host; binding it fails without any traffic.
    assert not address_is_local("203.0.113.77")
    assert not address_is_local("")
