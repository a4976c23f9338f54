"""Progress reporting from core operations.

Operations take a ``progress`` callback and call it with a short message and
JSON-able details. The CLI renders it with rich, the worker turns it into
events on the Redis stream; the core knows neither.
"""

from __future__ import annotations

from typing import Any, Protocol


class ProgressFn(Protocol):
    """``progress("task 2/3 running", service="web", done=2, total=3)``."""

    def __call__(self, message: str, /, **details: Any) -> None: ...


def no_progress(message: str, /, **details: Any) -> None:
    """The default: report nothing."""
