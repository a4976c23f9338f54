"""The ready-made web stack: deployed by name, served over HTTP, rolled to v2."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.integration.test_stack_lifecycle import _http_get, _results

pytestmark = pytest.mark.integration


def test_ready_made_web_stack_by_name(gw: Any, name: Any) -> None:
    from sparkswarm.stacks.deploy import deploy_stack
    from sparkswarm.stacks.params import interpolation_env, ready_made_file
    from sparkswarm.stacks.removal import remove_stack
    from sparkswarm.stacks.source import read_stack_source
    from sparkswarm.stacks.web_image import build_web_image

    v1 = build_web_image(gw, "sparkswarm/web:v1")
    v2 = build_web_image(gw, "sparkswarm/web:v2")
    stack_file = ready_made_file("web")
    port = str(random.randint(21000, 29000))
    stack = name("web")

    env = interpolation_env(stack_file, {"port": port}, {})
    params, _ = read_stack_source([str(stack_file)], env)
    assert _results(deploy_stack(gw, name=stack, **params)) == {"web": "created"}
    assert _http_get(int(port)) == "web v1\n"

    env = interpolation_env(stack_file, {"port": port, "image": v2}, {})
    params, _ = read_stack_source([str(stack_file)], env)
    assert _results(deploy_stack(gw, name=stack, **params)) == {"web": "updated"}
    assert _http_get(int(port)) == "web v2\n"
    spec = gw.inspect_service(f"{stack}_web")["Spec"]
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"
    assert v1 != v2
    remove_stack(gw, name=stack)
