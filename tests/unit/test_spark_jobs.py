"""Pure pieces of Spark support: job specs, validation, master JSON, the pinned version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sparkswarm.errors import InvalidRequest
from sparkswarm.images import split_ref, validate_image_ref
from sparkswarm.spark.job_spec import (
    error_summary,
    job_service_spec,
    master_host,
    split_log,
    submit_command,
    validate_conf,
    validate_job_id,
    validate_script,
)
from sparkswarm.spark.status import parse_master_json
from sparkswarm.spark.version import LOCAL_IMAGE, OFFICIAL_IMAGE, SPARK_VERSION

SPARK_STACK = Path(__file__).resolve().parents[2] / "stacks" / "spark"

MASTER: dict[str, Any] = {
    "ID": "m1",
    "Spec": {
        "Name": "lab_master",
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "apache/spark:4.3.0-python3",
                "Command": ["/usr/bin/tini", "--", "/etc/sparkswarm/entrypoint.sh"],
                "Args": ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master"],
                "User": "root",
                "Env": ["PYSPARK_PYTHON=python3"],
                "Configs": [
                    {
                        "ConfigID": "c1",
                        "ConfigName": "lab_spark_defaults",
                        "File": {"Name": "/etc/sparkswarm/spark-defaults.conf"},
                    }
                ],
                "Secrets": [
                    {
                        "SecretID": "s1",
                        "SecretName": "lab-auth",
                        "File": {"Name": "spark_auth", "Mode": 0o400},
                    }
                ],
            },
            "Networks": [{"Target": "n1", "Aliases": ["master"]}],
        },
    },
}


def test_job_spec_reuses_the_masters_image_entrypoint_configs_and_secret() -> None:
    spec = job_service_spec(
        stack="lab",
        job_id="ab12cd34",
        master_service=MASTER,
        app_config={"id": "c9", "name": "lab-job-ab12cd34-pi-py", "file": "pi.py"},
        events_volume="lab_events",
        args=["4"],
        conf={"spark.executor.memory": "1g"},
    )
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert spec["Name"] == "lab-job-ab12cd34"
    assert spec["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "n1", "Aliases": ["spark-job-ab12cd34"]}]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr"}
    assert container["Image"] == "apache/spark:4.3.0-python3"
    assert container["Command"] == MASTER["Spec"]["TaskTemplate"]["ContainerSpec"]["Command"]
    assert container["User"] == "root"
    assert container["Secrets"] == MASTER["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert [c["ConfigID"] for c in container["Configs"]] == ["c1", "c9"]
    assert container["Configs"][1]["File"]["Name"] == "/opt/spark/work-dir/sparkswarm-app/pi.py"
    assert container["Mounts"] == [
        {"Type": "volume", "Source": "lab_events", "Target": "/spark-events"}
    ]
    assert container["Args"] == [
        "/opt/spark/bin/spark-submit",
        "--master",
        "spark://master:7077",
        "--conf",
        "spark.driver.host=spark-job-ab12cd34",
        "--conf",
        "spark.driver.bindAddress=0.0.0.0",
        "--conf",
        "spark.executor.memory=1g",
        "/opt/spark/work-dir/sparkswarm-app/pi.py",
        "4",
    ]


def test_without_a_history_volume_the_event_log_is_off() -> None:
    command = submit_command(
        master="master", driver="d", script_path="/a.py", args=[], conf={}, event_log=False
    )
    assert "spark.eventLog.enabled=false" in command


def test_master_host_needs_an_alias_spark_accepts() -> None:
    assert master_host(MASTER) == "master"
    bad = {
        "Spec": {
            "Name": "x_master",
            "TaskTemplate": {"Networks": [{"Target": "n", "Aliases": ["x_master"]}]},
        }
    }
    with pytest.raises(InvalidRequest, match="no network alias"):
        master_host(bad)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"spark.authenticate": "false"}, "set by the cluster"),
        ({"spark.authenticate.secret": "x"}, "set by the cluster"),
        ({"spark.master": "local"}, "set by the cluster"),
        ({"executor.memory": "1g"}, "expected spark.something"),
    ],
)
def test_jobs_may_not_touch_the_clusters_auth_or_master(conf: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        validate_conf(conf)


@pytest.mark.parametrize(
    ("script", "name", "message"),
    [
        ("print(1)", "job.sh", "ending in .py"),
        ("print(1)", "../x.py", "ending in .py"),
        ("  \n", "x.py", "empty"),
        ("#" * 500_000, "x.py", "larger than"),
    ],
)
def test_bad_scripts_are_refused(script: str, name: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        validate_script(script, name)


@pytest.mark.parametrize("job_id", ["", "ABC123", "a_b1", "x" * 17, "ab"])
def test_bad_job_ids_are_refused(job_id: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_job_id(job_id)


def test_error_summary_is_the_last_exception_line() -> None:
    lines = split_log(
        b'Traceback (most recent call last):\n  File "a.py", line 3\n'
        b"ValueError: first\nKeyError: 'second'\n  \n\n"
    )
    assert lines[-1] == "KeyError: 'second'"
    assert error_summary(lines) == "KeyError: 'second'"
    assert error_summary(["all fine"]) is None


def test_master_json_is_parsed_into_alive_workers_and_apps() -> None:
    data = {
        "url": "spark://0.0.0.0:7077",
        "status": "ALIVE",
        "cores": 2,
        "coresused": 1,
        "memory": 1024,
        "memoryused": 512,
        "workers": [
            {
                "id": "w1",
                "host": "10.0.2.5",
                "state": "ALIVE",
                "cores": 1,
                "coresused": 1,
                "memory": 512,
                "memoryused": 512,
            },
            {"id": "w2", "host": "10.0.2.6", "state": "DEAD", "cores": 1, "memory": 512},
        ],
        "activeapps": [
            {"id": "app-1", "name": "pi", "state": "RUNNING", "cores": 1, "duration": 1500}
        ],
        "completedapps": [{"id": "app-0"}],
    }
    status = parse_master_json("lab", data)
    assert status.alive_workers == 1
    assert [w.state for w in status.workers] == ["ALIVE", "DEAD"]
    assert status.workers[0].memory_used_mb == 512
    assert status.active_apps[0].name == "pi"
    assert status.completed_apps == 1


def test_the_stack_default_image_is_the_official_one_at_the_pinned_version() -> None:
    params = yaml.safe_load((SPARK_STACK / "params.yml").read_text())["params"]
    assert params["image"]["default"] == OFFICIAL_IMAGE == f"apache/spark:{SPARK_VERSION}-python3"
    assert f"sparkswarm/spark:{SPARK_VERSION}" == LOCAL_IMAGE
    for required in ("workers", "worker_cores", "worker_memory", "image"):
        assert params[required]["help"]


def test_spark_conf_turns_auth_on_and_rest_off_and_holds_no_secret() -> None:
    lines = [
        line.split()
        for line in (SPARK_STACK / "conf" / "spark-defaults.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    conf = {parts[0]: parts[1] for parts in lines}
    assert conf["spark.authenticate"] == "true"
    assert conf["spark.master.rest.enabled"] == "false"
    assert "spark.authenticate.secret" not in conf


def test_the_stack_file_keeps_the_secret_external_and_ports_unpublished() -> None:
    stack = yaml.safe_load((SPARK_STACK / "stack.yml").read_text())
    assert stack["secrets"]["spark_auth"] == {"external": True, "name": "${auth_secret}"}
    assert all("ports" not in service for service in stack["services"].values())
    assert stack["networks"]["spark"] == {"driver": "overlay", "attachable": True}
    for service in stack["services"].values():
        assert service["deploy"]["endpoint_mode"] == "dnsrr"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("a/b:1", ("a/b", "1")),
        ("a/b", ("a/b", "latest")),
        ("host:5000/a", ("host:5000/a", "latest")),
    ],
)
def test_split_ref(ref: str, expected: tuple[str, str]) -> None:
    assert split_ref(ref) == expected


@pytest.mark.parametrize("ref", ["Spark:1", "a b", "", "a/b:", ":tag"])
def test_bad_image_refs_are_refused(ref: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_image_ref(ref)


def test_job_files_sit_next_to_the_script_and_travel_to_the_executors() -> None:
    spec = job_service_spec(
        stack="lab",
        job_id="ab12cd34",
        master_service=MASTER,
        app_config={"id": "c9", "name": "lab-job-ab12cd34-wc-py", "file": "wc.py"},
        events_volume=None,
        args=[],
        conf={"spark.cores.max": "1"},
        file_configs=[{"id": "c10", "name": "lab-job-ab12cd34-t-txt", "file": "t.txt"}],
        py_file_configs=[{"id": "c11", "name": "lab-job-ab12cd34-lib-zip", "file": "lib.zip"}],
        name="wc",
        image="mine:1",
    )
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == "mine:1"
    assert container["Dir"] == "/opt/spark/work-dir/sparkswarm-app"
    assert [c["File"]["Name"].rsplit("/", 1)[-1] for c in container["Configs"][1:]] == [
        "wc.py",
        "t.txt",
        "lib.zip",
    ]
    args = container["Args"]
    assert args[args.index("--files") + 1] == "/opt/spark/work-dir/sparkswarm-app/t.txt"
    assert args[args.index("--py-files") + 1] == "/opt/spark/work-dir/sparkswarm-app/lib.zip"
    assert args[args.index("--name") + 1] == "wc"
    assert "spark.cores.max=1" in args
