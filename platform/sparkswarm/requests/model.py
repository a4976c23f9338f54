"""A typed request: which operation, with which validated parameters.

A frozen dataclass rather than a pydantic model: the CLI builds one per
command and must start fast (pydantic alone costs ~0.1 s to import).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """What a command line (terminal, schedule or chat) asks for.

    ``op`` names an entry of :mod:`sparkswarm.operations`; ``params`` are its
    JSON-able keyword parameters, already validated by the core's pure
    checks; ``read_only`` requests change nothing. ``words`` are the command
    words it was parsed from (empty when built directly by the CLI);
    ``warnings`` are what parsing noticed and the user should see (keys a
    compose file sets that swarm ignores, ...).
    """

    op: str
    params: dict[str, Any] = field(default_factory=dict)
    read_only: bool = False
    words: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def with_params(self, **extra: Any) -> Request:
        """A copy with ``extra`` added to (or replacing) the params."""
        return dataclasses.replace(self, params={**self.params, **extra})

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (to keep a request in Redis, e.g. awaiting a confirmation)."""
        return {
            "op": self.op,
            "params": self.params,
            "read_only": self.read_only,
            "words": list(self.words),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        """The request :meth:`to_json` gave."""
        return cls(
            op=str(data["op"]),
            params=dict(data.get("params") or {}),
            read_only=bool(data.get("read_only")),
            words=tuple(data.get("words") or ()),
            warnings=tuple(data.get("warnings") or ()),
        )


def request(
    op: str, params: dict[str, Any] | None = None, *, warnings: tuple[str, ...] = ()
) -> Request:
    """A Request for registered operation ``op`` (``read_only`` from the registry).

    Raises InvalidRequest for an unknown operation.
    """
    from sparkswarm.operations import get_operation

    return Request(
        op=op, params=params or {}, read_only=get_operation(op).read_only, warnings=warnings
    )
