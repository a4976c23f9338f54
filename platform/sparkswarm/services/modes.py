"""Service modes: the names ``--mode`` takes and the Engine's ``Mode`` keys (pure).

Apart from :mod:`sparkswarm.services.specs` so that the reads (``service
ls``, ``stack services``, task queries) name a service's mode without loading
the ``service create`` options and their validation.
"""

from __future__ import annotations

from typing import Any, Literal

Mode = Literal["replicated", "global", "replicated-job", "global-job"]
JOB_MODES = ("replicated-job", "global-job")
MODE_KEYS: dict[str, str] = {
    "Replicated": "replicated",
    "Global": "global",
    "ReplicatedJob": "replicated-job",
    "GlobalJob": "global-job",
}


def mode_name(spec_mode: dict[str, Any]) -> str:
    """``replicated``, ``global``, ``replicated-job`` or ``global-job`` for an Engine Mode."""
    for key, name in MODE_KEYS.items():
        if key in spec_mode:
            return name
    return "replicated"
