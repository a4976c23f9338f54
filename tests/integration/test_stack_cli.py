"""`sparkswarm stack ...` end to end through the CLI: bad files, diff, deploy, ls, rm."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import sparkswarm
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

GOOD = """
services:
  web:
    image: sparkswarm-test/web:v1
    networks: [front]
    deploy: {replicas: 0}
networks:
  front: {}
"""

BAD_FILES = {
    "yaml": ("services:\n  web:\n    image: [unclosed\n", "invalid YAML"),
    "schema": (
        "services:\n  web:\n    image: x\n    deploy: {replicas: many}\n",
        "services.web.deploy.replicas",
    ),
    "unknown-key": (
        "services:\n  web:\n    image: x\n    colour: blue\n",
        "services.web: unknown key(s) colour",
    ),
    "required-var": (
        "services:\n  web:\n    image: ${NOPE_NOT_SET:?give an image}\n",
        "services.web.image: required variable NOPE_NOT_SET is missing a value",
    ),
    "restart-policy": (
        "services:\n  web:\n    image: x\n    restart: sometimes\n",
        "services.web: restart: unknown policy 'sometimes'",
    ),
    "unknown-network": (
        "services:\n  web:\n    image: x\n    networks: [nowhere]\n",
        "services.web.networks.nowhere: undefined network",
    ),
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` (operations in-process), without the variable a bad file requires."""
    env = {k: v for k, v in os.environ.items() if k != "NOPE_NOT_SET"}
    return sparkswarm(*args, env=env, timeout=300)


def _stack_objects(gw: Any, stack: str) -> list[Any]:
    selector = {"label": f"com.docker.stack.namespace={stack}"}
    return [
        *gw.api.services(filters=selector),
        *gw.api.networks(filters=selector),
        *gw.api.configs(filters=selector),
    ]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_exits_2_names_file_and_key_and_changes_nothing(
    gw: Any, name: Any, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.yml"
    path.write_text(text)
    stack = name("bad")
    result = _cli("stack", "deploy", stack, "-c", str(path))
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert str(path) in message.replace(" ", "") or path.name in message
    assert expected in message
    assert _stack_objects(gw, stack) == []


def test_unknown_set_key_lists_known_parameters(gw: Any, name: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mystack"
    folder.mkdir()
    (folder / "stack.yml").write_text(GOOD)
    (folder / "params.yml").write_text("params:\n  replicas: {default: 1, help: how many}\n")
    stack = name("sets")
    path = str(folder / "stack.yml")
    for bad, expected in (
        ("colour=red", "unknown parameter(s) colour; known: replicas"),
        ("noequals", "--set 'noequals': expected key=value"),
    ):
        result = _cli("stack", "deploy", stack, "-c", path, "--set", bad)
        assert result.returncode == 2, result.stdout + result.stderr
        assert expected in " ".join(result.stderr.split())
    assert _stack_objects(gw, stack) == []


def test_bad_resource_size_names_file_and_key(gw: Any, name: Any, tmp_path: Path) -> None:
    path = tmp_path / "sizes.yml"
    path.write_text(
        "services:\n  web:\n    image: x\n    deploy: {resources: {limits: {memory: lots}}}\n"
    )
    stack = name("sizes")
    result = _cli("stack", "deploy", stack, "-c", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = "".join(result.stderr.split())
    assert f"{path}:services.web.deploy.resources.limits.memory:invalidsize:'lots'" in message
    assert _stack_objects(gw, stack) == []


def test_diff_deploy_ls_and_rm_through_the_cli(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(GOOD)
    stack = name("cli")
    planned = _cli("stack", "diff", stack, "-c", str(path), "--json")
    assert planned.returncode == 0, planned.stderr
    assert '"action": "create"' in planned.stdout
    assert _stack_objects(gw, stack) == []

    deployed = _cli("stack", "deploy", stack, "-c", str(path), "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert '"result": "created"' in deployed.stdout
    listed = _cli("stack", "ls", "--json")
    assert f'"name": "{stack}"' in listed.stdout
    again = _cli("stack", "diff", stack, "-c", str(path), "--json")
    assert '"action": "unchanged"' in again.stdout

    # A changed file deployed with table output, then rolled back through the CLI.
    path.write_text(
        GOOD.replace("deploy: {replicas: 0}", "deploy: {replicas: 0, labels: {v: '2'}}")
    )
    changed = _cli("stack", "deploy", stack, "-c", str(path))
    assert changed.returncode == 0, changed.stderr
    # Into a pipe the table is plain rows; its title goes to stderr.
    assert f"stack {stack}" in changed.stderr and "updated" in changed.stdout
    assert gw.api.inspect_service(f"{stack}_web")["Spec"]["Labels"].get("v") == "2"
    rolled = _cli("stack", "rollback", stack)
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled back to snapshot" in rolled.stderr
    assert "v" not in gw.api.inspect_service(f"{stack}_web")["Spec"]["Labels"]

    removed = _cli("stack", "rm", stack)
    assert removed.returncode == 0, removed.stderr
    assert _cli("stack", "services", stack).returncode == 2


def _secret_seen_by_task(gw: Any, service: str, secret: str) -> str:
    """The content of /run/secrets/SECRET inside the service's running task."""
    label = f"com.docker.swarm.service.name={service}"
    containers = wait_for(
        lambda: gw.api.containers(filters={"label": label}),
        60,
        f"a running container of {service}",
        interval=0.5,
    )
    run = gw.api.exec_create(containers[0]["Id"], ["cat", f"/run/secrets/{secret}"])
    output: bytes = gw.api.exec_start(run["Id"])
    assert gw.api.exec_inspect(run["Id"])["ExitCode"] == 0, output
    return output.decode().strip()


def test_generated_secret_and_ps_services(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "gen"
    folder.mkdir()
    (folder / "stack.yml").write_text(
        "services:\n  app:\n    image: sparkswarm-test/web:v1\n    secrets: [key]\n"
        "    deploy: {replicas: 1, endpoint_mode: dnsrr}\n"
        "secrets:\n  key: {external: true, name: '${key_secret}'}\n"
    )
    (folder / "params.yml").write_text(
        "params:\n  key_secret: {default: unused, help: secret name}\n"
        "generated_secrets:\n  - {param: key_secret, bytes: 16}\n"
    )
    stack, secret = name("gen"), name("genkey")
    result = _cli(
        "stack", "deploy", stack, "-c", str(folder / "stack.yml"), "--set", f"key_secret={secret}"
    )
    assert result.returncode == 0, result.stderr
    created = [s for s in gw.api.secrets(filters={"name": secret}) if s["Spec"]["Name"] == secret]
    assert len(created) == 1
    spec = gw.api.inspect_service(f"{stack}_app")["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["SecretID"] == created[0]["ID"]
    # The generated value (read inside the task, the only place it exists) is never printed.
    value = _secret_seen_by_task(gw, f"{stack}_app", "key")
    assert len(value) >= 16
    assert value not in result.stdout + result.stderr

    services = _cli("stack", "services", stack, "--json")
    assert '"replicas": "1/1"' in services.stdout, services.stdout
    tasks = _cli("stack", "ps", stack, "--json")
    assert f'"name": "{stack}_app.1"' in tasks.stdout
    assert '"current_state": "running"' in tasks.stdout

    again = _cli(
        "stack",
        "deploy",
        stack,
        "-c",
        str(folder / "stack.yml"),
        "--set",
        f"key_secret={secret}",
        "--json",
    )
    assert '"result": "unchanged"' in again.stdout
    # the secret is not regenerated
    assert [s["ID"] for s in gw.api.secrets(filters={"name": secret})] == [created[0]["ID"]]


def test_invalid_stack_name_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text(GOOD)
    result = _cli("stack", "deploy", "bad name", "-c", str(path))
    assert result.returncode == 2
    assert "invalid stack name" in result.stderr
    for command in ("ps", "services", "rollback", "rm"):
        refused = _cli("stack", command, "")
        assert refused.returncode == 2, (command, refused.stderr)
        assert "invalid stack name ''" in refused.stderr, command
