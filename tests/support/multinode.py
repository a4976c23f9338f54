"""Extra swarm nodes for tests: one more dockerd per network namespace.

Each :class:`ExtraNode` is a dockerd running in its own network namespace
(and UTS namespace, so its hostname differs from the machine's), wired by a
veth pair to the lab bridge ``ssw-br0`` (10.77.0.0/24, host side 10.77.0.1,
where the main swarm advertises itself). Everything a node owns (data root,
exec root, socket, pidfile, log) lives under one temporary folder.

Rules this module keeps (see ENVIRONMENT.md):

- dockerd is started through ``nsenter --net=/var/run/netns/NAME``, never
  ``ip netns exec`` (which remounts /sys and makes dockerd die with "Devices
  cgroup isn't mounted");
- addresses are claimed atomically (``mkdir`` under :data:`CLAIMS`) from
  10.77.0.100-199 so parallel test runs never collide;
- :meth:`ExtraNode.destroy` always runs everything it can (leave the swarm,
  stop dockerd, unmount, remove folders, veth and namespace) and never raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BRIDGE = "ssw-br0"
BRIDGE_HOST_ADDRESS = "10.77.0.1"
MAIN_MANAGER = f"{BRIDGE_HOST_ADDRESS}:2377"
NAME_PREFIX = "sswt"
CLAIMS = Path("/run/sparkswarm-test-addresses")
START_TIMEOUT = 60.0
# Hostnames given to extra nodes: "<test prefix>-n<index>" (see tests/conftest.py).
STALE_HOSTNAME = re.compile(r"^ssw[0-9a-f]+-n[0-9]+$")


class MultinodeUnavailable(RuntimeError):
    """This machine cannot host extra nodes (not root, no bridge, no tools)."""


def why_unavailable() -> str | None:
    """None when extra nodes can be created here, else the reason."""
    if os.geteuid() != 0:
        return "extra swarm nodes need root (network namespaces)"
    for tool in ("ip", "iptables", "nsenter", "unshare", "dockerd"):
        if shutil.which(tool) is None:
            return f"extra swarm nodes need {tool!r} on PATH"
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        return f"bridge {BRIDGE} missing (run scripts/setup.sh)"
    return None


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=60)


def _claim_address() -> str:
    """An unused 10.77.0.1xx address, claimed by a folder holding our pid."""
    CLAIMS.mkdir(parents=True, exist_ok=True)
    candidates = list(range(100, 200))
    random.shuffle(candidates)
    for last in candidates:
        claim = CLAIMS / f"10.77.0.{last}"
        try:
            claim.mkdir()
        except FileExistsError:
            if _claim_is_stale(claim):
                _sweep_claim(claim)
            continue
        (claim / "pid").write_text(str(os.getpid()))
        return claim.name
    raise MultinodeUnavailable("no free test address in 10.77.0.100-199")


def _claim_is_stale(claim: Path) -> bool:
    try:
        pid = int((claim / "pid").read_text())
    except (OSError, ValueError):
        # Being written right now by another process, or broken: leave it.
        return False
    return not Path(f"/proc/{pid}").exists()


def _sweep_claim(claim: Path) -> None:
    """Remove what a dead test process left behind for this address."""
    try:
        left = json.loads((claim / "node.json").read_text())
    except (OSError, ValueError):
        left = {}
    root = left.get("root")
    if root:
        _kill_dockerd_of(Path(root))
        _kill_processes_of(Path(root))
        for target in sorted(_mounts_under(root), key=len, reverse=True):
            _run("umount", "-l", target, check=False)
        shutil.rmtree(root, ignore_errors=True)
    if left.get("veth_host"):
        _run("ip", "link", "del", left["veth_host"], check=False)
    if left.get("netns"):
        _run("ip", "netns", "del", left["netns"], check=False)
    shutil.rmtree(claim, ignore_errors=True)


def _kill_dockerd_of(root: Path) -> None:
    try:
        pid = int((root / "dockerd.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    # Only a dockerd using this very folder: the pid may have been reused.
    if b"dockerd" in cmdline and str(root).encode() in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _kill_processes_of(root: Path) -> None:
    """SIGKILL what is left of a node: its containerd, shims and their containers.

    Shims are meant to outlive dockerd; ours name the node's folder in their
    command line, and the container processes are their descendants.
    """
    parents: dict[int, int] = {}
    mine: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        if str(root).encode() in cmdline:
            mine.add(pid)
    grown = True
    while grown:
        children = {pid for pid, ppid in parents.items() if ppid in mine} - mine
        grown = bool(children)
        mine |= children
    for pid in mine:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _mounts_under(root: str) -> list[str]:
    with open("/proc/self/mounts") as fh:
        return [line.split()[1] for line in fh if line.split()[1].startswith(root + "/")]


def sweep_stale() -> None:
    """Clean up after test processes that died without their teardown."""
    if CLAIMS.exists():
        for claim in CLAIMS.iterdir():
            if _claim_is_stale(claim):
                _sweep_claim(claim)


def remove_stale_main_nodes(main_gw: Any) -> None:
    """Remove extra nodes of dead test runs that the main swarm still lists as down."""
    for raw in main_gw.nodes():
        hostname = raw.get("Description", {}).get("Hostname", "")
        if STALE_HOSTNAME.match(hostname) and raw["Status"]["State"] == "down":
            with contextlib.suppress(Exception):
                main_gw.api.remove_node(raw["ID"], force=True)


@dataclass
class ExtraNode:
    """One extra dockerd in its own network + UTS namespace."""

    netns: str
    hostname: str
    address: str
    root: Path
    process: subprocess.Popen[bytes] | None = None
    main_node_id: str | None = None
    _gateways: list[Any] = field(default_factory=list)

    @property
    def veth_host(self) -> str:
        return f"vh{self.netns[-8:]}"

    @property
    def veth_node(self) -> str:
        return f"vn{self.netns[-8:]}"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        """The endpoint to give a Gateway or SPARKSWARM_MANAGERS."""
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a ``sparkswarm`` subprocess aimed at this node."""
        env = dict(os.environ if base is None else base)
        env["SPARKSWARM_MANAGERS"] = self.url
        env.pop("DOCKER_HOST", None)
        return env

    def gateway(self) -> Any:
        """A sparkswarm Gateway to this node's engine (closed at destroy)."""
        from tests.support.engine import EngineGateway

        gateway = EngineGateway([self.url], timeout=30)
        self._gateways.append(gateway)
        return gateway

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Create namespace, veth, folders and start dockerd; wait until it answers."""
        _run("ip", "netns", "add", self.netns)
        _run("ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_node)
        _run("ip", "link", "set", self.veth_node, "netns", self.netns)
        _run("ip", "link", "set", self.veth_host, "master", BRIDGE)
        _run("ip", "link", "set", self.veth_host, "up")
        in_ns = ("nsenter", f"--net=/var/run/netns/{self.netns}")
        _run(*in_ns, "ip", "addr", "add", f"{self.address}/24", "dev", self.veth_node)
        _run(*in_ns, "ip", "link", "set", self.veth_node, "up")
        _run(*in_ns, "ip", "link", "set", "lo", "up")
        for folder in ("data", "exec"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        dockerd = (
            f"hostname {self.hostname} && exec dockerd"
            f" --data-root {self.root / 'data'} --exec-root {self.root / 'exec'}"
            f" -H {self.url} --pidfile {self.root / 'dockerd.pid'}"
            # Own containerd namespaces: never see the main engine's containers.
            f" --containerd-namespace {self.netns} --containerd-plugins-namespace {self.netns}p"
        )
        with open(self.log_path, "wb") as log:
            # nsenter and unshare exec into the shell, which execs dockerd:
            # the pid we hold is dockerd's own, in its own process group.
            self.process = subprocess.Popen(
                [*in_ns, "unshare", "--uts", "sh", "-c", dockerd],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        import docker

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise MultinodeUnavailable(f"dockerd exited early:\n{self._log_tail()}")
            if self.socket.exists():
                try:
                    client = docker.APIClient(base_url=self.url, version="auto", timeout=5)
                    client.ping()
                    client.close()
                    return
                except docker.errors.DockerException:
                    pass
            time.sleep(0.25)
        raise MultinodeUnavailable(
            f"dockerd did not answer in {START_TIMEOUT}s:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def load_images(self, main_gw: Any, tags: Iterable[str]) -> None:
        """Copy images from the main engine (nodes have no registry to pull from)."""
        node_gw = self.gateway()
        for tag in tags:
            data = b"".join(main_gw.api.get_image(tag))
            node_gw.api.load_image(data)

    def destroy(self, main_gw: Any | None = None) -> list[str]:
        """Tear everything down; returns what went wrong (never raises)."""
        problems: list[str] = []

        def attempt(what: str, func: Any, *args: Any) -> None:
            try:
                func(*args)
            except Exception as exc:  # teardown must go on whatever fails
                problems.append(f"{what}: {exc}")

        if self.process is not None and self.process.poll() is None:
            attempt("leave swarm", self._leave_swarm)
        if self.main_node_id and main_gw is not None:
            attempt("remove from main swarm", self._remove_from_main, main_gw)
        for gateway in self._gateways:
            attempt("close gateway", gateway.close)
        attempt("stop dockerd", self._stop_dockerd)
        attempt("unmount", self._unmount_all)
        attempt("remove folder", shutil.rmtree, self.root)
        _run("ip", "link", "del", self.veth_host, check=False)
        _run("ip", "netns", "del", self.netns, check=False)
        attempt("release address", shutil.rmtree, CLAIMS / self.address)
        return problems

    def _leave_swarm(self) -> None:
        """Leave the main swarm politely (and note our node id there to remove it).

        A swarm made only of extra nodes dies with their dockerds, so leaving
        it is skipped: a force-leave from a swarm that lost quorum can take
        twenty seconds.
        """
        import docker
        import requests

        try:
            # Short: a manager of a lab swarm in trouble can stall /info for long.
            client = docker.APIClient(base_url=self.url, version="auto", timeout=5)
            swarm = client.info()["Swarm"]
        except (docker.errors.DockerException, requests.RequestException):
            return  # a lab manager without quorum; main membership is undone below
        try:
            managers = {m["Addr"] for m in swarm.get("RemoteManagers") or []}
            if swarm["LocalNodeState"] != "inactive" and MAIN_MANAGER in managers:
                self.main_node_id = self.main_node_id or swarm.get("NodeID") or None
                client.leave_swarm(force=True)
        finally:
            client.close()

    def _remove_from_main(self, main_gw: Any) -> None:
        from sparkswarm.errors import NotFound

        deadline = time.monotonic() + 30
        while True:
            try:
                main_gw.api.remove_node(self.main_node_id, force=True)
                return
            except NotFound:
                return
            except Exception:
                # A node that just left may still be "ready" for a moment.
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def _stop_dockerd(self) -> None:
        if self.process is None:
            return
        pid = self.process.pid
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            try:
                # A manager whose swarm lost quorum can hang in shutdown.
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        _kill_processes_of(self.root)

    def _unmount_all(self) -> None:
        for target in sorted(_mounts_under(str(self.root)), key=len, reverse=True):
            _run("umount", "-l", target, check=False)


def allow_forwarding_on_bridge() -> None:
    """Let extra nodes reach each other across the lab bridge.

    dockerd loads br_netfilter with ``bridge-nf-call-iptables=1`` and sets
    the FORWARD policy to DROP, so frames bridged between two namespaces'
    veths are dropped (the host itself, reached via INPUT, is not affected).
    One ACCEPT rule for ssw-br0 -> ssw-br0 in DOCKER-USER (the chain Docker
    leaves to users and never flushes) fixes it; it is added once and kept.
    """
    rule = ["DOCKER-USER", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
    if _run("iptables", "-C", *rule, check=False).returncode != 0:
        _run("iptables", "-I", *rule)


def new_node(prefix: str, index: int) -> ExtraNode:
    """An unstarted node with a fresh namespace name, hostname, address and folder."""
    token = secrets.token_hex(4)
    address = _claim_address()
    root = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-{token}-"))
    node = ExtraNode(
        netns=f"{NAME_PREFIX}-{token}",
        hostname=f"{prefix}-n{index}",
        address=address,
        root=root,
    )
    # Enough for sweep_stale() to clean up if this process dies mid-test.
    left = {"root": str(root), "netns": node.netns, "veth_host": node.veth_host}
    (CLAIMS / address / "node.json").write_text(json.dumps(left))
    return node


def destroy_nodes(nodes: list[ExtraNode], main_gw: Any | None = None) -> list[str]:
    """Destroy nodes in parallel; what went wrong (never raises)."""
    if not nodes:
        return []
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        results = list(pool.map(lambda node: node.destroy(main_gw), nodes))
    return [problem for problems in results for problem in problems]


def start_nodes(prefix: str, count: int) -> list[ExtraNode]:
    """Start ``count`` nodes in parallel; on any failure, destroy them all and raise."""
    if count > 1:
        allow_forwarding_on_bridge()
    nodes = [new_node(prefix, index) for index in range(1, count + 1)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(node.start) for node in nodes]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        destroy_nodes(nodes)
        raise MultinodeUnavailable(f"extra node failed to start: {failed[0]}")
    return nodes
