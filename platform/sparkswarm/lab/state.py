"""A lab's state on disk, and the pure planning of its nodes.

A lab called NAME lives in ``<lab dir>/NAME`` (the ``SPARKSWARM_LAB_DIR``
setting, ``/var/lib/sparkswarm-lab`` by default): ``lab.json`` lists its
nodes, and each node has its folder (engine data, socket, log) below. The
file is written before anything is created, so that ``lab down`` finds
every namespace, link, mount and process of a lab whose ``lab up``
crashed half-way.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparkswarm.errors import InvalidRequest
from sparkswarm.lab.backend import LabNode
from sparkswarm.model_base import LazyModel

DEFAULT_NAME = "lab"
NETNS_PREFIX = "sswl"
STATE_FILE = "lab.json"
LOCK_FILE = Path("/run/sparkswarm-lab/lock")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
MAX_MANAGERS = 7
MAX_WORKERS = 10


class LabState(LazyModel):
    """What ``lab.json`` holds."""

    name: str
    nodes: list[LabNode]


def validate_name(name: str) -> str:
    """A lab name: lower-case letters, digits and dashes, 1-20, a letter first."""
    if not _NAME.match(name):
        raise InvalidRequest(
            f"lab name {name!r}: use 1-20 lower-case letters, digits or dashes, a letter first"
        )
    return name


def validate_shape(managers: int, workers: int) -> None:
    """1-7 managers (odd counts are advised, not required) and 0-10 workers."""
    if not 1 <= managers <= MAX_MANAGERS:
        raise InvalidRequest(f"--managers must be 1 to {MAX_MANAGERS}, not {managers}")
    if not 0 <= workers <= MAX_WORKERS:
        raise InvalidRequest(f"--workers must be 0 to {MAX_WORKERS}, not {workers}")


def lab_dir() -> Path:
    """The folder holding every lab (setting SPARKSWARM_LAB_DIR)."""
    from sparkswarm.config import get_settings

    return Path(get_settings().lab_dir)


def lab_root(name: str, base: Path | None = None) -> Path:
    return (base or lab_dir()) / validate_name(name)


def netns_prefix(name: str) -> str:
    """Namespaces of lab NAME are ``sswl.NAME.<node>`` (a dot never occurs in a name)."""
    return f"{NETNS_PREFIX}.{name}."


def plan_nodes(
    name: str, root: Path, managers: int, workers: int, addresses: list[str]
) -> list[LabNode]:
    """The nodes of a new lab: ``m1..mN`` then ``w1..wN``, one address each (pure)."""
    validate_shape(managers, workers)
    names = [f"m{i}" for i in range(1, managers + 1)] + [f"w{i}" for i in range(1, workers + 1)]
    if len(addresses) != len(names):
        raise ValueError(f"{len(names)} nodes need as many addresses, got {len(addresses)}")
    return [
        LabNode(
            name=node,
            role="manager" if node.startswith("m") else "worker",
            hostname=f"{name}-{node}",
            address=addr,
            netns=f"{netns_prefix(name)}{node}",
            root=str(root / node),
        )
        for node, addr in zip(names, addresses, strict=True)
    ]


def load_state(root: Path) -> LabState | None:
    """The lab's saved state, or None when there is none (or it is unreadable)."""
    try:
        return LabState.model_validate_json((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def save_state(root: Path, state: LabState) -> None:
    """Write ``lab.json`` atomically (a crash leaves the old or the new file)."""
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state.model_dump(), indent=2) + "\n")
    temporary.replace(root / STATE_FILE)


def find_node(state: LabState, wanted: str) -> LabNode:
    """The node called ``wanted`` (``m1``) or with that hostname; InvalidRequest if none."""
    for node in state.nodes:
        if wanted in (node.name, node.hostname, node.address):
            return node
    known = ", ".join(n.name for n in state.nodes)
    raise InvalidRequest(f"lab {state.name} has no node {wanted!r} (its nodes: {known})")


@contextmanager
def locked(lock: Path = LOCK_FILE) -> Iterator[None]:
    """Hold the host's lab lock: one ``lab up``/``down``/``kill``/``restore`` at a time.

    One lock for every lab folder, as the bridge addresses are shared. An
    flock, so a crashed command releases it with its process.
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
