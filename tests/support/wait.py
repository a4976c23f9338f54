"""Polling with a deadline: the one way tests wait for the world to change."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.1,
    *,
    explain: Callable[[], str] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``predicate`` every ``interval`` seconds until it returns something
    truthy, and return that. It is called at least once, and once more after
    the deadline. An exception of a type in ``ignore`` counts as "not yet".

    Raises AssertionError after ``timeout`` seconds naming ``what`` we waited
    for, the last value (or exception), and what ``explain`` returns then
    (a log tail, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        last_try = time.monotonic() > deadline
        try:
            value = predicate()
        except ignore as exc:
            value, last = None, f"{type(exc).__name__}: {exc}"
        else:
            last = repr(value)
        if value:
            return value
        if last_try:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what} (last: {last[:500]}){detail}"
            )
        time.sleep(interval)


def holds_for(check: Callable[[], Any], seconds: float, what: str, interval: float = 0.1) -> None:
    """Assert that ``check`` stays truthy for ``seconds``, polling; fails at the
    first poll where it does not. For "nothing more happens" checks: the
    window must cover what could make it happen (a recovery cycle, say)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if not value:
            raise AssertionError(f"{what} stopped holding: {value!r}")
        if time.monotonic() > deadline:
            return
        time.sleep(interval)
