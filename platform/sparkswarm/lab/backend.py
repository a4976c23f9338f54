"""Lab nodes: the record of one node, the backend interface, and today's backend.

A node backend makes Docker Engines that look like separate machines. The
lab asks it for little (:class:`NodeBackend`): create a node's host-side
pieces, start and stop its engine, destroy everything, and say where its
engine answers and at which address other nodes reach it. Today's backend,
:class:`NetnsBackend`, runs one ``dockerd`` per network namespace, wired to
the ``ssw-br0`` bridge; a Docker-in-Docker or VM backend would implement the
same five methods.

Everything a node owns can be found again from its :class:`LabNode` record
alone (its namespace and veth names, its folder, whose path is in the
command line of every process it started), so :meth:`NetnsBackend.destroy`
works after the process that created the node has died.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from sparkswarm.errors import OperationFailed
from sparkswarm.lab import host
from sparkswarm.model_base import LazyModel

NodeRole = Literal["manager", "worker"]
START_TIMEOUT = 60.0


class LabNode(LazyModel):
    """One lab node, as saved in the lab's state file."""

    name: str
    role: NodeRole
    hostname: str
    address: str
    netns: str
    root: str

    @property
    def url(self) -> str:
        """The node engine's endpoint, for a Gateway or SPARKSWARM_MANAGERS."""
        return f"unix://{self.root}/docker.sock"

    @property
    def veth_host(self) -> str:
        """Host side of the node's link (names are at most 15 characters)."""
        return "sl" + hashlib.sha1(self.netns.encode()).hexdigest()[:10]

    @property
    def veth_node(self) -> str:
        """Node side of the link, inside its namespace."""
        return "sn" + hashlib.sha1(self.netns.encode()).hexdigest()[:10]

    @property
    def log_path(self) -> Path:
        return Path(self.root) / "dockerd.log"

    @property
    def cgroup_parent(self) -> str:
        """Where the node's containers' cgroups go, so teardown can find them."""
        return f"sparkswarm-lab-{self.veth_host}"


class NodeBackend(Protocol):
    """What the lab needs from a way of making nodes."""

    def create(self, node: LabNode) -> None:
        """Make the node's host-side pieces (network, folders); nothing if they exist."""

    def start(self, node: LabNode) -> None:
        """Start the node's engine and wait until it answers; nothing if it runs."""

    def stop(self, node: LabNode) -> None:
        """Stop the node's engine abruptly, as a crash would (its containers die too)."""

    def destroy(self, node: LabNode) -> list[str]:
        """Remove everything the node made; returns what could not be removed (never raises)."""

    def is_running(self, node: LabNode) -> bool:
        """Whether the node's engine process is alive."""

    def leftovers(self, node: LabNode) -> list[str]:
        """What of the node still exists on the host (empty after a clean destroy)."""


class NetnsBackend:
    """One dockerd per network namespace (and UTS namespace, for its hostname).

    Rules it keeps (see ENVIRONMENT.md): dockerd is started through
    ``nsenter --net=/var/run/netns/NAME``, never ``ip netns exec`` (which
    remounts /sys and makes dockerd die with "Devices cgroup isn't
    mounted"); each dockerd has its own containerd namespaces so it never
    sees another engine's containers.
    """

    def __init__(self) -> None:
        # Engines we started in this process: waited for after a kill, so
        # they do not linger as zombies of a long-lived caller (pytest).
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def create(self, node: LabNode) -> None:
        """Namespace, veth pair on the bridge with the node's address, folders."""
        netns_path = Path(f"/var/run/netns/{node.netns}")
        if not netns_path.exists():
            host.run("ip", "netns", "add", node.netns)
        in_ns = ("nsenter", f"--net={netns_path}")
        if not host.link_exists(node.veth_host):
            host.run(
                "ip", "link", "add", node.veth_host, "type", "veth", "peer", "name", node.veth_node
            )  # fmt: skip
            host.run("ip", "link", "set", node.veth_node, "netns", node.netns)
        host.run("ip", "link", "set", node.veth_host, "master", host.BRIDGE)
        host.run("ip", "link", "set", node.veth_host, "up")
        addresses = host.run(*in_ns, "ip", "-4", "-o", "addr", "show", "dev", node.veth_node)
        if f" {node.address}/" not in addresses.stdout:
            host.run(*in_ns, "ip", "addr", "add", f"{node.address}/24", "dev", node.veth_node)
        host.run(*in_ns, "ip", "link", "set", node.veth_node, "up")
        host.run(*in_ns, "ip", "link", "set", "lo", "up")
        for folder in ("data", "exec"):
            (Path(node.root) / folder).mkdir(parents=True, exist_ok=True)

    def start(self, node: LabNode) -> None:
        """Start dockerd in the node's namespaces; OperationFailed if it does not answer."""
        if self.is_running(node):
            self._wait_until_ready(node, None)
            return
        # A crashed engine's mounts would confuse the new one.
        host.kill_processes_of(node.root)
        host.unmount_under(node.root)
        root = Path(node.root)
        # Left by a killed engine; dockerd refuses to start while they exist.
        (root / "docker.sock").unlink(missing_ok=True)
        (root / "dockerd.pid").unlink(missing_ok=True)
        dockerd = (
            f"hostname {node.hostname} && exec dockerd"
            f" --data-root {root / 'data'} --exec-root {root / 'exec'}"
            f" -H {node.url} --pidfile {root / 'dockerd.pid'}"
            f" --containerd-namespace {node.netns} --containerd-plugins-namespace {node.netns}p"
            f" --cgroup-parent /{node.cgroup_parent}"
        )
        with open(node.log_path, "ab") as log:
            # nsenter and unshare exec into the shell, which execs dockerd:
            # the pid we hold is dockerd's own, in its own session, so it
            # outlives the command that started it.
            process = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{node.netns}", "unshare", "--uts",
                 "sh", "-c", dockerd],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self._children[node.root] = process
        self._wait_until_ready(node, process)

    def _wait_until_ready(self, node: LabNode, process: subprocess.Popen[bytes] | None) -> None:
        from sparkswarm.lab.engines import engine_answers

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise OperationFailed(
                    f"the engine of {node.name} exited at start:\n{self.log_tail(node)}"
                )
            if (Path(node.root) / "docker.sock").exists() and engine_answers(node.url):
                return
            time.sleep(0.25)
        raise OperationFailed(
            f"the engine of {node.name} did not answer in {START_TIMEOUT:.0f}s:\n"
            f"{self.log_tail(node)}"
        )

    def log_tail(self, node: LabNode, lines: int = 20) -> str:
        """The end of the node's dockerd log (for error messages)."""
        try:
            text = node.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def engine_pid(self, node: LabNode) -> int | None:
        """The pid of the node's live dockerd, or None."""
        try:
            pid = int((Path(node.root) / "dockerd.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        # Only a dockerd using this very folder: the pid may have been reused.
        if b"dockerd" in cmdline and node.root.encode() in cmdline and state != "Z":
            return pid
        return None

    def is_running(self, node: LabNode) -> bool:
        return self.engine_pid(node) is not None

    def stop(self, node: LabNode) -> None:
        """SIGKILL dockerd, its containerd, shims and containers; unmount what they held."""
        pid = self.engine_pid(node)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        host.kill_processes_of(node.root)
        child = self._children.pop(node.root, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        deadline = time.monotonic() + 10
        while host.processes_of(node.root) and time.monotonic() < deadline:
            time.sleep(0.1)
        host.unmount_under(node.root)

    def destroy(self, node: LabNode) -> list[str]:
        problems: list[str] = []
        steps: tuple[tuple[str, Callable[[], None]], ...] = (
            ("stop the engine", lambda: self.stop(node)),
            ("unmount", lambda: host.unmount_under(node.root)),
            ("remove cgroups", lambda: host.remove_cgroups(node.cgroup_parent)),
            ("remove the folder", lambda: _remove_tree(node.root)),
            ("remove the link", lambda: _delete_link(node.veth_host)),
            ("remove the namespace", lambda: _delete_netns(node.netns)),
        )
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # teardown must go on whatever fails
                problems.append(f"{node.name}: {what}: {exc}")
        return problems

    def leftovers(self, node: LabNode) -> list[str]:
        found = []
        if node.netns in host.namespaces():
            found.append(f"namespace {node.netns}")
        if host.link_exists(node.veth_host):
            found.append(f"link {node.veth_host}")
        if Path(node.root).exists():
            found.append(f"folder {node.root}")
        found += [f"mount {m}" for m in host.mounts_under(node.root)]
        found += [f"process {pid}" for pid in sorted(host.processes_of(node.root))]
        return found


def _remove_tree(path: str) -> None:
    if Path(path).exists():
        shutil.rmtree(path)


def _delete_link(name: str) -> None:
    if host.link_exists(name):
        host.run("ip", "link", "del", name)


def _delete_netns(name: str) -> None:
    if name in host.namespaces():
        host.run("ip", "netns", "del", name)
