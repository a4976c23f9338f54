"""``spark.up`` / ``spark.down``: the short way to deploy and remove the ready-made cluster.

``spark up`` is ``stack deploy`` of ``stacks/spark/stack.yml`` (read on the
submitting side by :func:`up_params`, like any deploy) followed by a wait
until every worker is ALIVE with the master. Both are stack operations:
they serialise with the other operations on the same stack, never with
the jobs running on it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest
from sparkswarm.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway


def spark_stack_file() -> Path:
    """The ready-made spark stack's ``stack.yml`` (next to the job catalogue)."""
    from sparkswarm.spark.job_request import catalogue_dir

    return catalogue_dir().parent / "stack.yml"


def up_params(
    name: str = "spark",
    *,
    workers: int | None = None,
    worker_cores: int | None = None,
    worker_memory: str | None = None,
    connect: bool = False,
    connect_port: int | None = None,
    sets: list[str] | None = None,
) -> dict[str, Any]:
    """The params of ``spark.up``: the stack file read and validated, and
    the number of workers to wait for. InvalidRequest for a bad value."""
    from sparkswarm.spark.job_request import memory_mb
    from sparkswarm.stacks.convert import validate_stack_name
    from sparkswarm.stacks.params import (
        interpolation_env,
        parse_sets,
        secrets_to_generate,
        stack_paths,
    )
    from sparkswarm.stacks.source import read_stack_source

    validate_stack_name(name)
    values = parse_sets(sets or [])
    if workers is not None:
        if not 0 <= workers <= 64:
            raise InvalidRequest("--workers is between 0 and 64")
        values["workers"] = str(workers)
    if worker_cores is not None:
        if not 1 <= worker_cores <= 256:
            raise InvalidRequest("--worker-cores is between 1 and 256")
        values["worker_cores"] = str(worker_cores)
    if worker_memory is not None:
        if memory_mb(worker_memory) < 512:
            raise InvalidRequest("--worker-memory must be 512m at least (executors take 512m)")
        values["worker_memory"] = worker_memory
    if connect or connect_port is not None:
        values["connect"] = "true"
    if connect_port is not None:
        from sparkswarm.limits import check_number

        values["connect_port"] = str(check_number("--connect-port", connect_port))
    path = spark_stack_file()
    env = interpolation_env(path, values)
    params, _ = read_stack_source([str(p) for p in stack_paths([path], env)], env)
    return {
        "name": name,
        **params,
        "generated_secrets": secrets_to_generate(path, env),
        "workers": int(env.get("workers", "0")),
    }


def spark_up(
    gw: Gateway,
    *,
    name: str,
    workers: int,
    wait_timeout: float = 180.0,
    progress: ProgressFn = no_progress,
    **deploy: Any,
) -> dict[str, Any]:
    """Deploy the spark stack ``name`` and wait until ``workers`` workers are ALIVE.

    Raises what ``stack.deploy`` raises, and OperationFailed when the
    workers do not register within ``wait_timeout`` seconds.
    """
    from sparkswarm.spark.status import wait_for_connect, wait_for_workers
    from sparkswarm.stacks.deploy import deploy_stack

    deployed = deploy_stack(gw, name=name, progress=progress, **deploy)
    progress(f"waiting for {workers} workers of {name} to be ALIVE", log=True)
    status = wait_for_workers(gw, stack=name, workers=workers, timeout=wait_timeout)
    if any(c.service == "connect" and c.result != "removed" for c in deployed.services):
        progress(f"waiting for the Spark Connect server of {name}", log=True)
        status = wait_for_connect(gw, stack=name, timeout=wait_timeout)
    return {
        "stack": name,
        "services": [asdict(change) for change in deployed.services],
        "alive_workers": status.alive_workers,
        "cores": status.cores,
        "memory_mb": status.memory_mb,
    }


def spark_down(gw: Gateway, *, name: str, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Remove the spark stack ``name`` and the jobs still on it (NotFound if none)."""
    from sparkswarm.spark.job_spec import JOB_LABEL, STACK_LABEL
    from sparkswarm.spark.jobs import remove_job
    from sparkswarm.stacks.removal import remove_stack

    jobs = {
        s["Spec"]["Labels"][JOB_LABEL]
        for s in gw.services(filters={"label": f"{STACK_LABEL}={name}"})
        if JOB_LABEL in (s["Spec"].get("Labels") or {})
    }
    for job_id in sorted(jobs):
        remove_job(gw, stack=name, job_id=job_id, progress=progress)
    removed = asdict(remove_stack(gw, name=name, progress=progress))
    return {**removed, "jobs_removed": sorted(jobs)}
