"""Deploy, redeploy, update one service, roll back, and remove a stack on the real engine."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.stacks.models import StackResult
from tests.support.stacks import docker_cli, wait_stack_gone
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

STACK_FILE = """
services:
  front:
    image: ${FRONT_IMAGE}
    ports:
      - {target: 80, published: "${PORT}", mode: host}
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      update_config: {parallelism: 1, delay: 0s, order: stop-first}
  back:
    image: sparkswarm-test/web:v1
    networks: [inner]
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
networks:
  inner:
    driver: overlay
"""


def _http_get(port: int, timeout: float = 30.0) -> str:
    """The body of ``GET /`` on a loopback port, once it answers 200."""

    def body() -> tuple[str] | None:  # a tuple: an empty body is an answer too
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
        reply = data.decode(errors="replace")
        return (reply.split("\r\n\r\n", 1)[-1],) if "200" in reply.split("\r\n", 1)[0] else None

    answer = wait_for(body, timeout, f"HTTP 200 on port {port}", interval=0.5, ignore=(OSError,))
    return answer[0]


def _versions(gw: Any, stack: str) -> dict[str, int]:
    return {
        s["Spec"]["Name"]: s["Version"]["Index"]
        for s in gw.services(filters={"label": f"com.docker.stack.namespace={stack}"})
    }


def _results(result: StackResult) -> dict[str, str]:
    return {row.service: row.result for row in result.services}


def test_redeploy_update_one_rollback_and_remove(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    from sparkswarm.stacks.deploy import deploy_stack, rollback_stack
    from sparkswarm.stacks.removal import remove_stack
    from sparkswarm.stacks.source import read_stack_source

    stack = name("life")
    port = random.randint(21000, 29000)
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)

    def deploy(image: str) -> StackResult:
        params, _ = read_stack_source([str(path)], {"FRONT_IMAGE": image, "PORT": str(port)})
        return deploy_stack(gw, name=stack, **params)

    first = deploy(web_images["v1"])
    assert _results(first) == {"front": "created", "back": "created"}
    assert _http_get(port) == "web v1\n"
    before = _versions(gw, stack)

    again = deploy(web_images["v1"])
    assert _results(again) == {"front": "unchanged", "back": "unchanged"}
    assert _versions(gw, stack) == before

    changed = deploy(web_images["v2"])
    assert _results(changed) == {"front": "updated", "back": "unchanged"}
    after = _versions(gw, stack)
    assert after[f"{stack}_back"] == before[f"{stack}_back"]
    assert after[f"{stack}_front"] > before[f"{stack}_front"]
    assert _http_get(port) == "web v2\n"

    rolled = rollback_stack(gw, name=stack)
    assert _results(rolled) == {"front": "updated", "back": "unchanged"}
    assert rolled.rolled_back_to is not None
    front = gw.inspect_service(f"{stack}_front")
    assert front["Spec"]["Labels"]["com.docker.stack.image"] == web_images["v1"]
    assert _http_get(port) == "web v1\n"

    # The Docker CLI sees our stack as one of its own.
    listed = docker_cli("stack", "ls", "--format", "{{.Name}} {{.Services}}")
    assert f"{stack} 2" in listed.stdout.splitlines()
    tasks = docker_cli("stack", "ps", stack, "--format", "{{.Name}} {{.CurrentState}}")
    assert any(line.startswith(f"{stack}_front.1 Running") for line in tasks.stdout.splitlines())
    services = docker_cli("stack", "services", stack, "--format", "{{.Name}} {{.Replicas}}")
    assert sorted(services.stdout.split("\n")[:-1]) == [f"{stack}_back 1/1", f"{stack}_front 1/1"]

    removed = remove_stack(gw, name=stack)
    assert removed.services == [f"{stack}_back", f"{stack}_front"]
    wait_stack_gone(gw, stack)


def test_docker_stack_rm_removes_our_stack(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    from sparkswarm.stacks.deploy import deploy_stack
    from sparkswarm.stacks.source import read_stack_source

    stack = name("cli")
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    params, _ = read_stack_source([str(path)], {"FRONT_IMAGE": web_images["v1"], "PORT": "0"})
    deploy_stack(gw, name=stack, **params, detach=True)
    assert docker_cli("stack", "rm", stack).returncode == 0
    wait_stack_gone(gw, stack)


def test_prune_removes_services_that_left_the_file(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    from sparkswarm.stacks.deploy import deploy_stack
    from sparkswarm.stacks.source import read_stack_source

    stack = name("prune")
    path = tmp_path / "stack.yml"
    path.write_text(STACK_FILE)
    env = {"FRONT_IMAGE": web_images["v1"], "PORT": "0"}
    params, _ = read_stack_source([str(path)], env)
    deploy_stack(gw, name=stack, **params, detach=True)
    path.write_text(STACK_FILE.split("  back:")[0] + "networks:\n  inner: {}\n")
    params, _ = read_stack_source([str(path)], env)
    kept = deploy_stack(gw, name=stack, **params, detach=True)
    assert _results(kept)["back"] == "unchanged"
    assert f"{stack}_back" in _versions(gw, stack)
    pruned = deploy_stack(gw, name=stack, **params, detach=True, prune=True)
    assert _results(pruned) == {"front": "unchanged", "back": "removed"}
    assert list(_versions(gw, stack)) == [f"{stack}_front"]


def test_snapshots_keep_the_last_five_and_rollback_toggles(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    from sparkswarm.stacks.deploy import deploy_stack, rollback_stack
    from sparkswarm.stacks.snapshots import KEEP, list_snapshots
    from sparkswarm.stacks.source import read_stack_source

    stack = name("snap")
    path = tmp_path / "stack.yml"
    path.write_text(
        "services:\n  s:\n    image: sparkswarm-test/web:v1\n"
        "    deploy: {replicas: 0, labels: {version: '${V}'}}\n"
    )

    def version() -> str:
        return str(gw.inspect_service(f"{stack}_s")["Spec"]["Labels"]["version"])

    deploys = KEEP + 2  # more versions than are kept
    for number in range(1, deploys + 1):
        params, _ = read_stack_source([str(path)], {"V": str(number)})
        deploy_stack(gw, name=stack, **params, detach=True)
    # redeploying the same version stores no new snapshot
    deploy_stack(gw, name=stack, **params, detach=True)
    snapshots = list_snapshots(gw, stack)
    assert [s["seq"] for s in snapshots] == list(range(deploys - KEEP + 1, deploys + 1))
    rollback_stack(gw, name=stack, detach=True)
    assert version() == str(deploys - 1)
    rollback_stack(gw, name=stack, detach=True)
    assert version() == str(deploys)


def test_an_unchanged_redeploy_with_configs_and_secrets_stores_no_new_snapshot(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    """The IDs of configs and secrets are filled in when services are created;
    they must not leak into the snapshot, or the next deploy looks different."""
    from sparkswarm.stacks.deploy import deploy_stack
    from sparkswarm.stacks.snapshots import list_snapshots
    from sparkswarm.stacks.source import read_stack_source

    stack = name("ids")
    (tmp_path / "app.conf").write_text("mode = demo\n")
    (tmp_path / "token.txt").write_text("not-a-real-secret\n")
    path = tmp_path / "stack.yml"
    path.write_text(
        "services:\n  s:\n    image: sparkswarm-test/web:v1\n    deploy: {replicas: 0}\n"
        "    configs: [app]\n    secrets: [token]\n"
        "configs:\n  app: {file: ./app.conf}\n"
        "secrets:\n  token: {file: ./token.txt}\n"
    )
    params, _ = read_stack_source([str(path)], {})
    first = deploy_stack(gw, name=stack, **params, detach=True)
    again = deploy_stack(gw, name=stack, **params, detach=True)
    assert _results(again) == {"s": "unchanged"}, again
    assert [s["seq"] for s in list_snapshots(gw, stack)] == [first.snapshot]
    assert again.snapshot is None


def test_a_deploy_refused_half_way_removes_what_it_created(
    gw: Any, name: Any, web_images: Any, tmp_path: Path
) -> None:
    from sparkswarm.errors import SparkswarmError
    from sparkswarm.stacks.deploy import deploy_stack
    from sparkswarm.stacks.source import read_stack_source

    stack = name("half")
    port = random.randint(20000, 29999)
    # Two services on one published ingress port: the engine creates the first
    # and refuses the second ("port already in use").
    (tmp_path / "conf.txt").write_text("x=1\n")
    (tmp_path / "stack.yml").write_text(
        f"""
services:
  a:
    image: {web_images["v1"]}
    networks: [inner]
    configs: [conf]
    ports: [{{target: 80, published: {port}}}]
  b:
    image: {web_images["v1"]}
    networks: [inner]
    ports: [{{target: 81, published: {port}}}]
networks:
  inner:
    driver: overlay
configs:
  conf:
    file: ./conf.txt
"""
    )
    params, _ = read_stack_source([str(tmp_path / "stack.yml")], {})

    with pytest.raises(SparkswarmError, match="already in use"):
        deploy_stack(gw, name=stack, **params, detach=True)

    selector = {"label": f"com.docker.stack.namespace={stack}"}
    assert gw.services(filters=selector) == []
    assert gw.configs(filters=selector) == []
    assert gw.networks(filters=selector) == []
