"""The ready-made spark stack on the real engine, with real Spark in containers.

One stack (3 workers, the defaults: 1 core and 1 GiB each) is deployed for
the module with ``sparkswarm stack deploy NAME --set workers=3`` (the user's
path: the deployer creates the auth secret) and removed after.
It runs the image that ``sparkswarm images build spark`` tags as the
official name, so nothing is pulled.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.errors import SparkswarmError
from tests.conftest import SESSION_ID
from tests.support.cli import cli_env, sparkswarm
from tests.support.engine import remove_prefixed
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STACK_FILE = REPO / "stacks" / "spark" / "stack.yml"
PI_JOB = REPO / "stacks" / "spark" / "jobs" / "pi.py"
WORKERS = 3
DEFAULT_SECRET = "spark_auth"  # params.yml's auth_secret default


@pytest.fixture(scope="module")
def spark_image(gw: Any) -> str:
    """The official image name, built locally when missing (a few minutes the first time)."""
    from sparkswarm.images import build_image
    from sparkswarm.spark.version import OFFICIAL_IMAGE

    result = build_image(gw, name="spark")
    assert OFFICIAL_IMAGE in result.tags
    return OFFICIAL_IMAGE


@pytest.fixture(scope="module")
def spark_stack(
    gw: Any, spark_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A spark stack deployed by name with only ``--set workers=3``; removed after.

    The ready-made stack is reached through SPARKSWARM_STACKS_DIR under a
    prefixed name, so this is the user's ``sparkswarm stack deploy spark
    --set workers=3`` under a name that cannot clash with anyone's stack.
    """
    prefix = f"{SESSION_ID}{secrets.token_hex(2)}"
    stack = f"{prefix}-spark"
    stacks = tmp_path_factory.mktemp("stacks")
    (stacks / stack).symlink_to(REPO / "stacks" / "spark")
    secret_existed = bool(gw.api.secrets(filters={"name": DEFAULT_SECRET}))
    try:
        done = sparkswarm(
            "stack",
            "deploy",
            stack,
            "--set",
            f"workers={WORKERS}",
            env=cli_env(SPARKSWARM_STACKS_DIR=str(stacks)),
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        # As a user would after a deploy: wait until every worker replica is ALIVE.
        ready = sparkswarm(
            "spark", "status", "--stack", stack, "--wait", "180", "--json", timeout=300
        )
        assert ready.returncode == 0, ready.stderr
        assert json.loads(ready.stdout)["alive_workers"] == WORKERS
        yield stack
    finally:
        remove_prefixed(gw, prefix)
        if not secret_existed:
            # Ours to remove; refused while another stack still uses it.
            with contextlib.suppress(SparkswarmError):
                gw.api.remove_secret(DEFAULT_SECRET)


def test_stack_deploy_gives_every_worker_alive(gw: Any, spark_stack: str) -> None:
    from sparkswarm.spark.status import spark_status

    status = spark_status(gw, stack=spark_stack)
    assert status.status == "ALIVE"
    assert [w.state for w in status.workers] == ["ALIVE"] * WORKERS
    assert status.cores == WORKERS
    assert all(w.memory_mb == 1024 for w in status.workers)  # worker_memory's default
    spec = gw.api.inspect_service(f"{spark_stack}_worker")["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == WORKERS
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    # The CLI shows the same, as JSON.
    shown = sparkswarm("spark", "status", "--stack", spark_stack, "--json", timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["alive_workers"] == WORKERS


def test_the_auth_secret_is_a_swarm_secret_and_no_ui_port_is_published(
    gw: Any, spark_stack: str
) -> None:
    for role in ("master", "worker", "history"):
        spec = gw.api.inspect_service(f"{spark_stack}_{role}")["Spec"]
        container = spec["TaskTemplate"]["ContainerSpec"]
        assert [s["File"]["Name"] for s in container["Secrets"]] == ["spark_auth"]
        assert not (spec.get("EndpointSpec") or {}).get("Ports")
        assert "secret" not in json.dumps(container.get("Env") or []).lower()


def test_pi_job_succeeds_and_prints_its_estimate(gw: Any, spark_stack: str) -> None:
    from sparkswarm.operations import run_operation

    messages: list[str] = []
    result = run_operation(
        gw,
        "spark.submit",
        {
            "stack": spark_stack,
            "script": PI_JOB.read_text(),
            "script_name": "pi.py",
            "args": ["3"],
            "timeout": 300,
        },
        lambda message, **_: messages.append(message),
    )
    assert result["state"] == "succeeded", result
    assert result["exit_code"] == 0
    estimates = [line for line in result["output"] if line.startswith("Pi is roughly 3.1")]
    assert len(estimates) == 1, result["output"]
    assert 3.0 < float(estimates[0].split()[-1]) < 3.3
    assert any("complete" in m for m in messages)
    print(f"pi job took {result['seconds']} s")
    # The job's service and script config are gone; the history server saw its event log.
    assert not [s for s in gw.api.services() if s["Spec"]["Name"] == result["service"]]
    assert not gw.api.configs(filters={"label": f"org.sparkswarm.spark.job={result['job_id']}"})
    assert not gw.api.containers(
        all=True, filters={"label": f"com.docker.swarm.service.name={result['service']}"}
    )
    assert "pi" in _history_app_names(gw, spark_stack)


def test_a_failing_script_gives_state_failed_with_its_error(gw: Any, spark_stack: str) -> None:
    from sparkswarm.spark.jobs import submit_job

    script = (
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.appName('fails').getOrCreate()\n"
        "print('started', spark.sparkContext.parallelize(range(10)).count())\n"
        "raise ValueError('the job gave up on purpose')\n"
    )
    result = submit_job(gw, stack=spark_stack, script=script, script_name="fails.py", timeout=300)
    assert result.state == "failed"
    assert result.exit_code not in (None, 0)
    assert "started 10" in result.output
    assert result.error == "ValueError: the job gave up on purpose"
    assert any("Traceback" in line for line in result.output)
    assert not [s for s in gw.api.services() if s["Spec"]["Name"] == result.service]


def test_the_cli_prints_the_jobs_output(spark_stack: str) -> None:
    done = sparkswarm(
        "spark", "submit", str(PI_JOB), "--stack", spark_stack, "--arg", "2", timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Pi is roughly 3.1"), done.stdout


def test_submit_to_a_missing_stack_is_not_found(gw: Any, name: Any) -> None:
    from sparkswarm.errors import NotFound
    from sparkswarm.spark.jobs import submit_job

    with pytest.raises(NotFound, match="no spark stack"):
        submit_job(gw, stack=name("nothing"), script="print(1)\n", script_name="one.py")


def test_a_worker_with_the_wrong_secret_cannot_register(
    gw: Any, spark_stack: str, name: Any
) -> None:
    from sparkswarm.spark.status import spark_status

    master = gw.api.inspect_service(f"{spark_stack}_master")["Spec"]
    network = master["TaskTemplate"]["Networks"][0]["Target"]
    rogue = name("rogue-worker")
    opts = "-Dspark.authenticate=true -Dspark.authenticate.secret=not-the-secret"
    gw.api.create_service(
        {
            "ContainerSpec": {
                "Image": master["TaskTemplate"]["ContainerSpec"]["Image"],
                "Args": [
                    "/opt/spark/bin/spark-class",
                    "org.apache.spark.deploy.worker.Worker",
                    "--cores",
                    "1",
                    "--memory",
                    "512m",
                    "spark://master:7077",
                ],
                "Env": ["SPARK_WORKER_DIR=/tmp/w", f"SPARK_WORKER_OPTS={opts}"],
            },
            "RestartPolicy": {"Condition": "none"},
            "Networks": [{"Target": network}],
        },
        name=rogue,
        endpoint_spec={"Mode": "dnsrr"},
    )

    def refused_logs() -> str:
        logs = b"".join(gw.api.service_logs(rogue, stdout=True, stderr=True)).decode()
        return logs if "bootstrapping client" in logs else ""

    logs = wait_for(refused_logs, 90, "the rogue worker to be refused", interval=3)
    assert "Exception while bootstrapping client" in logs
    assert "Successfully registered with master" not in logs
    assert len(spark_status(gw, stack=spark_stack).workers) == WORKERS


def _history_app_names(gw: Any, stack: str, timeout: float = 60) -> list[str]:
    """Application names the history server lists (read from inside its container)."""
    service = gw.api.inspect_service(f"{stack}_history")
    fetch = (
        "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
        "'http://127.0.0.1:18080/api/v1/applications', timeout=10).read().decode())"
    )

    def names() -> list[str]:
        containers = gw.api.containers(
            filters={"label": f"com.docker.swarm.service.id={service['ID']}"}
        )
        if not containers:
            return []
        run = gw.api.exec_create(containers[0]["Id"], ["python3", "-c", fetch])
        output = gw.api.exec_start(run["Id"]).decode()
        if gw.api.exec_inspect(run["Id"])["ExitCode"] != 0:
            return []
        return [app["name"] for app in json.loads(output)]

    return wait_for(names, timeout, f"applications listed by {stack}_history", interval=3)


def test_a_detached_job_is_collected_by_wait(gw: Any, spark_stack: str) -> None:
    from sparkswarm.spark.jobs import submit_job, wait_job

    started = submit_job(
        gw,
        stack=spark_stack,
        script="print('detached', 6 * 7)\n",
        script_name="d.py",
        detach=True,
    )
    assert started.state == "running"
    assert gw.api.inspect_service(started.service)["Spec"]["Mode"].get("ReplicatedJob")
    done = wait_job(gw, stack=spark_stack, job_id=started.job_id, timeout=300)
    assert done.state == "succeeded"
    assert "detached 42" in done.output
    from sparkswarm.errors import NotFound

    with pytest.raises(NotFound):
        wait_job(gw, stack=spark_stack, job_id=started.job_id)


def test_publish_ui_overlay_serves_the_master_json_on_a_host_port(
    gw: Any, spark_image: str, prefix: str
) -> None:
    import random
    import urllib.request

    from sparkswarm.spark.status import wait_for_workers

    stack = f"{prefix}-ui"
    master_port, history_port = random.sample(range(21000, 29000), 2)
    done = sparkswarm(
        "stack",
        "deploy",
        stack,
        "-c",
        str(STACK_FILE),
        "-c",
        str(STACK_FILE.parent / "publish-ui.yml"),
        "--set",
        "workers=1",
        "--set",
        f"auth_secret={prefix}-auth",
        "--set",
        f"master_ui_port={master_port}",
        "--set",
        f"history_ui_port={history_port}",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    wait_for_workers(gw, stack=stack, workers=1, timeout=180)
    with urllib.request.urlopen(f"http://127.0.0.1:{master_port}/json/", timeout=10) as reply:
        assert [w["state"] for w in json.loads(reply.read())["workers"]] == ["ALIVE"]

    def history_apps() -> tuple[Any]:  # a tuple: an empty list is an answer too
        url = f"http://127.0.0.1:{history_port}/api/v1/applications"
        with urllib.request.urlopen(url, timeout=10) as reply:
            return (json.loads(reply.read()),)

    answer = wait_for(history_apps, 60, "the history UI", interval=2, ignore=(OSError,))
    assert answer == ([],)
    ports = gw.api.inspect_service(f"{stack}_master")["Spec"]["EndpointSpec"]["Ports"]
    assert ports == [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": master_port, "PublishMode": "host"}
    ]


def test_a_job_past_its_timeout_is_removed_and_leaves_the_master(gw: Any, spark_stack: str) -> None:
    from sparkswarm.errors import OperationFailed
    from sparkswarm.spark.jobs import submit_job
    from sparkswarm.spark.status import spark_status

    script = (
        "import time\n"
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.appName('sleeper').getOrCreate()\n"
        "time.sleep(600)\n"
    )
    with pytest.raises(OperationFailed, match="still ran after 40 s"):
        submit_job(gw, stack=spark_stack, script=script, script_name="sleeper.py", timeout=40)
    assert not [
        s
        for s in gw.api.services()
        if "-job-" in s["Spec"]["Name"] and s["Spec"]["Name"].startswith(spark_stack)
    ]
    wait_for(
        lambda: "sleeper" not in [a.name for a in spark_status(gw, stack=spark_stack).active_apps],
        60,
        "the master to drop the removed job's app",
        interval=2,
    )


def test_spark_rm_stops_and_removes_a_detached_job(gw: Any, spark_stack: str) -> None:
    """`spark rm` through the CLI (it crashed before: the registry passed
    ``progress`` to a function that took none)."""
    from sparkswarm.spark.job_spec import job_service_name

    script = "import time\nprint('long', flush=True)\ntime.sleep(600)\n"
    from sparkswarm.spark.jobs import submit_job

    job = submit_job(gw, stack=spark_stack, script=script, script_name="long.py", detach=True)
    service = job_service_name(spark_stack, job.job_id)
    assert gw.api.inspect_service(service)
    removed = sparkswarm("spark", "rm", job.job_id, "--stack", spark_stack)
    assert removed.returncode == 0, removed.stderr
    assert f"job {job.job_id}: {service}" in removed.stdout
    assert not [s for s in gw.api.services() if s["Spec"]["Name"] == service]
    again = sparkswarm("spark", "rm", job.job_id, "--stack", spark_stack)
    assert again.returncode == 0 and "nothing to remove" in again.stdout
