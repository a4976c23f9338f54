"""A real ``sparkswarm lab`` for a test module, driven through the CLI.

Each :class:`TestLab` lives in its own temporary lab folder (the
``SPARKSWARM_LAB_DIR`` setting), so it never meets a user's lab, and notes
the test process's pid there: the next run takes down labs whose test
process died (:func:`sweep_dead_labs`). :func:`host_leftovers` looks for
what a lab may leave behind using host tools only, independently of the
product's own teardown code.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.swarm_cli import sparkswarm

LAB_FOLDER_PREFIX = "sswlab-"
OWNER_FILE = "test-owner.pid"


class TestLab:
    """One lab: ``up`` once, then CLI calls aimed at it, then ``down``."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=LAB_FOLDER_PREFIX))
        (self.base / OWNER_FILE).write_text(str(os.getpid()))
        self.name = "t" + secrets.token_hex(3)
        self.up_result: dict[str, Any] = {}

    @property
    def root(self) -> Path:
        return self.base / self.name

    def env(self, managers: bool = True) -> dict[str, str]:
        """Environment for ``sparkswarm``: this lab folder; its managers as the swarm."""
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        env["SPARKSWARM_LAB_DIR"] = str(self.base)
        if managers and self.up_result:
            env["SPARKSWARM_MANAGERS"] = self.up_result["env"].split("=", 1)[1]
        return env

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``sparkswarm ARGS`` against this lab."""
        return sparkswarm(*args, env=self.env(), timeout=timeout)

    def lab(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``sparkswarm lab ARGS --name NAME``."""
        return self.run("lab", *args, "--name", self.name, timeout=timeout)

    def json(self, *args: str, timeout: float = 300) -> Any:
        """``sparkswarm ARGS --json`` against this lab; exit 0 asserted."""
        done = self.run(*args, "--json", timeout=timeout)
        assert done.returncode == 0, f"sparkswarm {' '.join(args)}: {done.stderr}{done.stdout}"
        return json.loads(done.stdout)

    def up(self, *args: str, timeout: float = 600) -> dict[str, Any]:
        done = self.lab("up", *args, "--json", timeout=timeout)
        assert done.returncode == 0, done.stderr + done.stdout
        self.up_result = json.loads(done.stdout)
        return self.up_result

    def status(self) -> dict[str, Any]:
        done = self.lab("status", "--json", timeout=60)
        assert done.returncode == 0, done.stderr + done.stdout
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def nodes(self) -> dict[str, dict[str, Any]]:
        return {n["name"]: n for n in self.status()["nodes"]}

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.lab("down", "--json", timeout=300)

    def remove_base(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def host_leftovers(base: Path, name: str, state: dict[str, Any] | None) -> list[str]:
    """What of lab ``name`` in ``base`` the host still has, seen with host tools only.

    ``state``: the lab's ``lab.json`` (for its links' names), read while it existed.
    """
    found = []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line}" for line in namespaces.splitlines() if f"sswl.{name}." in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    for node in (state or {}).get("nodes", []):
        import hashlib

        veth = "sl" + hashlib.sha1(node["netns"].encode()).hexdigest()[:10]
        if f" {veth}@" in links or f" {veth}:" in links:
            found.append(f"link {veth}")
    root = str(base / name)
    with open("/proc/self/mounts") as fh:
        found += [f"mount {line.split()[1]}" for line in fh if root in line.split()[1]]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if root.encode() in cmdline:
                found.append(f"process {entry.name}: {cmdline[:80]!r}")
    if Path(root).exists():
        found.append(f"folder {root}")
    return found


def sweep_dead_labs() -> None:
    """Take down the labs of test runs that died before their teardown."""
    for base in Path(tempfile.gettempdir()).glob(f"{LAB_FOLDER_PREFIX}*"):
        try:
            pid = int((base / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        env = {**os.environ, "SPARKSWARM_LAB_DIR": str(base)}
        for state in base.glob("*/lab.json"):
            sparkswarm("lab", "down", "--name", state.parent.name, env=env, timeout=300)
        shutil.rmtree(base, ignore_errors=True)
