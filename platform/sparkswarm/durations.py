"""Go-style durations (``10s``, ``1m30s``, ``500ms``) to and from nanoseconds.

The Engine API takes every duration (update delay, monitor, health interval,
stop grace period) as integer nanoseconds; users type them the way the docker
CLI accepts them, which is Go's ``time.ParseDuration`` syntax.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sparkswarm.errors import InvalidRequest

NANOSECONDS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}

# Longest unit names first so that "ms" is not read as "m" followed by "s".
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_FORMAT_UNITS = (
    ("h", 3600 * 10**9),
    ("m", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)


def parse_duration(text: str) -> int:
    """Nanoseconds in ``text`` (``"1m30s"`` -> 90_000_000_000).

    Accepts Go's duration syntax (a sequence of decimal numbers with units
    ns, us, ms, s, m, h) and a bare ``0``. Negative durations make no sense
    for any swarm setting and are refused.

    Raises InvalidRequest when ``text`` is not a duration.
    """
    source = text.strip()
    if source == "0":
        return 0
    if not source:
        raise InvalidRequest("empty duration: use e.g. 10s, 1m30s or 500ms")
    position = 0
    total = Decimal(0)
    while position < len(source):
        match = _PART.match(source, position)
        if match is None:
            raise InvalidRequest(
                f"invalid duration {text!r}: use a number with a unit "
                "(ns, us, ms, s, m, h), e.g. 10s, 1m30s or 500ms"
            )
        try:
            total += Decimal(match.group(1)) * NANOSECONDS_PER_UNIT[match.group(2)]
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise InvalidRequest(f"invalid duration {text!r}") from exc
        position = match.end()
    if total > 2**63 - 1:  # the engine holds durations as Go int64 nanoseconds
        raise InvalidRequest(f"invalid duration {text!r}: longer than about 292 years")
    return int(total)


def format_duration(nanoseconds: int) -> str:
    """The shortest Go-style text for ``nanoseconds`` (90_000_000_000 -> ``"1m30s"``).

    Raises InvalidRequest for a negative value.
    """
    if nanoseconds < 0:
        raise InvalidRequest(f"negative duration: {nanoseconds}ns")
    if nanoseconds == 0:
        return "0s"
    parts: list[str] = []
    remaining = nanoseconds
    for unit, size in _FORMAT_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
