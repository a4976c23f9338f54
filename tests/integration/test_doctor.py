"""`sparkswarm swarm doctor` on the real engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import sparkswarm, sparkswarm_json

pytestmark = pytest.mark.integration


def test_doctor_on_the_main_manager(gw: Any) -> None:
    before = {n["Name"] for n in gw.networks()}
    checks = {c["name"]: c for c in sparkswarm_json("swarm", "doctor")}
    assert checks["engine"]["status"] == "ok"
    assert gw.version()["ApiVersion"] in checks["engine"]["summary"]
    assert checks["swarm"] == {
        "name": "swarm",
        "status": "ok",
        "summary": "active (manager)",
        "fix": "",
    }
    managers = len(gw.nodes(filters={"role": "manager"}))
    assert f"/{managers} reachable" in checks["managers"]["summary"]
    # The engine runs on this host, so its ports are really read from /proc/net.
    assert checks["ports"]["status"] == "ok", checks["ports"]
    ipvs = Path("/proc/sys/net/ipv4/vs").exists()
    assert checks["ipvs"]["status"] == ("ok" if ipvs else "warn")
    assert checks["overlay"]["status"] == "ok"
    # The throw-away overlay network is gone again.
    leftovers = {n["Name"] for n in gw.networks()} - before
    assert not [n for n in leftovers if n.startswith("sparkswarm-doctor-")]


def test_doctor_table_output(gw: Any) -> None:
    done = sparkswarm("swarm", "doctor", "--no-overlay-test")
    assert done.returncode == 0, done.stderr
    for name in ("engine", "swarm", "managers", "ports", "ipvs", "overlay"):
        assert name in done.stdout


def test_doctor_without_a_reachable_engine_exits_1(tmp_path: Path) -> None:
    env = dict(os.environ, SPARKSWARM_MANAGERS=f"unix://{tmp_path}/nothing.sock")
    done = sparkswarm("swarm", "doctor", "--json", env=env)
    assert done.returncode == 1
    assert '"status": "fail"' in done.stdout and "unreachable" in done.stdout


def test_doctor_warns_when_the_queue_has_no_secret_key(gw: Any) -> None:
    import json

    from cryptography.fernet import Fernet

    base = {k: v for k, v in os.environ.items() if k != "SPARKSWARM_SECRET_KEY"}
    base["SPARKSWARM_REDIS_URL"] = "redis://127.0.0.1:6379/0"  # only read, never contacted

    def secrets_check(**extra: str) -> dict[str, Any]:
        done = sparkswarm(
            "swarm", "doctor", "--json", "--no-overlay-test",
            env={**base, **extra}, queued=True, timeout=120,
        )  # fmt: skip
        checks = {c["name"]: c for c in json.loads(done.stdout)}
        return dict(checks["secrets"])

    missing = secrets_check()
    assert missing["status"] == "warn" and "SPARKSWARM_SECRET_KEY" in missing["summary"]
    assert secrets_check(SPARKSWARM_SECRET_KEY=Fernet.generate_key().decode())["status"] == "ok"
    assert secrets_check(SPARKSWARM_SECRET_KEY="not-a-key")["status"] == "fail"
