"""Helpers for stack tests: capture a stack's swarm objects in comparable form."""

from __future__ import annotations

import base64
import os
import subprocess
from typing import Any

from tests.support.wait import wait_for

DOCKER = "/usr/local/bin/docker"
NAMESPACE = "com.docker.stack.namespace"
SNAPSHOT_LABEL = "io.sparkswarm.stack.snapshot"


def capture(gw: Any, stack: str) -> dict[str, Any]:
    """The stack's services, networks, configs and secrets with IDs made names."""
    selector = {"label": f"{NAMESPACE}={stack}"}
    network_names = {n["Id"]: n["Name"] for n in gw.api.networks()}
    config_names = {c["ID"]: c["Spec"]["Name"] for c in gw.api.configs()}
    secret_names = {s["ID"]: s["Spec"]["Name"] for s in gw.api.secrets()}
    services = {}
    for service in gw.api.services(filters=selector):
        spec = service["Spec"]
        task = spec["TaskTemplate"]
        for attachment in task.get("Networks") or []:
            attachment["Target"] = network_names.get(attachment["Target"], attachment["Target"])
        container = task["ContainerSpec"]
        for ref in container.get("Configs") or []:
            ref["ConfigID"] = config_names.get(ref["ConfigID"], "?")
        for ref in container.get("Secrets") or []:
            ref["SecretID"] = secret_names.get(ref["SecretID"], "?")
        # The CLI orders references to the same secret/config randomly (Go map order).
        for kind in ("Secrets", "Configs"):
            if container.get(kind):
                container[kind].sort(key=lambda r: (r.get(kind[:-1] + "Name"), r["File"]["Name"]))
        services[spec["Name"]] = spec
    networks = {}
    for network in gw.api.networks(filters=selector):
        details = gw.api.inspect_network(network["Id"])
        options = dict(details.get("Options") or {})
        options.pop("com.docker.network.driver.overlay.vxlanid_list", None)
        networks[details["Name"]] = {
            "Driver": details["Driver"],
            "Scope": details["Scope"],
            "Options": options,
            "Labels": details.get("Labels"),
            "Internal": details.get("Internal"),
            "Attachable": details.get("Attachable"),
            "IPAMDriver": (details.get("IPAM") or {}).get("Driver"),
        }
    configs = {
        c["Spec"]["Name"]: {
            "Labels": c["Spec"].get("Labels"),
            "Data": base64.b64decode(c["Spec"].get("Data") or ""),
        }
        for c in gw.api.configs(filters=selector)
        if SNAPSHOT_LABEL not in (c["Spec"].get("Labels") or {})
    }
    secrets = {
        s["Spec"]["Name"]: {"Labels": s["Spec"].get("Labels")}
        for s in gw.api.secrets(filters=selector)
    }
    return {"services": services, "networks": networks, "configs": configs, "secrets": secrets}


def wait_stack_gone(gw: Any, stack: str, timeout: float = 60.0) -> None:
    """Wait until nothing labelled with the stack remains (networks go last)."""
    selector = {"label": f"{NAMESPACE}={stack}"}
    wait_for(
        lambda: (
            not (
                gw.api.services(filters=selector)
                or gw.api.networks(filters=selector)
                or gw.api.configs(filters=selector)
                or gw.api.secrets(filters=selector)
            )
        ),
        timeout,
        f"stack {stack} to have no objects left",
        interval=0.5,
    )


def docker_cli(
    *args: str, env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the Docker CLI; the result (check it yourself)."""
    return subprocess.run(
        [DOCKER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )
