"""Durations, byte sizes and CPU counts, parsed as the Docker CLI parses them (pure).

The CLI uses Go's ``time.ParseDuration``, ``go-units.RAMInBytes`` and
``opts.ParseCPUs``; we must get the very same integers, or a spec we deploy
would differ from the one ``docker`` sends for the same text. Each function
raises ValueError (with Go's wording) for what the Go function refuses;
callers that face a user add the flag or key and their own range
(:mod:`sparkswarm.services.flags`, :mod:`sparkswarm.stacks.compose_check`).
"""

from __future__ import annotations

import re
from fractions import Fraction

INT64_MAX = 2**63 - 1

# Go's unitMap: micro is "us", U+00B5 (micro sign) or U+03BC (Greek mu).
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# One element: digits, an optional fraction, then a unit (anything up to the
# next digit or dot, as Go reads it, so "5 s" has the unknown unit " s").
_ELEMENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_LIMIT = 1 << 63  # Go accumulates in uint64 and refuses anything past 1<<63


def parse_duration(text: str) -> int:
    """Nanoseconds in a Go duration (``1m30s``, ``-1.5h``, ``300ms``, ``1μs``, ``0``).

    Go's ``time.ParseDuration`` step by step: an optional sign, then one or
    more numbers each with a unit (ns, us, µs, μs, ms, s, m, h), or a bare
    ``0``; no spaces; the total must fit Go's int64 nanoseconds; a fraction
    is scaled in float64 as Go does. Raises ValueError otherwise.
    """
    invalid = ValueError(f"time: invalid duration {_quoted(text)}")
    body = text
    negative = body[:1] == "-"
    if body[:1] in ("-", "+"):
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise invalid
    total = 0
    position = 0
    while position < len(body):
        match = _ELEMENT.match(body, position)
        assert match is not None  # every part of the pattern may be empty
        whole, fraction, unit = match.groups()
        if not whole and not fraction:
            raise invalid  # no digits, e.g. ".s" or "s"
        if not unit:
            raise ValueError(f"time: missing unit in duration {_quoted(text)}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {_quoted(unit)} in duration {_quoted(text)}")
        size = _DURATION_UNITS[unit]
        value = int(whole or "0")
        if value > _LIMIT // size:
            raise invalid
        value *= size
        digits, scale = _leading_fraction(fraction or "")
        if digits:
            value += int(float(digits) * (float(size) / scale))
            if value > _LIMIT:
                raise invalid
        total += value
        if total > _LIMIT:
            raise invalid
        position = match.end()
    if negative:
        return -total
    if total > INT64_MAX:
        raise invalid
    return total


def _leading_fraction(digits: str) -> tuple[int, float]:
    """Go's ``leadingFraction``: the digits as an integer and their scale, digits
    past what an int64 holds being dropped."""
    value, scale = 0, 1.0
    for digit in digits:
        grown = value * 10 + int(digit)
        if value > INT64_MAX // 10 or grown > _LIMIT:
            break
        value, scale = grown, scale * 10
    return value, scale


def _quoted(text: str) -> str:
    """Go's ``strconv.Quote`` for the texts these errors show."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SIZE = re.compile(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?")
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_ram_bytes(text: str | int) -> int:
    """Bytes in ``512M``, ``1g``, ``2GiB``, ``1024`` (binary units, as ``RAMInBytes``).

    Raises ValueError for anything else, and for more than Go's int64.
    """
    if isinstance(text, int):
        return text
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"invalid size: {text!r}")
    try:
        number = Fraction(match.group(1))
    except ValueError:  # "1.5.5": Go's ParseFloat refuses it too
        raise ValueError(f"invalid size: {text!r}") from None
    size = int(number * _SIZE_UNITS[(match.group(2) or "").lower()])
    if size > INT64_MAX:
        raise ValueError(f"invalid size: {text!r}: more than an int64")
    return size


def parse_nano_cpus(text: str) -> int:
    """NanoCPUs in ``0.5`` / ``2`` (an exact decimal, as ``opts.ParseCPUs``).

    Raises ValueError for what is no number, finer than 1e-9 or more than an int64.
    """
    try:
        value = Fraction(text.strip()) * 1_000_000_000
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text!r} as a rational number") from None
    if value.denominator != 1:
        raise ValueError("value is too precise")
    if abs(value) > INT64_MAX:
        raise ValueError(f"{text!r}: more than an int64 of nano CPUs")
    return int(value)
