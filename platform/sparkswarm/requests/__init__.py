"""The request layer: command words -> a typed, validated :class:`Request`.

Pure: no engine, no Redis, no printing. The CLI, schedules and the chat bot
all go through it, so they accept and refuse exactly the same things.

    >>> parse(["service", "scale", "web=3"]).params
    {'replicas': {'web': 3}, 'timeout': 300.0}
"""

from __future__ import annotations

from sparkswarm.requests.builders import GROUPS
from sparkswarm.requests.grammar import parse, usage
from sparkswarm.requests.model import Request, request

__all__ = ["GROUPS", "Request", "parse", "request", "usage"]
