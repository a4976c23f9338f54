"""What the lab needs from the host, and the host-level chores of its nodes.

Everything here runs host tools (``ip``, ``iptables``, ``umount``) or reads
``/proc``; nothing talks to an Engine. Kept apart from the node backend so
that the teardown helpers (kill what a node left, unmount under a folder)
can be used on a record alone, after a crash.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from sparkswarm.errors import InvalidRequest, OperationFailed

BRIDGE = "ssw-br0"
BRIDGE_HOST_ADDRESS = "10.77.0.1"
TOOLS = ("ip", "iptables", "nsenter", "unshare", "dockerd", "umount")
_TOOL_PACKAGES = {
    "ip": "iproute2",
    "iptables": "iptables",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "umount": "mount",
    "dockerd": "docker.io",
}


def missing_requirements() -> list[str]:
    """Everything this host lacks to run lab nodes (empty: it can)."""
    if not sys.platform.startswith("linux"):
        return [f"Linux (network namespaces); this is {sys.platform}"]
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces and a dockerd per node need it; use sudo)")
    tools = [tool for tool in TOOLS if shutil.which(tool) is None]
    if tools:
        packages = " ".join(sorted({_TOOL_PACKAGES[tool] for tool in tools}))
        missing.append(f"{', '.join(tools)} on PATH (apt-get install {packages})")
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        missing.append(f"the bridge {BRIDGE} with {BRIDGE_HOST_ADDRESS}/24 (run scripts/setup.sh)")
    return missing


def require_host() -> None:
    """Raise InvalidRequest, in one line naming all that is missing, unless the host can."""
    missing = missing_requirements()
    if missing:
        raise InvalidRequest("this host cannot run a lab: it needs " + "; ".join(missing))


def run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a host tool; OperationFailed (with its stderr) when ``check`` and it fails."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if not check:
            return subprocess.CompletedProcess(args, 1, "", str(exc))
        raise OperationFailed(f"`{' '.join(args)}` failed: {exc}") from exc
    if check and done.returncode != 0:
        raise OperationFailed(f"`{' '.join(args)}` failed: {done.stderr.strip()}")
    return done


def allow_forwarding_on_bridge() -> None:
    """Let lab nodes reach each other across the bridge.

    dockerd loads br_netfilter with ``bridge-nf-call-iptables=1`` and sets
    the FORWARD policy to DROP, so frames bridged between two namespaces'
    veths are dropped (the host itself, reached via INPUT, is not affected).
    One ACCEPT rule for ssw-br0 -> ssw-br0 in DOCKER-USER (the chain Docker
    leaves to users and never flushes) fixes it; it is added once and kept
    (the bridge and the rule are shared by every lab and test on the host).
    """
    rule = ["DOCKER-USER", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
    if run("iptables", "-C", *rule, check=False).returncode != 0:
        if run("iptables", "-L", "DOCKER-USER", "-n", check=False).returncode != 0:
            run("iptables", "-N", "DOCKER-USER")
        run("iptables", "-I", *rule)


def namespaces() -> list[str]:
    """Names of the network namespaces under /var/run/netns."""
    try:
        return sorted(entry.name for entry in Path("/var/run/netns").iterdir())
    except OSError:
        return []


def link_exists(name: str) -> bool:
    """Whether a network interface of that name exists in the host's namespace."""
    return Path(f"/sys/class/net/{name}").exists()


def mounts_under(root: str | Path) -> list[str]:
    """Mount points strictly below ``root`` (from /proc/self/mounts)."""
    prefix = str(root).rstrip("/") + "/"
    with open("/proc/self/mounts") as fh:
        return [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]


def unmount_under(root: str | Path) -> None:
    """Lazily unmount everything below ``root``, deepest first."""
    for target in sorted(mounts_under(root), key=len, reverse=True):
        run("umount", "-l", target, check=False)


def processes_of(root: str | Path) -> set[int]:
    """Pids whose command line names ``root``, and all their descendants.

    That is a node's dockerd, its containerd, the shims (which outlive
    dockerd on purpose and may be re-parented to init) and, as the shims'
    descendants, the node's container processes. Zombies are left out.
    """
    needle = str(root).rstrip("/").encode() + b"/"
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
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents[pid] = int(fields[1])
        # NUL-separated arguments: "/lab/m1" must not match "/lab/m10".
        if needle in cmdline.replace(b"\0", b"/"):
            mine.add(pid)
    grown = True
    while grown:
        children = {pid for pid, ppid in parents.items() if ppid in mine} - mine
        grown = bool(children)
        mine |= children
    mine.discard(os.getpid())
    return mine


def kill_processes_of(root: str | Path) -> None:
    """SIGKILL every process of :func:`processes_of` (a crash, not a shutdown)."""
    for pid in processes_of(root):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def remove_cgroups(parent: str) -> None:
    """Remove the (empty, once processes are gone) cgroup ``parent`` in every v1/v2 hierarchy."""
    base = Path("/sys/fs/cgroup")
    candidates = [base / parent]
    with contextlib.suppress(OSError):
        candidates += [d / parent for d in base.iterdir() if d.is_dir()]
    for top in candidates:
        if not top.is_dir():
            continue
        # Children first: rmdir only works on empty cgroups.
        for path in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir():
                with contextlib.suppress(OSError):
                    path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
