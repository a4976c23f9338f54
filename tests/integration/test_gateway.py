"""Manager failover in the gateway, on real sockets."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from sparkswarm.errors import Unavailable
from sparkswarm.gateway import Gateway

from tests.support.swarm_cli import sparkswarm, sparkswarm_json

pytestmark = pytest.mark.integration

MAIN = "unix:///var/run/docker.sock"


def test_unreachable_manager_is_skipped_with_a_warning(
    gw: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"unix://{tmp_path}/nonexistent.sock"
    failover = Gateway([missing, MAIN], timeout=10)
    with caplog.at_level(logging.WARNING, logger="sparkswarm.gateway"):
        node_id = failover.api.info()["Swarm"]["NodeID"]
    failover.close()
    assert node_id == gw.api.info()["Swarm"]["NodeID"]
    assert failover.endpoint == MAIN
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("nonexistent.sock" in w and "skipping" in w for w in warnings)


def test_cli_fails_over_and_says_so(gw: Any) -> None:
    env = dict(os.environ, SPARKSWARM_MANAGERS=f"unix:///nonexistent.sock,{MAIN}")
    done = sparkswarm("node", "ls", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert "unix:///nonexistent.sock" in done.stderr and "unreachable" in done.stderr
    assert sparkswarm_json("node", "ls", env=env)


def test_no_reachable_manager_is_unavailable(tmp_path: Path) -> None:
    nowhere = Gateway([f"unix://{tmp_path}/a.sock", f"unix://{tmp_path}/b.sock"], timeout=5)
    with pytest.raises(Unavailable, match="no swarm manager reachable"):
        nowhere.api.info()
    env = dict(os.environ, SPARKSWARM_MANAGERS=f"unix://{tmp_path}/a.sock")
    done = sparkswarm("node", "ls", env=env)
    assert done.returncode == 1 and "no swarm manager reachable" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SPARKSWARM_MANAGERS", "garbage", "'garbage' is not a manager endpoint"),
        ("SPARKSWARM_MANAGERS", f"{MAIN},tcp//typo", "'tcp//typo' is not a manager endpoint"),
        ("SPARKSWARM_DOCKER_TIMEOUT", "soon", "valid number"),
        ("SPARKSWARM_TLS_VERIFY", "maybe", "valid boolean"),
    ],
)
def test_malformed_configuration_exits_2_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    done = sparkswarm("node", "ls", env={**os.environ, variable: value})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"invalid configuration: {variable}: " in " ".join(done.stderr.split())
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_ssh_manager_is_supported_and_an_unreachable_one_is_unavailable() -> None:
    # docker-py needs paramiko for any ssh:// endpoint ("Install paramiko package");
    # with it, an ssh endpoint nobody answers on (loopback port 1) is just unreachable.
    env = dict(os.environ, SPARKSWARM_MANAGERS="ssh://nobody@127.0.0.1:1")
    done = sparkswarm("node", "ls", env=env)
    assert done.returncode == 1 and "no swarm manager reachable" in done.stderr
    assert "paramiko" not in done.stderr
