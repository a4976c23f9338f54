"""One operation run as recorded: who asked for what, and what became of it.

A :class:`RunRecord` is read from, and written to, the run's Redis hash
(records.py keeps the hashes): every value a string, ``params``,
``result`` and ``notes`` as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from sparkswarm.model_base import LazyModel
from sparkswarm.states import TERMINAL_STATES, RunState

__all__ = ["RunRecord", "hash_value"]


class RunRecord(LazyModel):
    """One operation run as recorded; ``params`` has its secrets masked."""

    id: str
    op: str
    target: str
    requester: str = ""
    source: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    state: RunState = "queued"
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    deliveries: int = 0
    retries: int = 0
    worker: str | None = None
    result: dict[str, Any] | list[Any] | None = None
    error: str | None = None
    error_type: str | None = None
    notes: list[str] = Field(default_factory=list)
    schedule: str | None = None
    seq: int = 0  # submission order (one counter per Redis key prefix)
    #: the queue its messages go to: only that queue's workers run or recover it
    #: ("" in records of versions before it was kept)
    queue: str = ""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> RunRecord:
        """Decode the Redis hash (all values strings, some of them JSON)."""
        values: dict[str, Any] = {k: v for k, v in data.items() if v != ""}
        for key in ("params", "result"):
            if key in values:
                values[key] = json.loads(values[key])
        notes = json.loads(values.pop("notes", "[]"))
        # Lua's cjson encodes an empty table as {}.
        values["notes"] = notes if isinstance(notes, list) else []
        return cls.model_validate(values)


def hash_value(key: str, value: Any) -> str:
    """A record field's value as the run hash holds it: the JSON of
    ``params``, ``result`` and ``notes``, numbers as redis-py writes them
    (``repr``), strings as they are."""
    if key in ("params", "result", "notes"):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return repr(value)
