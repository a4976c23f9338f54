"""The last deployed versions of each stack, kept as swarm configs.

After every deployment that changed something, the deployed
:class:`~sparkswarm.stacks.convert.DesiredStack` is stored as a swarm config
named ``<stack>_sparkswarm-snapshot-<seq>`` (labelled with the stack namespace,
so ``docker stack rm`` removes them with the stack). The last
:data:`KEEP` (5) are kept. Secret data is never stored: a snapshot refers to
secrets by name only (swarm secrets cannot change in place anyway).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from sparkswarm.stacks.convert import NAMESPACE_LABEL, DesiredStack

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

KEEP = 5
SNAPSHOT_LABEL = "io.sparkswarm.stack.snapshot"


def snapshot_name(stack: str, seq: int) -> str:
    """The config name of snapshot ``seq`` of ``stack``."""
    return f"{stack}_sparkswarm-snapshot-{seq:06d}"


def encode(desired: DesiredStack) -> bytes:
    """The snapshot payload: the desired stack without secret data."""
    # The stack's own fields, dumped as they are: only the secrets are copied,
    # to blank their data (a deep copy of every spec would be thrown away).
    data = {field.name: getattr(desired, field.name) for field in dataclasses.fields(desired)}
    data["secrets"] = {name: {**secret, "Data": ""} for name, secret in desired.secrets.items()}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def list_snapshots(gw: Gateway, stack: str) -> list[dict[str, Any]]:
    """The stack's snapshot configs, oldest first (each with ``seq``)."""
    found = gw.configs(filters={"label": [f"{NAMESPACE_LABEL}={stack}", SNAPSHOT_LABEL]})
    snapshots = []
    for config in found:
        labels = config["Spec"].get("Labels") or {}
        if labels.get(NAMESPACE_LABEL) == stack and SNAPSHOT_LABEL in labels:
            snapshots.append({**config, "seq": int(labels[SNAPSHOT_LABEL])})
    return sorted(snapshots, key=lambda c: c["seq"])


def read_snapshot(gw: Gateway, config: dict[str, Any]) -> DesiredStack:
    """The DesiredStack stored in a snapshot config."""
    import base64

    data = config["Spec"].get("Data")
    if data is None:
        data = gw.inspect_config(config["ID"])["Spec"]["Data"]
    return DesiredStack.from_json(json.loads(base64.b64decode(data)))


def save_snapshot(gw: Gateway, desired: DesiredStack) -> int | None:
    """Store ``desired`` as the newest snapshot unless it equals the newest one.

    Returns the new sequence number (None when nothing was stored); prunes to
    the last :data:`KEEP`.
    """
    existing = list_snapshots(gw, desired.name)
    payload = encode(desired)
    if existing:
        import base64

        newest = existing[-1]
        data = newest["Spec"].get("Data") or gw.inspect_config(newest["ID"])["Spec"]["Data"]
        if base64.b64decode(data) == payload:
            return None
    seq = existing[-1]["seq"] + 1 if existing else 1
    gw.create_config(
        snapshot_name(desired.name, seq),
        payload,
        labels={NAMESPACE_LABEL: desired.name, SNAPSHOT_LABEL: str(seq)},
    )
    for old in [*existing, {"seq": seq}][:-KEEP]:
        gw.remove_config(old["ID"])
    return seq
