"""``pi`` through sparkswarm vs the same job started by hand with ``docker service create``.

On one spark cluster (deployed here with ``spark.up`` under a random name,
removed at the end, unless ``--stack`` names an existing one), alternates
``--rounds`` times:

- sparkswarm: the ``spark.submit`` operation (checks, configs, service,
  wait for the driver) -> *driver running*; then the job followed to its
  end as the watcher does (``follow_locally``) -> *result*;
- bare: ``docker service create --mode replicated-job ... spark-submit pi.py``
  with the same image, network, entrypoint, configs and secret (the docker
  CLI), polled every 0.1 s for its task running, then for its end and the
  ``Pi is roughly`` line in its logs.

Prints both figures per round, their medians and the ratio (targets: submit
-> driver running under 3 s; end to end within 1.1x of bare).

    .venv/bin/python bench/spark_submit.py [--rounds 2] [--partitions 4] [--stack NAME]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the gateway with docker-py's client
PI = ROOT / "stacks" / "spark" / "jobs" / "pi.py"


def ours(gw: Any, stack: str, partitions: int) -> tuple[float, float, str]:
    from sparkswarm.operations import run_operation
    from sparkswarm.spark.follow import follow_locally
    from sparkswarm.spark.job_record import JobRecord
    from sparkswarm.spark.job_request import build_submit_params

    params = build_submit_params("pi", [str(partitions)], stack=stack)
    started = time.monotonic()
    result = run_operation(gw, "spark.submit", params, lambda *_, **__: None)
    running = time.monotonic() - started
    record = follow_locally(gw, JobRecord.model_validate(result["record"]), poll=0.1)
    total = time.monotonic() - started
    line = next((x for x in record.output if x.startswith("Pi is")), record.state)
    return running, total, line


def bare(gw: Any, stack: str, partitions: int) -> tuple[float, float, str]:
    """The same job as a user would start it with the docker CLI alone."""
    master = gw.api.inspect_service(f"{stack}_master")["Spec"]["TaskTemplate"]
    container = master["ContainerSpec"]
    network = gw.api.inspect_network(master["Networks"][0]["Target"])["Name"]
    name = f"{stack}-bare-{secrets.token_hex(3)}"
    alias = name.replace("_", "-")
    config = f"{name}-pi"
    subprocess.run(["docker", "config", "create", config, str(PI)], check=True, capture_output=True)
    command = [
        "docker", "service", "create", "--detach", "--quiet", "--no-resolve-image",
        "--name", name, "--mode", "replicated-job", "--restart-condition", "none",
        "--network", f"name={network},alias={alias}", "--endpoint-mode", "dnsrr",
        "--user", container.get("User", "root"),
        "--entrypoint", " ".join(container["Command"]),
        "--config", f"source={config},target=/opt/spark/work-dir/app/pi.py,mode=0444",
    ]  # fmt: skip
    for entry in container.get("Configs") or []:
        command += [
            "--config",
            f"source={entry['ConfigName']},target={entry['File']['Name']},mode=0555",
        ]
    for entry in container.get("Secrets") or []:
        command += [
            "--secret",
            f"source={entry['SecretName']},target={entry['File']['Name']},mode=0400",
        ]
    command += [
        container["Image"], "/opt/spark/bin/spark-submit", "--master", "spark://master:7077",
        "--conf", f"spark.driver.host={alias}", "--conf", "spark.driver.bindAddress=0.0.0.0",
        "--conf", "spark.eventLog.enabled=false", "--conf", "spark.cores.max=1",
        "/opt/spark/work-dir/app/pi.py", str(partitions),
    ]  # fmt: skip
    started = time.monotonic()
    try:
        service_id = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        service_id = service_id.strip()
        running = None
        while True:
            tasks = gw.api.tasks(filters={"service": service_id})
            state = tasks[0]["Status"]["State"] if tasks else "new"
            if running is None and state in ("running", "complete", "failed", "rejected"):
                running = time.monotonic() - started
            if state in ("complete", "failed", "rejected", "shutdown"):
                break
            time.sleep(0.1)
        logs = b"".join(gw.api.service_logs(service_id, stdout=True, stderr=False)).decode()
        total = time.monotonic() - started
        line = next((x for x in logs.splitlines() if x.startswith("Pi is")), state)
        return running or total, total, line
    finally:
        subprocess.run(["docker", "service", "rm", name], capture_output=True)
        for c in gw.api.containers(
            all=True, filters={"label": f"com.docker.swarm.service.name={name}"}
        ):
            gw.api.remove_container(c["Id"], force=True)
        deadline = time.monotonic() + 30
        while subprocess.run(["docker", "config", "rm", config], capture_output=True).returncode:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--stack", help="An existing spark stack (default: deploy one).")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds is between 1 and 10")

    from sparkswarm.operations import run_operation
    from sparkswarm.spark.cluster import up_params
    from tests.support.engine import EngineGateway as Gateway

    gw = Gateway()
    stack = args.stack
    prefix = f"bench{secrets.token_hex(2)}"
    if stack is None:
        stack = f"{prefix}-spark"
        print(f"deploying {stack} (2 workers) ...", flush=True)
        params = up_params(stack, workers=2, sets=[f"auth_secret={prefix}-auth"])
        run_operation(gw, "spark.up", params, lambda *_, **__: None)
    rows: dict[str, list[tuple[float, float]]] = {"sparkswarm": [], "bare": []}
    try:
        for round_no in range(1, args.rounds + 1):
            for label, run in (("sparkswarm", ours), ("bare", bare)):
                running, total, line = run(gw, stack, args.partitions)
                rows[label].append((running, total))
                print(
                    f"round {round_no} {label:10s} driver running {running:6.2f} s"
                    f"   result {total:6.2f} s   {line}",
                    flush=True,
                )
    finally:
        if args.stack is None:
            from tests.support.engine import remove_prefixed

            remove_prefixed(gw, prefix)
    med = {
        k: (statistics.median(r for r, _ in v), statistics.median(t for _, t in v))
        for k, v in rows.items()
    }
    for label, (running, total) in med.items():
        print(
            f"median {label:10s} submit -> driver running {running:6.2f} s"
            f"   submit -> result {total:6.2f} s"
        )
    print(
        f"ratio sparkswarm/bare: driver running {med['sparkswarm'][0] / med['bare'][0]:.2f}x, "
        f"end to end {med['sparkswarm'][1] / med['bare'][1]:.2f}x"
    )


if __name__ == "__main__":
    main()
