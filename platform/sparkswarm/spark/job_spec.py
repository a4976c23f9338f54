"""Pure pieces of ``spark.submit``: names, the job's service spec, its result.

A Spark job runs as a swarm ``replicated-job`` service on the stack's
network, from the stack's master service's own image, entrypoint, configs
and auth secret (so it authenticates exactly as the cluster does), with its
script delivered as a swarm config. Nothing here talks to the engine.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sparkswarm.errors import InvalidRequest

EVENT_DIR = "/spark-events"
APP_DIR = "/opt/spark/work-dir/sparkswarm-app"
SPARK_SUBMIT = "/opt/spark/bin/spark-submit"
JOB_LABEL = "org.sparkswarm.spark.job"
STACK_LABEL = "org.sparkswarm.spark.stack"

# Spark builds spark:// URLs from host names with java.net.URI, which takes
# no '_' in a host: "<stack>_master" and "<stack>_job" are invalid Spark
# hosts, so the driver is reached through a network alias made of these.
_HOSTNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_JOB_ID = re.compile(r"^[a-z0-9]{4,16}$")
_SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.py$")
_CONF_KEY = re.compile(r"^spark\.[A-Za-z0-9_.-]+$")
# Keys a job may not set: they would undo or leak the cluster's authentication.
_PROTECTED_CONF = ("spark.authenticate", "spark.master", "spark.driver.host")
MAX_SCRIPT_BYTES = 400 * 1024  # swarm configs hold at most 500 KB


def new_job_id() -> str:
    """A fresh random job id (8 lower-case hex digits)."""
    return secrets.token_hex(4)


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if usable in service names and host names; InvalidRequest if not."""
    if not _JOB_ID.match(job_id):
        raise InvalidRequest(f"invalid job id {job_id!r}: 4-16 lower-case letters or digits")
    return job_id


def job_service_name(stack: str, job_id: str) -> str:
    """``<stack>-job-<id>``: the job's service (and config name prefix)."""
    return f"{stack}-job-{job_id}"


def driver_host(job_id: str) -> str:
    """The job's network alias, which executors use to reach the driver."""
    return f"spark-job-{job_id}"


def master_host(master_service: dict[str, Any]) -> str:
    """The master's alias on the stack network that Spark accepts as a host.

    ``docker stack deploy`` (and ours) give each service its short name
    (``master``) as an alias. Raises InvalidRequest when there is none.
    """
    for attachment in master_service["Spec"]["TaskTemplate"].get("Networks") or []:
        for alias in attachment.get("Aliases") or []:
            if _HOSTNAME.match(alias):
                return str(alias)
    name = master_service["Spec"]["Name"]
    raise InvalidRequest(f"service {name} has no network alias usable as a Spark host")


def validate_script(script: str, script_name: str) -> None:
    """InvalidRequest for an empty, oversized or badly named script."""
    if not _SCRIPT_NAME.match(script_name):
        raise InvalidRequest(f"invalid script name {script_name!r}: expected a name ending in .py")
    if not script.strip():
        raise InvalidRequest(f"{script_name} is empty")
    if len(script.encode()) > MAX_SCRIPT_BYTES:
        raise InvalidRequest(f"{script_name} is larger than {MAX_SCRIPT_BYTES // 1024} KiB")


def validate_conf(conf: dict[str, str]) -> dict[str, str]:
    """Return ``conf`` if every key is a Spark key a job may set; InvalidRequest if not."""
    for key in conf:
        if not _CONF_KEY.match(key):
            raise InvalidRequest(f"invalid Spark conf key {key!r}: expected spark.something")
        if key.startswith(_PROTECTED_CONF):
            raise InvalidRequest(f"{key} is set by the cluster and cannot be changed by a job")
    return conf


def submit_command(
    *,
    master: str,
    driver: str,
    script_path: str,
    args: list[str],
    conf: dict[str, str],
    event_log: bool,
    name: str | None = None,
    files: list[str] | None = None,
    py_files: list[str] | None = None,
) -> list[str]:
    """The ``spark-submit`` command line of a job (client deploy mode).

    ``conf`` carries the job's resources too (``spark.cores.max``,
    ``spark.executor.memory``); ``files`` and ``py_files`` are paths inside
    the driver's container, which spark-submit ships to the executors.
    """
    command = [
        SPARK_SUBMIT,
        "--master",
        f"spark://{master}:7077",
        "--conf",
        f"spark.driver.host={driver}",
        # The driver must bind to every address: it cannot bind the alias's IP by name.
        "--conf",
        "spark.driver.bindAddress=0.0.0.0",
    ]
    if not event_log:
        command += ["--conf", "spark.eventLog.enabled=false"]
    if name:
        command += ["--name", name]
    if files:
        command += ["--files", ",".join(files)]
    if py_files:
        command += ["--py-files", ",".join(py_files)]
    for key, value in sorted(conf.items()):
        command += ["--conf", f"{key}={value}"]
    return [*command, script_path, *args]


def job_service_spec(
    *,
    stack: str,
    job_id: str,
    master_service: dict[str, Any],
    app_config: dict[str, str],
    events_volume: str | None,
    args: list[str],
    conf: dict[str, str],
    file_configs: list[dict[str, str]] | None = None,
    py_file_configs: list[dict[str, str]] | None = None,
    name: str | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    """The Engine API ``ServiceSpec`` of a job, derived from the master's spec.

    ``app_config`` is ``{"id": ..., "name": ..., "file": ...}`` of the config
    holding the script; ``file_configs`` / ``py_file_configs`` the same for
    the files that travel with it (each lands next to the script, in the
    driver's working folder); ``events_volume`` the history server's
    event-log volume (None: no event log); ``image`` replaces the master's.
    """
    master_task = master_service["Spec"]["TaskTemplate"]
    master_container = master_task["ContainerSpec"]
    script_path = f"{APP_DIR}/{app_config['file']}"
    configs = [dict(c) for c in master_container.get("Configs") or []]
    extra = [app_config, *(file_configs or []), *(py_file_configs or [])]
    for entry in extra:
        configs.append(
            {
                "ConfigID": entry["id"],
                "ConfigName": entry["name"],
                "File": {
                    "Name": f"{APP_DIR}/{entry['file']}",
                    "UID": "0",
                    "GID": "0",
                    "Mode": 0o444,
                },
            }
        )
    container: dict[str, Any] = {
        "Image": image or master_container["Image"],
        "Args": submit_command(
            master=master_host(master_service),
            driver=driver_host(job_id),
            script_path=script_path,
            args=args,
            conf=conf,
            event_log=events_volume is not None,
            name=name,
            files=[f"{APP_DIR}/{c['file']}" for c in file_configs or []],
            py_files=[f"{APP_DIR}/{c['file']}" for c in py_file_configs or []],
        ),
        "Env": list(master_container.get("Env") or []),
        "Configs": configs,
        "Secrets": [dict(s) for s in master_container.get("Secrets") or []],
        "Labels": {JOB_LABEL: job_id, STACK_LABEL: stack},
        # Scripts open their files by bare name: they sit in the working folder.
        "Dir": APP_DIR,
    }
    for key in ("Command", "User"):
        if master_container.get(key):
            container[key] = master_container[key]
    if events_volume is not None:
        container["Mounts"] = [{"Type": "volume", "Source": events_volume, "Target": EVENT_DIR}]
    networks = [
        {"Target": attachment["Target"], "Aliases": [driver_host(job_id)]}
        for attachment in master_task.get("Networks") or []
    ]
    return {
        "Name": job_service_name(stack, job_id),
        "Labels": {JOB_LABEL: job_id, STACK_LABEL: stack},
        "TaskTemplate": {
            "ContainerSpec": container,
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Networks": networks,
        },
        "Mode": {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}},
        "EndpointSpec": {"Mode": "dnsrr"},
    }


def split_log(raw: bytes | str) -> list[str]:
    """Log bytes as lines without trailing blanks."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def error_summary(stderr_lines: list[str]) -> str | None:
    """The most telling line of a failed driver's stderr: the last exception line."""
    for line in reversed(stderr_lines):
        stripped = line.strip()
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", stripped):
            return stripped
    return None
