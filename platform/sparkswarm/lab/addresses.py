"""Addresses on the lab bridge, claimed atomically so nothing on the host collides.

Every node on ``ssw-br0`` (10.77.0.0/24, the host is 10.77.0.1) gets its
address by creating a claim file ``/run/sparkswarm-lab/addresses/10.77.0.N``
with ``O_EXCL``: two labs, or a lab and a test run, never get the same one.
Labs take theirs from :data:`LAB_RANGE`, the tests' extra nodes from
:data:`TEST_RANGE`. A claim holds the node's record (JSON), so whoever finds
a stale claim can tear that node down from the record alone. /run is
emptied at boot, as are the namespaces the claims describe.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from sparkswarm.errors import Conflict
from sparkswarm.lab.backend import LabNode

CLAIMS = Path("/run/sparkswarm-lab/addresses")
LAB_RANGE = range(10, 100)
TEST_RANGE = range(100, 200)


def address(last: int) -> str:
    return f"10.77.0.{last}"


def claim(node: LabNode, *, pid: int | None = None, claims: Path = CLAIMS) -> None:
    """Claim ``node.address`` for ``node`` (no-op if it is already its claim).

    ``pid``: the claim is stale once that process is gone (test nodes die
    with their test run; lab nodes outlive the command that made them).
    Raises Conflict when another node holds the address.
    """
    claims.mkdir(parents=True, exist_ok=True)
    path = claims / node.address
    record = json.dumps({"node": node.model_dump(), "pid": pid})
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        held = holder(node.address, claims=claims)
        if held is not None and held.root == node.root:
            return
        raise Conflict(f"address {node.address} is taken by {held.root if held else '?'}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(record)


def free_addresses(candidates: Iterable[int], count: int, *, claims: Path = CLAIMS) -> list[str]:
    """``count`` addresses of ``candidates`` with no claim now (not claimed yet: see claim)."""
    taken = {p.name for p in claims.iterdir()} if claims.exists() else set()
    free = [address(n) for n in candidates if address(n) not in taken]
    if len(free) < count:
        raise Conflict(f"only {len(free)} free lab addresses left on the bridge, {count} needed")
    return free[:count]


def holder(addr: str, *, claims: Path = CLAIMS) -> LabNode | None:
    """The node whose claim holds ``addr``, or None (no claim, or one being written)."""
    try:
        data = json.loads((claims / addr).read_text())
        return LabNode.model_validate(data["node"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def release(addr: str, *, root: str | None = None, claims: Path = CLAIMS) -> None:
    """Drop the claim on ``addr`` (only if held by ``root``'s node, when given)."""
    if root is not None:
        held = holder(addr, claims=claims)
        if held is not None and held.root != root:
            return
    with contextlib.suppress(FileNotFoundError):
        (claims / addr).unlink()


def stale_claims(candidates: Iterable[int], *, claims: Path = CLAIMS) -> list[LabNode]:
    """Nodes whose claim outlived its owner: the claiming process is gone, or
    the node's folder is (its lab was removed by hand)."""
    stale = []
    for n in candidates:
        path = claims / address(n)
        try:
            data = json.loads(path.read_text())
            node = LabNode.model_validate(data["node"])
        except (OSError, ValueError, KeyError, TypeError):
            # Absent, or being written by another process right now.
            continue
        pid = data.get("pid")
        if (pid is not None and not Path(f"/proc/{pid}").exists()) or not Path(node.root).exists():
            stale.append(node)
    return stale
