"""sparkswarm on the swarm it manages: ``sparkswarm platform up`` on the real
single-node swarm, under a random stack name, with the locally built images.

One story (it needs most of the machine, so it is ``serial``): up -> status
shows every service healthy -> an operation submitted through the platform's
own queue (the CLI inside its worker container) runs -> ``docker service
inspect`` of every service holds no token, password or key -> a client
without the password is refused by its Redis -> ``upgrade`` rolls onto a new
image -> ``down`` keeps Redis' data for the next ``up`` -> ``down --purge``
removes services, secrets and the Redis volume.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cli import sparkswarm

pytestmark = [pytest.mark.integration, pytest.mark.serial]

SECRET_KEY = "tVN8F9yq1c3wvK0u3W7J1kYx2s9d5Q3h6m8b0n2p4r4="  # a Fernet key made for this test


@pytest.fixture(scope="module")
def images(gw: Any) -> None:
    """The platform and Redis images (built once; later runs find them)."""
    from sparkswarm.images import build_image

    build_image(gw, name="redis")
    build_image(gw, name="platform")


@pytest.fixture
def extra_images() -> Iterator[list[str]]:
    """Images a test made (removed with all their tags, after the stack is down)."""
    made: list[str] = []
    yield made
    for image in made:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


@pytest.fixture
def stack(gw: Any, prefix: str, images: None, extra_images: list[str]) -> Iterator[str]:
    name = f"{prefix}plat"
    yield name
    from sparkswarm.errors import NotFound
    from sparkswarm.platform_stack import platform_down

    with contextlib.suppress(NotFound):
        platform_down(gw, name=name, purge=True)


def cli(*args: str, timeout: float = 600) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKSWARM_")}
    return sparkswarm(*args, env={**env, "SPARKSWARM_SECRET_KEY": SECRET_KEY}, timeout=timeout)


def container_of(gw: Any, service: str) -> str:
    """The container of the service's running task (not one of a task shutting down)."""
    tasks = gw.tasks(filters={"service": service, "desired-state": "running"})
    running = [t for t in tasks if t["Status"]["State"] == "running"]
    assert running, f"no running task of {service}"
    return str(running[0]["Status"]["ContainerStatus"]["ContainerID"])


def derived_image(gw: Any, ref: str) -> None:
    """A new image (another ID) on top of the platform image, built in seconds."""
    dockerfile = b"FROM sparkswarm/platform:latest\nLABEL org.sparkswarm.test=upgrade\n"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        entry = tarfile.TarInfo("Dockerfile")
        entry.size = len(dockerfile)
        tar.addfile(entry, io.BytesIO(dockerfile))
    context.seek(0)
    for chunk in gw.build_image(tag=ref, fileobj=context):
        assert "error" not in chunk, chunk


def exec_in(gw: Any, container: str, *command: str) -> tuple[int, str]:
    result = gw.exec_run(container, list(command))
    return result.exit_code, result.output.decode(errors="replace")


def test_platform_up_runs_operations_keeps_secrets_out_of_specs_and_down_purges(
    gw: Any, stack: str, prefix: str, extra_images: list[str]
) -> None:
    up = cli("platform", "up", "--name", stack, "--json", timeout=900)
    assert up.returncode == 0, up.stderr + up.stdout
    deployed = json.loads(up.stdout)
    services = sorted(f"{stack}_{s['service']}" for s in deployed["services"])
    assert services == sorted(f"{stack}_{s}" for s in ("redis", "worker", "beat", "metrics"))
    assert deployed["waited"] is True

    status = cli("platform", "status", "--name", stack, "--json")
    assert status.returncode == 0, status.stderr + status.stdout
    report = json.loads(status.stdout)
    assert report["healthy"] is True
    for service in report["services"]:
        # One node: every container is visible, and its health check passed.
        assert service["running"] == service["desired"] == service["healthy"] >= 1, service
        assert service["ok"] is True

    # An operation submitted through the platform's queue runs on its worker.
    worker = container_of(gw, f"{stack}_worker")
    network = f"{prefix}-viaplat"
    code, output = exec_in(gw, worker, "sparkswarm", "network", "create", network, "--json")
    assert code == 0, output
    assert gw.inspect_network(network)["Name"] == network
    code, output = exec_in(gw, worker, "sparkswarm", "runs", "ls", "--json")
    assert code == 0, output
    runs = json.loads(output)
    assert [(r["op"], r["state"]) for r in runs if r["op"] == "network.create"] == [
        ("network.create", "succeeded")
    ]

    # An upgrade rolls our own services onto a new image; Redis stays as it is.
    new_image = f"{prefix}/platform:next"
    derived_image(gw, new_image)
    extra_images.append(gw.inspect_image(new_image)["Id"])
    upgraded = cli("platform", "upgrade", "--name", stack, "--image", new_image, "--json")
    assert upgraded.returncode == 0, upgraded.stderr + upgraded.stdout
    results = {s["service"]: s["result"] for s in json.loads(upgraded.stdout)["services"]}
    assert results == {
        "redis": "unchanged",
        "worker": "updated",
        "beat": "updated",
        "metrics": "updated",
    }
    new_id = gw.inspect_image(new_image)["Id"].removeprefix("sha256:")[:12]
    worker_spec = gw.inspect_service(f"{stack}_worker")["Spec"]["TaskTemplate"]
    assert worker_spec["ContainerSpec"]["Image"] == f"{prefix}/platform:id-{new_id}"
    report = json.loads(cli("platform", "status", "--name", stack, "--json").stdout)
    assert report["healthy"] is True, report
    worker = container_of(gw, f"{stack}_worker")

    # No secret in any service spec: only the *_FILE variables naming /run/secrets.
    redis_container = container_of(gw, f"{stack}_redis")
    code, password = exec_in(gw, redis_container, "cat", "/run/secrets/redis_password")
    assert code == 0 and len(password.strip()) == 64
    code, key = exec_in(gw, worker, "cat", "/run/secrets/secret_key")
    assert code == 0 and key.strip() == SECRET_KEY
    for service in services:
        inspected = gw.inspect_service(service)
        spec = json.dumps(inspected)
        assert password.strip() not in spec
        assert SECRET_KEY not in spec
        container_spec = inspected["Spec"]["TaskTemplate"]["ContainerSpec"]
        for variable in container_spec.get("Env") or []:
            name = variable.partition("=")[0]
            assert not name.endswith(("TOKEN", "PASSWORD", "SECRET_KEY", "SECRET")), variable

    # Redis refuses a client without the password (from inside the network).
    code, output = exec_in(gw, redis_container, "redis-cli", "-h", "redis", "set", "x", "1")
    assert "NOAUTH" in output, output
    # And publishes no port.
    redis_spec = gw.inspect_service(f"{stack}_redis")
    assert not (redis_spec.get("Endpoint", {}).get("Ports") or [])

    # Down without --purge keeps Redis' data and the secrets: up again, the runs are there.
    kept = cli("platform", "down", "--name", stack, "--json")
    assert kept.returncode == 0, kept.stderr + kept.stdout
    assert json.loads(kept.stdout)["purged_volumes"] == []
    label = {"label": f"com.docker.stack.namespace={stack}"}
    assert gw.services(filters=label) == []
    assert [v["Name"] for v in gw.volumes(filters=label)] == [f"{stack}_redis-data"]
    again = cli("platform", "up", "--name", stack, "--json", timeout=900)
    assert again.returncode == 0, again.stderr + again.stdout
    code, output = exec_in(
        gw, container_of(gw, f"{stack}_worker"), "sparkswarm", "runs", "ls", "--json"
    )
    assert code == 0, output
    assert [r["state"] for r in json.loads(output) if r["op"] == "network.create"] == ["succeeded"]

    down = cli("platform", "down", "--name", stack, "--purge", "--json")
    assert down.returncode == 0, down.stderr + down.stdout
    removed = json.loads(down.stdout)
    assert sorted(removed["services"]) == services
    assert f"{stack}_redis_password" in removed["purged_secrets"]
    assert removed["purged_volumes"] == [f"{stack}_redis-data"]
    assert gw.services(filters=label) == []
    assert gw.volumes(filters=label) == []
    assert gw.secrets(filters={"label": f"org.sparkswarm.platform={stack}"}) == []


def test_platform_status_of_a_missing_stack_is_a_clear_refusal(prefix: str) -> None:
    done = cli("platform", "status", "--name", f"{prefix}none")
    assert done.returncode == 2
    assert done.stderr == (
        f"error: no platform stack '{prefix}none'; `sparkswarm platform up` deploys it\n"
    )
    done = cli("platform", "upgrade", "--name", f"{prefix}none")
    assert done.returncode == 2
    assert done.stderr.endswith(
        f"error: no platform stack '{prefix}none' to upgrade; `sparkswarm platform up` first\n"
    )


def test_platform_up_with_monitoring_runs_a_prometheus_that_scrapes_the_exporter(
    gw: Any, stack: str
) -> None:
    import requests

    from sparkswarm.images import build_image
    from tests.support.queue_harness import free_port, wait_for

    build_image(gw, name="prometheus")  # once; later runs find it
    port = free_port()
    up = cli(
        "platform", "up", "--name", stack, "--monitoring", "--set", f"prometheus_port={port}",
        "--json", timeout=900,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr + up.stdout
    deployed = {s["service"] for s in json.loads(up.stdout)["services"]}
    assert deployed == {"redis", "worker", "beat", "metrics", "prometheus"}

    def query(expr: str) -> list[Any]:
        answer = requests.get(
            f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr}, timeout=5
        )
        answer.raise_for_status()
        result: list[Any] = answer.json()["data"]["result"]
        return result

    # Prometheus' own API (published on this node) says the exporter's
    # target is up: it found the metrics service by DNS and scraped it.
    (target,) = wait_for(
        lambda: [r for r in query('up{job="sparkswarm"}') if r["value"][1] == "1"],
        120,
        "the exporter's target up in Prometheus",
        interval=2,
        ignore=(requests.RequestException,),
    )
    assert target["metric"]["instance"].endswith(":9808")
    (redis_up,) = query("sparkswarm_redis_up")
    assert redis_up["value"][1] == "1"  # the exporter reads the platform's Redis
    report = json.loads(cli("platform", "status", "--name", stack, "--json").stdout)
    assert report["healthy"] is True, report

    # Without the flag an up keeps Prometheus as deployed; --no-monitoring removes it.
    again = cli("platform", "up", "--name", stack, "--set", f"prometheus_port={port}", "--json")
    assert again.returncode == 0, again.stderr + again.stdout
    results = {s["service"]: s["result"] for s in json.loads(again.stdout)["services"]}
    assert results["prometheus"] == "unchanged"
    off = cli("platform", "up", "--name", stack, "--no-monitoring", "--json")
    assert off.returncode == 0, off.stderr + off.stdout
    label = {"label": f"com.docker.stack.namespace={stack}"}
    assert f"{stack}_prometheus" not in {s["Spec"]["Name"] for s in gw.services(filters=label)}
