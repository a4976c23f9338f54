"""Durations as Go's ``time.ParseDuration`` reads them (``sparkswarm.units``), and
the ``service`` flags on top of it (no negative durations for a swarm setting).

The table is Go's own (``src/time/time_test.go``, parseDurationTests and
parseDurationErrorTests) plus the cases on which our two former parsers disagreed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.services import flags
from sparkswarm.units import parse_duration

NS, US, MS, S = 1, 1_000, 1_000_000, 1_000_000_000
M, H = 60 * S, 3600 * S

GO_VALID = [
    ("0", 0),
    ("5s", 5 * S),
    ("30s", 30 * S),
    ("1478s", 1478 * S),
    ("-5s", -5 * S),
    ("+5s", 5 * S),
    ("-0", 0),
    ("+0", 0),
    ("5.0s", 5 * S),
    ("5.6s", 5 * S + 600 * MS),
    ("5.s", 5 * S),
    (".5s", 500 * MS),
    ("1.0s", 1 * S),
    ("1.00s", 1 * S),
    ("1.004s", 1 * S + 4 * MS),
    ("1.0040s", 1 * S + 4 * MS),
    ("100.00100s", 100 * S + 1 * MS),
    ("10ns", 10 * NS),
    ("11us", 11 * US),
    ("12µs", 12 * US),  # U+00B5
    ("12μs", 12 * US),  # U+03BC
    ("13ms", 13 * MS),
    ("14s", 14 * S),
    ("15m", 15 * M),
    ("16h", 16 * H),
    ("3h30m", 3 * H + 30 * M),
    ("10.5s4m", 4 * M + 10 * S + 500 * MS),
    ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
    ("1h2m3s4ms5us6ns", 1 * H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS),
    ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
    ("52763797000ns", 52763797000 * NS),
    ("0.3333333333333333333h", 20 * M),
    ("9007199254740993ns", (1 << 53) + 1),
    ("9223372036854775807ns", (1 << 63) - 1),
    ("9223372036854775.807us", (1 << 63) - 1),
    ("9223372036s854ms775us807ns", (1 << 63) - 1),
    ("-9223372036854775808ns", -1 << 63),
    ("-9223372036854775.808us", -1 << 63),
    ("-9223372036s854ms775us808ns", -1 << 63),
    ("-9223372036854775808ns", -1 << 63),
    ("-2562047h47m16.854775808s", -1 << 63),
    ("0.100000000000000000000h", 6 * M),
    ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
    ("1μs", 1 * US),
    ("2562047h", 2562047 * H),
]
GO_INVALID = [
    "",
    "3",
    "-",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "1d",
    "\x85\x85",
    "\xffff",
    "hello \xffff world",
    "9223372036854775808ns",
    "9223372036854775.808us",
    "9223372036854ms775us808ns",
    "-9223372036854775809ns",
    "2562048h",  # int64 overflow
    " 10s",  # no surrounding spaces
    "10s ",
    "5 s",
    "1h30",
    "5sec",
]


@pytest.mark.parametrize(("text", "nanoseconds"), GO_VALID)
def test_go_durations(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text", GO_INVALID)
def test_what_go_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time: "):
        parse_duration(text)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=999), st.sampled_from(["h", "m", "s", "ms", "us"])
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["", "+", "-"]),
)
def test_a_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]], sign: str) -> None:
    units = {"h": H, "m": M, "s": S, "ms": MS, "us": US}
    total = sum(count * units[unit] for count, unit in parts)
    text = sign + "".join(f"{count}{unit}" for count, unit in parts)
    assert parse_duration(text) == (-total if sign == "-" else total)


@pytest.mark.parametrize(("text", "nanoseconds"), [("10s", 10 * S), ("+5s", 5 * S), ("0", 0)])
def test_a_duration_flag(text: str, nanoseconds: int) -> None:
    assert flags.duration_flag(text, "--update-delay") == nanoseconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5s", "invalid duration '-5s' for --update-delay: must not be negative"),
        (" 10s", "invalid duration ' 10s' for --update-delay: use a number with a unit"),
        ("2562048h", "invalid duration '2562048h' for --update-delay: use a number with a unit"),
        ("1d", "invalid duration '1d' for --update-delay: unknown unit \"d\" in duration"),
        ("10", "invalid duration '10' for --update-delay: missing unit in duration"),
    ],
)
def test_a_bad_duration_flag_is_named_with_the_rule(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        flags.duration_flag(text, "--update-delay")
    assert str(raised.value).startswith(message)
