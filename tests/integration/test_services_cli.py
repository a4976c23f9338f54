"""`sparkswarm service ...` on the real engine: refusals, exit codes, jobs, logs, idempotence."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cli import sparkswarm, sparkswarm_json

pytestmark = pytest.mark.integration


def service_names() -> set[str]:
    return {row["name"] for row in sparkswarm_json("service", "ls")}


def spec_version(gw: Any, service: str) -> int:
    version: int = gw.inspect_service(service)["Version"]["Index"]
    return version


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad name!", "IMAGE"], "invalid service name"),
        (["NAME", "IMAGE", "--publish", "8080:80/icmp"], "invalid protocol"),
        (["NAME", "IMAGE", "--limit-memory", "12q"], "--limit-memory"),
        (["NAME", "IMAGE", "--limit-cpu", "0"], "--limit-cpu"),
        (["NAME", "IMAGE", "--mode", "daemon"], "mode"),
        (["NAME", "IMAGE", "--mode", "global", "--replicas", "2"], "--replicas"),
        (["NAME", "IMAGE", "--update-delay", "soon"], "invalid duration"),
        (["NAME", "IMAGE", "--mount", "type=bind,source=rel,target=/x"], "absolute source"),
        (["NAME", "IMAGE", "--endpoint-mode", "dnsrr", "--publish", "80:80"], "dnsrr"),
        (["NAME", "IMAGE", "--network", "NAME-nonet"], "network"),
    ],
)
def test_invalid_create_exits_2_and_creates_nothing(
    name: Callable[[str], str], web_images: dict[str, str], args: list[str], message: str
) -> None:
    service = name("bad")
    argv = [a.replace("NAME", service).replace("IMAGE", web_images["v1"]) for a in args]
    done = sparkswarm("service", "create", *argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert not any(existing.startswith(service) for existing in service_names())


@pytest.mark.parametrize(
    "args",
    [
        ["service", "ps", "NAME"],
        ["service", "inspect", "NAME"],
        ["service", "logs", "NAME"],
        ["service", "update", "NAME", "--image", "x:y"],
        ["service", "scale", "NAME=2"],
        ["service", "rollback", "NAME"],
    ],
)
def test_unknown_service_exits_2_with_a_clear_message(
    name: Callable[[str], str], args: list[str]
) -> None:
    missing = name("missing")
    done = sparkswarm(*[a.replace("NAME", missing) for a in args])
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"service '{missing}' not found" in done.stderr


def test_create_is_idempotent_and_refuses_a_different_spec(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    args = [
        "service",
        "create",
        web,
        web_images["v1"],
        "--env",
        "A=1",
        "--label",
        "team=data",
        "--limit-memory",
        "64m",
        "--restart-condition",
        "on-failure",
        "--update-delay",
        "1s",
        "--stop-grace-period",
        "1s",
        "--json",
    ]
    first = sparkswarm_json(*args[:-1])
    assert first["outcome"] == "created"
    version = spec_version(gw, web)
    again = sparkswarm_json(*args[:-1])
    assert again["outcome"] == "unchanged"
    assert spec_version(gw, web) == version

    different = sparkswarm("service", "create", web, web_images["v2"], "--env", "A=1")
    assert different.returncode == 1
    assert "exists with a different spec" in different.stderr
    assert "TaskTemplate.ContainerSpec.Image" in different.stderr
    assert spec_version(gw, web) == version

    spec = sparkswarm_json("service", "inspect", web)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]
    assert spec["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == 64 * 1024**2
    assert spec["Labels"] == {"team": "data"}
    assert spec["UpdateConfig"]["Delay"] == 1_000_000_000
    assert spec["UpdateConfig"]["Parallelism"] == 1


def test_invalid_update_exits_2_and_changes_nothing(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    sparkswarm_json(
        "service", "create", web, web_images["v1"], "--detach", "--stop-grace-period", "1s"
    )
    version = spec_version(gw, web)
    for flags in (
        ["--update-failure-action", "explode"],
        ["--env-add", "NOVALUE"],
        ["--publish-add", "70000:80"],
        ["--update-max-failure-ratio", "3"],
        ["--publish-rm", "abc"],  # the service publishes nothing: still a typo, not a no-op
        ["--env-rm", ""],
    ):
        done = sparkswarm("service", "update", web, *flags)
        assert done.returncode == 2, (flags, done.stderr)
        assert spec_version(gw, web) == version


def test_scale_refuses_global_services_and_changes_nothing(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    everywhere = name("global")
    replicated = name("rep")
    sparkswarm_json(
        "service",
        "create",
        everywhere,
        web_images["v1"],
        "--mode",
        "global",
        "--stop-grace-period",
        "1s",
        # pinned here: other tests may add swarm nodes that lack the test images
        "--constraint",
        f"node.id=={gw.info()['Swarm']['NodeID']}",
    )
    sparkswarm_json(
        "service", "create", replicated, web_images["v1"], "--detach", "--stop-grace-period", "1s"
    )
    version = spec_version(gw, replicated)
    done = sparkswarm("service", "scale", f"{replicated}=2", f"{everywhere}=2")
    assert done.returncode == 2
    assert "only replicated services can be scaled" in done.stderr
    assert "Global" in gw.inspect_service(everywhere)["Spec"]["Mode"]
    assert spec_version(gw, replicated) == version  # checked before anything changed
    bad = sparkswarm("service", "scale", f"{replicated}=two")
    assert bad.returncode == 2
    assert "SERVICE=REPLICAS" in bad.stderr


def test_scale_several_services(name: Callable[[str], str], web_images: dict[str, str]) -> None:
    first, second = name("a"), name("b")
    for service in (first, second):
        sparkswarm_json(
            "service",
            "create",
            service,
            web_images["v1"],
            "--replicas",
            "0",
            "--stop-grace-period",
            "1s",
        )
    result = sparkswarm_json("service", "scale", f"{first}=2", f"{second}=1")
    by_name = {row["service"]: row for row in result["services"]}
    assert (by_name[first]["running"], by_name[second]["running"]) == (2, 1)
    assert all(row["outcome"] == "completed" for row in result["services"])
    same = sparkswarm_json("service", "scale", f"{first}=2")
    assert same["services"][0]["outcome"] == "unchanged"
    detached = sparkswarm_json("service", "scale", f"{first}=0", "--detach")
    assert detached["services"][0]["outcome"] == "detached"


def test_job_runs_to_completion_and_its_logs_are_readable(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    # The prefix cleanup also removes the exited containers the engine leaves behind.
    job = name("job")
    done = sparkswarm(
        "service",
        "create",
        job,
        web_images["v1"],
        "--mode",
        "replicated-job",
        "--replicas",
        "2",
        "--json",
        "--",
        "sh",
        "-c",
        "echo hello from job",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "created"
    assert (result["running"], result["desired"]) == (2, 2)  # 2 of 2 completions
    tasks = sparkswarm_json("service", "ps", job)
    assert sorted(task["current_state"] for task in tasks) == ["complete", "complete"]
    logs = sparkswarm("service", "logs", job, "--tail", "5")
    assert logs.returncode == 0, logs.stderr
    lines = [line for line in logs.stdout.splitlines() if "hello from job" in line]
    assert len(lines) == 2
    assert all(line.startswith(f"{job}.") and " | hello from job" in line for line in lines)
    scale = sparkswarm("service", "scale", f"{job}=3")
    assert scale.returncode == 2
    assert "replicated-job service" in scale.stderr


def test_failing_job_reports_its_error(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    job = name("failjob")
    done = sparkswarm(
        "service",
        "create",
        job,
        web_images["broken"],
        "--mode",
        "replicated-job",
        "--restart-condition",
        "none",
    )
    assert done.returncode == 1
    assert f"job {job} failed" in done.stderr
    assert "non-zero exit (3)" in done.stderr


def test_update_env_replicas_force_and_no_op(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    sparkswarm_json(
        "service",
        "create",
        web,
        web_images["v1"],
        "--env",
        "A=1",
        "--env",
        "B=2",
        "--stop-grace-period",
        "1s",
    )
    result = sparkswarm_json(
        "service",
        "update",
        web,
        "--env-add",
        "C=3",
        "--env-rm",
        "A",
        "--replicas",
        "2",
        "--update-order",
        "start-first",
    )
    assert (result["outcome"], result["running"], result["desired"]) == ("completed", 2, 2)
    spec = gw.inspect_service(web)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["B=2", "C=3"]
    assert spec["UpdateConfig"]["Order"] == "start-first"

    version = spec_version(gw, web)
    assert sparkswarm_json("service", "update", web, "--env-add", "C=3")["outcome"] == "unchanged"
    assert spec_version(gw, web) == version

    before = {task["id"] for task in sparkswarm_json("service", "ps", web, "--running")}
    forced = sparkswarm_json("service", "update", web, "--force")
    assert forced["outcome"] == "completed"
    after = {
        task["id"]
        for task in sparkswarm_json("service", "ps", web, "--running")
        if task["current_state"] == "running"
    }
    assert len(after) == 2 and not before & after  # every task was replaced


def test_dnsrr_service_on_an_overlay_network_is_idempotent(
    gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    network = name("net")
    gw.api.create_network(network, driver="overlay", attachable=True)
    web = name("web")
    args = [
        "service",
        "create",
        web,
        web_images["v1"],
        "--network",
        network,
        "--endpoint-mode",
        "dnsrr",
        "--constraint",
        "node.role==manager",
        "--stop-grace-period",
        "1s",
    ]
    assert sparkswarm_json(*args)["outcome"] == "created"
    # the engine stores the network's ID: the second create must still match
    assert sparkswarm_json(*args)["outcome"] == "unchanged"
    spec = gw.inspect_service(web)["Spec"]
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert spec["TaskTemplate"]["Networks"][0]["Target"] == gw.inspect_network(network)["Id"]


def test_ls_and_inspect_speak_json_and_tables(
    name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    web = name("web")
    sparkswarm_json(
        "service",
        "create",
        web,
        web_images["v1"],
        "--publish",
        "mode=host,target=80",
        "--replicas",
        "1",
        "--stop-grace-period",
        "1s",
    )
    [row] = [row for row in sparkswarm_json("service", "ls") if row["name"] == web]
    assert row["mode"] == "replicated"
    assert row["image"] == web_images["v1"]
    assert row["ports"] and row["ports"][0].endswith(":80/tcp (host)")
    table = sparkswarm("service", "ls")
    assert table.returncode == 0 and web in table.stdout
    ps = sparkswarm("service", "ps", web)
    assert ps.returncode == 0 and "running" in ps.stdout
    yaml_out = sparkswarm("service", "inspect", web, "--yaml")
    assert yaml_out.returncode == 0 and f"Name: {web}" in yaml_out.stdout
