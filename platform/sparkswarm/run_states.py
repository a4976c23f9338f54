"""The states of a queued run, defined once: the request layer checks
``runs ls --state`` against them, the queue records them, the bot shows them."""

from __future__ import annotations

from typing import Literal, get_args

RunState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RUN_STATES: tuple[RunState, ...] = get_args(RunState)
# A run in one of these never changes again.
TERMINAL_STATES: frozenset[RunState] = frozenset({"succeeded", "failed", "cancelled"})
