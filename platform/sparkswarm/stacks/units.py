"""Go-compatible parsing of durations, byte sizes and CPU counts.

The Docker CLI parses these with Go's ``time.ParseDuration``,
``go-units.RAMInBytes`` and ``opts.ParseCPUs``; we must get the very same
integers or the deployed specs would differ from the CLI's.
"""

from __future__ import annotations

import re
from fractions import Fraction

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Nanoseconds in a Go duration (``1m30s``, ``1.5h``, ``300ms``, ``0``).

    Raises ValueError for anything ``time.ParseDuration`` rejects.
    """
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total = Fraction(0)
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if not match:
            raise ValueError(f"invalid duration {text!r}")
        total += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * int(total)


_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_RAM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_ram_bytes(text: str | int) -> int:
    """Bytes in ``512M``, ``1g``, ``2GiB``, ``1024`` (binary units, as RAMInBytes)."""
    if isinstance(text, int):
        return text
    match = _RAM.match(text)
    if not match:
        raise ValueError(f"invalid size: {text!r}")
    return int(float(match.group(1)) * _RAM_UNITS[(match.group(2) or "").lower()])


def parse_nano_cpus(text: str) -> int:
    """NanoCPUs in ``0.5`` / ``2`` (exact decimal, as opts.ParseCPUs)."""
    try:
        value = Fraction(text) * 1_000_000_000
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text!r} as a rational number") from None
    if value.denominator != 1:
        raise ValueError("value is too precise")
    return int(value)
