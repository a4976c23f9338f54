"""`stack rm` of a stack whose objects are used from outside it: refused
before anything is removed, naming the users (a spark stack's kept job
services use its entrypoint config; the engine would refuse half-way)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.support.cli import sparkswarm

pytestmark = pytest.mark.integration


def test_stack_rm_refuses_while_an_outside_service_uses_the_stack_network(
    gw: Any, name: Any, web_images: dict[str, str]
) -> None:
    from sparkswarm.stacks.params import ready_made_file

    stack = name("web")
    outsider = name("outsider")
    port = random.randint(21000, 29000)
    deployed = sparkswarm(
        "stack", "deploy", stack, "-c", str(ready_made_file("web")),
        "--set", f"port={port}", "--set", f"image={web_images['v1']}",
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    created = sparkswarm(
        "service", "create", outsider, web_images["v1"],
        "--network", f"{stack}_default", "--stop-grace-period", "1s",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    refused = sparkswarm("stack", "rm", stack)
    assert refused.returncode == 2, refused.stderr
    assert outsider in refused.stderr and "Traceback" not in refused.stderr
    assert gw.inspect_service(f"{stack}_web")  # nothing was removed

    assert sparkswarm("service", "rm", outsider).returncode == 0
    removed = sparkswarm("stack", "rm", stack)
    assert removed.returncode == 0, removed.stderr
    assert not [s for s in gw.services() if s["Spec"]["Name"] == f"{stack}_web"]
