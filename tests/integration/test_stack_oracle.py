"""The oracle: our deployer and ``docker stack deploy`` must build the same swarm objects.

Each case (a compose file, or several merged) is deployed by sparkswarm,
captured, removed, then deployed by the Docker CLI under the same stack name
and captured again; the service specs, networks, configs and secrets must be
equal (IDs are mapped back to names on both sides).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.stacks import capture, docker_cli, wait_stack_gone

pytestmark = pytest.mark.integration

CASES = Path(__file__).parent / "compose_cases"
REPO = Path(__file__).resolve().parents[2]
SPARK_STACK = REPO / "stacks" / "spark" / "stack.yml"

ORACLE_CASES = {
    "web": ["web.yml"],
    "jobs": ["jobs.yml"],
    "storage": ["storage.yml"],
    "merge": ["merge-base.yml", "merge-override.yml"],
    "ports": ["ports.yml"],
    "real-files": ["real-files.yml"],
    "spark": [str(SPARK_STACK)],
}


def _case_env(gw: Any, name: Any, case: str, stack_file: Path) -> dict[str, str]:
    env = {"SUBNET_OCTET": str(100 + os.getpid() % 100)}
    if case == "ports":  # ten published ports of its own, apart from other sessions'
        env["PORT_BASE"] = str(4000 + os.getpid() % 2000)
    if case == "storage":
        outside = name("outside")
        gw.api.create_network(outside, driver="overlay", attachable=True)
        env.update(OUTSIDE_NET=outside, SHARED_VOLUME=name("shared"))
    if case == "spark":
        from sparkswarm.stacks.params import interpolation_env

        secret = name("sparkauth")
        gw.api.create_secret(secret, b"test-only")
        env.update({k: v for k, v in interpolation_env(stack_file, {}, {}).items()})
        env["auth_secret"] = secret
    return env


@pytest.mark.parametrize("case", sorted(ORACLE_CASES))
def test_deploy_matches_docker_stack_deploy(gw: Any, name: Any, web_images: Any, case: str) -> None:
    from sparkswarm.stacks.deploy import deploy_stack, desired_from_params, plan_stack
    from sparkswarm.stacks.plan import differences
    from sparkswarm.stacks.removal import remove_stack
    from sparkswarm.stacks.source import read_stack_source

    paths = [str(CASES / f) if not os.path.isabs(f) else f for f in ORACLE_CASES[case]]
    stack = name("o")
    env = _case_env(gw, name, case, Path(paths[0]))
    params, _ = read_stack_source(paths, {**os.environ, **env})
    deploy_stack(gw, name=stack, **params, detach=True)
    # Deploying the same file again must change nothing.
    desired, _ = desired_from_params(
        stack, params["files"], params["working_dir"], params["env"], params["attachments"]
    )
    replan = plan_stack(gw, desired, prune=True)
    assert {s.action for s in replan.services} == {"unchanged"}, replan.to_json()
    ours = capture(gw, stack)
    remove_stack(gw, name=stack)
    wait_stack_gone(gw, stack)

    args = ["stack", "deploy", "--resolve-image", "never", "--detach=true"]
    for path in paths:
        args += ["-c", path]
    result = docker_cli(*args, stack, env=env)
    assert result.returncode == 0, result.stderr
    theirs = capture(gw, stack)
    docker_cli("stack", "rm", stack)

    assert sorted(ours["services"]) == sorted(theirs["services"])
    for service in theirs["services"]:
        mine, cli = ours["services"][service], theirs["services"][service]
        assert differences(mine, cli) == [], (mine, cli)
    assert ours["networks"] == theirs["networks"]
    assert ours["configs"] == theirs["configs"]
    assert ours["secrets"] == theirs["secrets"]
    assert ours["services"], "the case deployed no service"
