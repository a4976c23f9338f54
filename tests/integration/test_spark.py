"""The ready-made spark stack on the real engine, with real Spark in containers.

The session's stack (``spark_stack``: 2 workers, the defaults: 1 core and
1 GiB each, deployed once with ``sparkswarm stack deploy NAME --set
workers=2``, the user's path: the deployer creates the auth secret; see
tests/support/spark_cluster.py) serves every test here but the one that
deploys the UI overlay; no test changes it. The jobs go through a real queue: a
redis-server and a ``sparkswarm worker`` of this module's own, and a
``sparkswarm spark-watcher`` process (the worker's own watcher thread is
off, so a test can kill the watcher alone). It runs the image that
``sparkswarm images build spark`` tags as the official name, so nothing is
pulled.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import sparkswarm
from tests.support.spark_cluster import WORKERS
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REPO = Path(__file__).resolve().parents[2]
STACK_FILE = REPO / "stacks" / "spark" / "stack.yml"
PI_JOB = REPO / "stacks" / "spark" / "jobs" / "pi.py"


@pytest.fixture(scope="module")
def spark_image(gw: Any) -> str:
    """The official image name, built locally when missing (a few minutes the first time)."""
    from sparkswarm.images import build_image
    from sparkswarm.spark.version import OFFICIAL_IMAGE

    result = build_image(gw, name="spark")
    assert OFFICIAL_IMAGE in result.tags
    return OFFICIAL_IMAGE


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
    # Job records carry these links when the stack publishes the UIs.
    from sparkswarm.spark.observe import ui_links

    master_ui, history_ui = ui_links(gw, stack)
    assert master_ui is not None and master_ui.endswith(f":{master_port}/")
    assert history_ui is not None and history_ui.endswith(f":{history_port}/")
    ports = gw.api.inspect_service(f"{stack}_master")["Spec"]["EndpointSpec"]["Ports"]
    assert ports == [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": master_port, "PublishMode": "host"}
    ]


# --- jobs: submitted through the queue, followed by the watcher -------------

SLEEPER = (
    "import time\n"
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.appName('sleeper').getOrCreate()\n"
    "print('counted', spark.sparkContext.parallelize(range(4), 1).count(), flush=True)\n"
    "time.sleep(600)\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A queue of the module's own: one worker (one slot) and a watcher process."""
    from tests.support.queue_harness import queue_lab

    with queue_lab(tmp_path_factory.mktemp("spark-queue")) as running:
        running.start_worker(
            concurrency=1, SPARKSWARM_SPARK_WATCHER_IN_WORKER="false", **ROOMY_QUOTA
        )
        start_watcher(running)
        yield running


def start_watcher(lab: Any, **extra_env: str) -> Any:
    from tests.support.queue_harness import Process

    proc = Process(
        ["spark-watcher"],
        lab.env(**{**WATCHER_ENV, **extra_env}),
        lab.folder / f"watcher{len(lab.processes)}.log",
    )
    lab.processes.append(proc)
    proc.wait_ready("spark watcher started", 30)
    return proc


# Quotas far above what these tests run at once: each test's jobs start as
# they come (test_spark_share.py tests the quotas).
ROOMY_QUOTA = {"SPARKSWARM_SPARK_QUOTA_JOBS": "10", "SPARKSWARM_SPARK_QUOTA_CORES": "10"}
WATCHER_ENV = {
    **ROOMY_QUOTA,
    "SPARKSWARM_SPARK_WATCHER_TTL": "3",
    "SPARKSWARM_SPARK_WATCH_INTERVAL": "0.5",
    # Removed soon after they end, so the clean-up is seen within the module.
    "SPARKSWARM_SPARK_JOB_KEEP": "5",
}


def queued(lab: Any, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` with the lab's broker: operations go through the queue."""
    return lab.cli(*args, timeout=timeout)


def submitted_id(done: subprocess.CompletedProcess[str]) -> str:
    """The job id `spark submit` reported (``job <id> SUBMITTED in ...``)."""
    for line in done.stderr.splitlines():
        words = line.split()
        if len(words) > 2 and words[0] == "job" and words[2] in ("SUBMITTED", "FAILED"):
            return words[1]
    raise AssertionError(f"no job id in: {done.stderr}")


def record(lab: Any, job_id: str) -> Any:
    from sparkswarm.workers.spark_jobs import JobStore

    return JobStore.for_client(lab.client()).get(job_id)


def wait_state(lab: Any, job_id: str, states: set[str], timeout: float = 300) -> Any:

    return wait_for(
        lambda: (r := record(lab, job_id)).state in states and r,
        timeout,
        f"job {job_id} in {states}",
        interval=0.5,
        explain=lambda: f"{record(lab, job_id)}\n{lab.processes[-1].tail()}",
    )


def job_events(lab: Any, job_id: str) -> list[Any]:
    return [
        e
        for _, e in lab.client().events.read("0-0", count=100_000)
        if e.type == "spark.job" and e.job_id == job_id
    ]


def test_two_jobs_run_side_by_side_and_a_scale_is_not_held_up(
    gw: Any, spark_stack: str, lab: Any, name: Any
) -> None:
    import re
    from collections import Counter

    from sparkswarm.spark.status import spark_status

    started = time.monotonic()
    ids = {}
    for job in ("pi", "wordcount", "sales_sql"):
        args = ["20"] if job == "pi" else []
        done = queued(lab, "spark", "submit", job, *args, "--stack", spark_stack, "--detach")
        assert done.returncode == 0, done.stderr
        ids[job] = submitted_id(done)
    # Submission is seconds, not the job's length: the one worker slot is free again.
    assert time.monotonic() - started < 60
    pi_id, words_id, sql_id = ids["pi"], ids["wordcount"], ids["sales_sql"]

    def running_apps() -> list[str]:
        apps = spark_status(gw, stack=spark_stack).active_apps
        return sorted(a.name for a in apps if a.state == "RUNNING")

    def two_run_and_one_waits() -> bool:
        # Two jobs of one core each fill the two workers; the third waits and says why.
        if len(running_apps()) != 2:
            return False
        states = {job: record(lab, job_id) for job, job_id in ids.items()}
        waiting = [r for r in states.values() if r.state == "SUBMITTED"]
        return (
            len([r for r in states.values() if r.state == "RUNNING"]) == 2
            and len(waiting) == 1
            and "cores" in (waiting[0].reason or "")
        )

    wait_for(two_run_and_one_waits, 240, "two jobs RUNNING together, one waiting", interval=1)

    # A swarm change through the same single worker process is not held up by the jobs.
    extra = name("extra")
    gw.api.create_service(
        {"ContainerSpec": {"Image": spark_image_name(gw, spark_stack), "Args": ["sleep", "600"]}},
        name=extra,
        mode={"Replicated": {"Replicas": 0}},
    )
    scaled = queued(lab, "service", "scale", f"{extra}=1", timeout=120)
    assert scaled.returncode == 0, scaled.stderr
    assert len(running_apps()) == 2, "the scale completed only after a job ended"

    finished = wait_state(lab, pi_id, {"SUCCEEDED", "FAILED"})
    assert finished.state == "SUCCEEDED", finished
    estimate = [line for line in finished.output if line.startswith("Pi is roughly")]
    assert len(estimate) == 1 and abs(float(estimate[0].split()[-1]) - 3.14159) < 0.05
    assert finished.requester and finished.source == "cli" and finished.app_id
    assert finished.ask.cores == 1  # the stack's job_cores default

    counted = wait_state(lab, words_id, {"SUCCEEDED", "FAILED"})
    assert counted.state == "SUCCEEDED", counted
    text = (REPO / "stacks" / "spark" / "jobs" / "pride.txt").read_text()
    expected = Counter(re.findall(r"[a-z']+", text.lower()))
    got = {
        w: int(n)
        for _, w, n in (line.split() for line in counted.output if line.startswith("COUNT "))
    }
    assert got == dict(expected)

    queried = wait_state(lab, sql_id, {"SUCCEEDED", "FAILED"})
    assert queried.state == "SUCCEEDED", queried
    assert [line for line in queried.output if line.startswith("ROW ")] == expected_sales()

    # Each job announced SUBMITTED, RUNNING, SUCCEEDED once, in that order.
    for job_id in (pi_id, words_id, sql_id):
        assert [e.state for e in job_events(lab, job_id)] == ["SUBMITTED", "RUNNING", "SUCCEEDED"]
    # The containers and configs go after SPARKSWARM_SPARK_JOB_KEEP; the record stays.
    wait_for(lambda: record(lab, pi_id).cleaned_at, 60, "the pi job cleaned up", interval=1)
    assert not gw.api.configs(filters={"label": f"org.sparkswarm.spark.job={pi_id}"})
    assert not gw.api.containers(all=True, filters={"label": f"org.sparkswarm.spark.job={pi_id}"})
    assert record(lab, pi_id).output == finished.output
    shown = queued(lab, "spark", "job", pi_id)
    assert shown.returncode == 0 and "SUCCEEDED" in shown.stdout and "Pi is roughly" in shown.stdout
    listed = queued(lab, "spark", "jobs", "--state", "SUCCEEDED", "--json")
    assert {pi_id, words_id, sql_id} <= {j["id"] for j in json.loads(listed.stdout)}


def spark_image_name(gw: Any, stack: str) -> str:
    spec = gw.api.inspect_service(f"{stack}_master")["Spec"]
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def expected_sales() -> list[str]:
    """The SQL job's query computed in plain Python."""
    import csv

    totals: dict[str, list[float]] = {}
    with open(REPO / "stacks" / "spark" / "jobs" / "sales.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            entry = totals.setdefault(row["region"], [0, 0, 0.0])
            entry[0] += 1
            entry[1] += int(row["quantity"])
            entry[2] += int(row["quantity"]) * float(row["unit_price"])
    return [
        f"ROW {region} {int(n)} {int(q)} {round(r, 2):.2f}"
        for region, (n, q, r) in sorted(totals.items())
    ]


def test_failures_are_explained(spark_stack: str, lab: Any, tmp_path: Path) -> None:
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nprint('giving up')\nsys.exit(3)\n")
    raises = tmp_path / "raises.py"
    raises.write_text(
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.appName('raises').getOrCreate()\n"
        "print('started', spark.sparkContext.parallelize(range(10)).count())\n"
        "raise ValueError('the job gave up on purpose')\n"
    )
    code = queued(lab, "spark", "submit", str(exits), "--stack", spark_stack, "--detach")
    assert code.returncode == 0, code.stderr
    # What the kernel's OOM killer does to a driver: SIGKILL, exit 137.
    killed = tmp_path / "killed.py"
    killed.write_text(
        "import os, signal\n"
        "print('eating memory', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    oom = queued(lab, "spark", "submit", str(killed), "--stack", spark_stack, "--detach")
    assert oom.returncode == 0, oom.stderr
    missing = queued(
        lab, "spark", "submit", "pi", "--stack", spark_stack, "--image", "sparkswarm/nope:missing"
    )
    # Not stuck in SUBMITTED: the submission itself sees the driver rejected.
    assert missing.returncode == 1, missing.stderr
    failed = record(lab, submitted_id(missing))
    assert failed.state == "FAILED"
    assert "image sparkswarm/nope:missing is missing" in (failed.reason or ""), failed

    # Without a broker, `spark submit` follows the job from the CLI process itself.
    raised = sparkswarm("spark", "submit", str(raises), "--stack", spark_stack)
    assert raised.returncode == 1, raised.stderr
    assert "started 10" in raised.stdout
    assert "ValueError: the job gave up on purpose" in raised.stderr.splitlines()[-1]

    died = wait_state(lab, submitted_id(oom), {"SUCCEEDED", "FAILED"})
    assert died.state == "FAILED" and died.exit_code == 137, died
    assert "killed for lack of memory (exit 137)" in (died.reason or "")
    exited = wait_state(lab, submitted_id(code), {"SUCCEEDED", "FAILED"})
    assert exited.state == "FAILED" and exited.exit_code == 3
    assert exited.reason == "the driver exited with code 3"
    assert "giving up" in exited.output


def test_more_cores_than_exist_is_refused_with_the_numbers(
    gw: Any, spark_stack: str, lab: Any
) -> None:
    def job_services() -> list[str]:
        # This stack's jobs only: other tests' jobs may start meanwhile.
        found = gw.api.services(filters={"label": "org.sparkswarm.spark.job"})
        return [s["ID"] for s in found if s["Spec"]["Name"].startswith(f"{spark_stack}-job-")]

    before = job_services()
    done = queued(
        lab, "spark", "submit", "pi", "--stack", spark_stack, "--total-executor-cores", "64"
    )
    assert done.returncode == 2, done.stderr
    assert "the job asks 64 cores but the cluster has 2 (2 workers x 1 cores)" in done.stderr
    assert "Traceback" not in done.stderr
    assert job_services() == before


def test_cancel_stops_a_running_job_within_seconds(
    gw: Any, spark_stack: str, lab: Any, tmp_path: Path
) -> None:
    from sparkswarm.spark.status import spark_status

    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    done = queued(lab, "spark", "submit", str(script), "--stack", spark_stack, "--detach")
    assert done.returncode == 0, done.stderr
    job_id = submitted_id(done)
    running = wait_state(lab, job_id, {"RUNNING", "FAILED"}, timeout=240)
    assert running.state == "RUNNING", running

    def explain() -> str:
        status = spark_status(gw, stack=spark_stack)
        logs = queued(lab, "spark", "logs", job_id)
        return f"workers {status.workers}\napps {status.active_apps}\nlogs {logs.stdout[-2000:]}"

    # The driver is up; its executor starts on a worker (a JVM: slow on a loaded machine).
    wait_for(
        lambda: "counted 4" in queued(lab, "spark", "logs", job_id).stdout,
        240,
        "its output",
        interval=1,
        explain=explain,
    )
    asked = time.monotonic()
    cancelled = queued(lab, "spark", "cancel", job_id, timeout=60)
    assert cancelled.returncode == 0, cancelled.stderr
    final = wait_state(lab, job_id, {"CANCELLED", "FAILED", "SUCCEEDED"}, timeout=10)
    assert time.monotonic() - asked < 10
    assert final.state == "CANCELLED", final
    assert final.cancelled_by and final.reason == f"cancelled by {final.cancelled_by}"
    assert final.app_id is not None

    def ended_on_master() -> Any:
        status = spark_status(gw, stack=spark_stack)
        app = status.app(final.app_id)
        return status if app is not None and app.state != "RUNNING" else None

    status = wait_for(ended_on_master, 10, "the master to list the app as ended", interval=0.5)
    assert final.app_id not in [a.id for a in status.active_apps]
    killed = status.app(final.app_id)
    assert killed is not None and killed.state == "KILLED"
    assert [e.state for e in job_events(lab, job_id)][-1] == "CANCELLED"
    again = queued(lab, "spark", "cancel", job_id)
    assert again.returncode == 2 and "ended already" in again.stderr


def test_the_watcher_killed_mid_job_and_restarted_records_the_end_once(
    spark_stack: str, lab: Any
) -> None:
    import signal

    done = queued(lab, "spark", "submit", "pi", "20", "--stack", spark_stack, "--detach")
    assert done.returncode == 0, done.stderr
    job_id = submitted_id(done)
    wait_state(lab, job_id, {"RUNNING", "FAILED", "SUCCEEDED"}, timeout=240)
    watchers = [p for p in lab.processes if "watcher" in p.log.name and p.alive()]
    assert len(watchers) == 1
    watchers[0].kill(signal.SIGKILL)
    start_watcher(lab)  # it waits for the dead one's lock to expire, then takes over
    final = wait_state(lab, job_id, {"SUCCEEDED", "FAILED"}, timeout=300)
    assert final.state == "SUCCEEDED", final
    ended = [e for e in job_events(lab, job_id) if e.state in ("SUCCEEDED", "FAILED")]
    assert len(ended) == 1


def test_spark_rm_stops_and_removes_a_detached_job(gw: Any, spark_stack: str) -> None:
    """`spark rm` through the CLI (it crashed before: the registry passed
    ``progress`` to a function that took none)."""
    from sparkswarm.spark.job_spec import job_service_name

    script = "import time\nprint('long', flush=True)\ntime.sleep(600)\n"
    from sparkswarm.spark.jobs import submit_job

    job = submit_job(gw, stack=spark_stack, script=script, script_name="long.py")
    assert job.state == "SUBMITTED"  # returned once the driver ran
    service = job_service_name(spark_stack, job.job_id)
    assert gw.api.inspect_service(service)
    removed = sparkswarm("spark", "rm", job.job_id, "--stack", spark_stack)
    assert removed.returncode == 0, removed.stderr
    assert f"job {job.job_id}: {service}" in removed.stdout
    assert not [s for s in gw.api.services() if s["Spec"]["Name"] == service]
    again = sparkswarm("spark", "rm", job.job_id, "--stack", spark_stack)
    assert again.returncode == 0 and "nothing to remove" in again.stdout
