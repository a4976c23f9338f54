"""Manager failover in the gateway, on real sockets."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.errors import Unavailable
from sparkswarm.gateway import Gateway
from tests.conftest import unavailable
from tests.support.cli import sparkswarm, sparkswarm_json
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

MAIN = "unix:///var/run/docker.sock"


def test_unreachable_manager_is_skipped_with_a_warning(
    gw: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"unix://{tmp_path}/nonexistent.sock"
    failover = Gateway([missing, MAIN], timeout=10)
    with caplog.at_level(logging.WARNING, logger="sparkswarm.gateway"):
        node_id = failover.info()["Swarm"]["NodeID"]
    failover.close()
    assert node_id == gw.info()["Swarm"]["NodeID"]
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
        nowhere.info()
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


SSHD = "/usr/sbin/sshd"


@pytest.fixture
def loopback_sshd(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A throw-away sshd on 127.0.0.1 that lets root in with a fresh key.

    Yields an ``ssh://`` endpoint and the environment to reach it with: an
    ``ssh`` first on PATH that adds the key and skips host key checks, so
    nothing of the machine's own ssh setup is read or changed.
    """
    real_ssh = shutil.which("ssh")
    if not os.path.exists(SSHD) or real_ssh is None:
        unavailable("sshd or ssh is missing (apt-get install openssh-server openssh-client)")
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / key)], check=True
        )
    (tmp_path / "authorized_keys").write_bytes((tmp_path / "client_key.pub").read_bytes())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {tmp_path}/host_key\n"
        f"AuthorizedKeysFile {tmp_path}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    # -D: stays in the foreground, so this very process is the one to stop.
    server = subprocess.Popen(
        [SSHD, "-D", "-f", str(tmp_path / "sshd_config"), "-E", str(tmp_path / "sshd.log")]
    )
    try:

        def listening() -> bool:
            assert server.poll() is None, (tmp_path / "sshd.log").read_text()
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True

        wait_for(listening, 10, "sshd to listen", ignore=(OSError,))
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "ssh"
        wrapper.write_text(
            f"#!/bin/sh\nexec {real_ssh} -i {tmp_path}/client_key -o StrictHostKeyChecking=no "
            '-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"\n'
        )
        wrapper.chmod(0o755)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        yield f"ssh://root@127.0.0.1:{port}", env
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ssh_manager_reaches_the_engine(gw: Any, loopback_sshd: tuple[str, dict[str, str]]) -> None:
    endpoint, env = loopback_sshd
    env["SPARKSWARM_MANAGERS"] = endpoint
    done = sparkswarm("node", "ls", "--json", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    nodes = json.loads(done.stdout)
    assert gw.info()["Swarm"]["NodeID"] in {node["id"] for node in nodes}
