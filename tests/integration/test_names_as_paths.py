"""Names that are paths (issue #21 §1), against the real engine.

``../../info`` as a service name once became the Engine API path
``/v1.41/services/../../info``: the engine answered a redirect, the gateway
took it for an empty success, and the CLI died with a traceback or printed
``null`` with exit 0. Both depths are checked: the request layer refuses such
names with exit 2 and one sentence, and the gateway itself (given the same
names directly) encodes every segment and treats a redirect as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sparkswarm.errors import NotFound, Refused
from tests.support.cli import sparkswarm

pytestmark = pytest.mark.integration

BAD_NAMES = [
    ("service", "ps", "../../info"),
    ("service", "inspect", "../info"),
    ("service", "rollback", "../x"),
    ("service", "logs", "../x"),
    ("service", "rm", "../x"),
    ("node", "inspect", "../x"),
    ("node", "drain", "../x"),
    ("node", "promote", "../x"),
    ("node", "demote", "../x"),
    ("node", "activate", "../x"),
    ("node", "pause", "../x"),
    ("node", "label", "../x", "zone=a"),
    ("node", "inspect", ".."),
    ("service", "inspect", "."),
]


@pytest.mark.parametrize("words", BAD_NAMES, ids=" ".join)
def test_a_name_that_is_a_path_is_refused_with_exit_2(gw: Any, words: tuple[str, ...]) -> None:
    nodes = [(node["ID"], node["Version"]["Index"]) for node in gw.nodes()]
    done = sparkswarm(*words, timeout=60)
    shown = f"sparkswarm {' '.join(words)}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, shown
    assert "Traceback" not in done.stderr, shown
    assert len(lines) == 1 and lines[0].startswith("error: invalid "), shown
    assert done.stdout.strip() == "", shown
    assert [(node["ID"], node["Version"]["Index"]) for node in gw.nodes()] == nodes


@pytest.mark.parametrize("network", ["", "../x", ".", ".."])
def test_a_service_on_a_network_named_as_a_path_is_refused(
    gw: Any, name: Callable[[str], str], network: str
) -> None:
    service = name("net")
    done = sparkswarm("service", "create", service, "busybox:1", "--network", network, timeout=60)
    shown = f"stdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == 2, shown
    assert "Traceback" not in done.stderr, shown
    assert "network name" in done.stderr, shown
    assert gw.services(filters={"name": service}) == []


@pytest.mark.parametrize("bad", ["../../info", "../x", "..", ".", "a/../../info"])
def test_the_gateway_never_reads_another_endpoint_for_a_name(gw: Any, bad: str) -> None:
    with pytest.raises((Refused, NotFound)):
        gw.inspect_service(bad)
    with pytest.raises((Refused, NotFound)):
        gw.inspect_node(bad)
    with pytest.raises((Refused, NotFound)):
        list(gw.service_logs(bad, is_tty=False))


@pytest.mark.parametrize("transport", ["wire", "docker-py"])
def test_a_redirect_from_the_engine_is_an_error_on_either_transport(
    gw: Any, transport: str
) -> None:
    from sparkswarm.gateway.connection import LOCAL_SOCKET, DockerPyTransport
    from sparkswarm.gateway.engine_errors import load_docker
    from sparkswarm.gateway.engine_http import Wire

    if transport == "wire":
        way: Any = Wire(LOCAL_SOCKET, timeout=30)
    else:
        load_docker()
        import docker

        way = DockerPyTransport(docker.APIClient(base_url=LOCAL_SOCKET, version="auto"))
    try:
        # A raw path the engine's router cleans with a redirect to /info.
        with pytest.raises(Refused, match="answered 301"):
            way.request("inspect service", "GET", "/services/x/../../info")
    finally:
        way.close()
