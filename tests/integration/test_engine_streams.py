"""The gateway's streams over http.client against the real engine: exec output
(a body that runs until the engine closes, in multiplexed frames). Service logs,
followed and not, are covered by test_services_core.py and test_services_cli.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_exec_output_and_exit_code_come_through_the_wire(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.services import ops

    service = name("exec")
    ops.create_service(gw, name=service, image=web_images["v1"])
    label = f"com.docker.swarm.service.name={service}"
    [container] = gw.containers(filters={"label": label})
    done = gw.exec_run(container["Id"], ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert sorted(done.output.splitlines()) == [b"err", b"out"]
    assert done.exit_code == 3
