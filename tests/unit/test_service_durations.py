"""Go-style durations <-> nanoseconds: table tests and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkswarm.durations import format_duration, parse_duration
from sparkswarm.errors import InvalidRequest

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("10s", 10 * S),
        ("1m30s", 90 * S),
        ("500ms", 500_000_000),
        ("1h", 3600 * S),
        ("1.5s", 1_500_000_000),
        (".5s", 500_000_000),
        ("2h45m10s", (2 * 3600 + 45 * 60 + 10) * S),
        ("100us", 100_000),
        ("100µs", 100_000),
        ("7ns", 7),
        (" 3s ", 3 * S),
    ],
)
def test_parse_duration(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "10", "s", "-5s", "5 s", "1d", "abc", "1m30", "5sec"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_duration(text)


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0s"),
        (90 * S, "1m30s"),
        (500_000_000, "500ms"),
        (3600 * S + 1, "1h1ns"),
        (10 * S, "10s"),
    ],
)
def test_format_duration(nanoseconds: int, text: str) -> None:
    assert format_duration(nanoseconds) == text


def test_format_negative_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        format_duration(-1)


@given(st.integers(min_value=0, max_value=10**15))
def test_format_then_parse_is_identity(nanoseconds: int) -> None:
    assert parse_duration(format_duration(nanoseconds)) == nanoseconds


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=999), st.sampled_from(["h", "m", "s", "ms"])),
        min_size=1,
        max_size=4,
    )
)
def test_parse_sums_the_parts(parts: list[tuple[int, str]]) -> None:
    units = {"h": 3600 * S, "m": 60 * S, "s": S, "ms": 10**6}
    text = "".join(f"{count}{unit}" for count, unit in parts)
    assert parse_duration(text) == sum(count * units[unit] for count, unit in parts)
    # and the canonical form of that value reads back the same
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
