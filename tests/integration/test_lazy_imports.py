"""What a command loads to talk to the engine (issue #11 §6, speed).

A local socket (or plain tcp://) needs neither docker-py nor requests: the
gateway's wire is the standard library's http.client. docker-py comes in for TLS, ssh:// and
images, and then without paramiko unless an ssh:// manager needs it.
"""

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


def test_talking_to_a_local_engine_loads_no_docker_client(gw: object) -> None:
    out = _python(
        "import sys\n"
        "from sparkswarm.gateway import Gateway\n"
        "gateway = Gateway()\n"
        "gateway.version(), gateway.services(), gateway.nodes()\n"
        "print(sorted({'docker', 'requests', 'urllib3', 'paramiko'} & set(sys.modules)))\n"
        "print('http.client' in sys.modules)\n"
    )
    assert out == "[]\nTrue"


def test_docker_py_for_images_still_comes_without_paramiko(gw: object) -> None:
    out = _python(
        "import sys\n"
        "from sparkswarm.gateway import Gateway\n"
        "gateway = Gateway()\n"
        "with gateway._engine('version') as api:\n"
        "    api.version()\n"
        "print('docker' in sys.modules, 'paramiko' in sys.modules)\n"
    )
    assert out == "True False"


def test_an_ssh_endpoint_gets_the_ssh_transport() -> None:
    out = _python(
        "import sys\n"
        "from sparkswarm.gateway import Gateway\n"
        "from sparkswarm.gateway.engine_errors import load_docker\n"
        "load_docker()\n"
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
