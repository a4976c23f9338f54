"""docker-py without paramiko unless an ssh:// manager needs it (issue #11 §6, speed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_talking_to_a_local_engine_does_not_load_paramiko(gw: object) -> None:
    out = _python(
        "import sys\n"
        "from sparkswarm.gateway import Gateway\n"
        "gateway = Gateway()\n"
        "gateway.api.ping()\n"
        "print('paramiko' in sys.modules)\n"
    )
    assert out == "False"


def test_an_ssh_endpoint_gets_the_ssh_transport() -> None:
    out = _python(
        "import sys\n"
        "from sparkswarm.gateway import Gateway, _load_docker\n"
        "_load_docker()\n"
        "import docker.api.client\n"
        "before = hasattr(docker.api.client, 'SSHHTTPAdapter')\n"
        "from sparkswarm.errors import Unavailable\n"
        "try:\n"
        "    Gateway(['ssh://nobody@127.0.0.1'])._client_for('ssh://nobody@127.0.0.1')\n"
        "except Unavailable:\n"
        "    pass  # no ssh server on loopback: the transport was loaded all the same\n"
        "print(before, 'paramiko' in sys.modules)\n"
    )
    assert out == "False True"
