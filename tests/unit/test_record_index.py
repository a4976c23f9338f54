"""Paging and retention over a record index (a sorted set scored by creation time).

The index stand-in answers the four sorted-set reads with Redis's own
semantics (inclusive ranges, newest first for zrevrange).
"""

from __future__ import annotations

from sparkswarm.workers.record_index import newest_first, past_retention


class _SortedSet:
    def __init__(self, scores: dict[str, float]) -> None:
        self.ordered = sorted(scores, key=scores.__getitem__)
        self.scores = scores
        self.calls = 0

    def zrevrange(self, key: str, start: int, stop: int) -> list[str]:
        self.calls += 1
        return list(reversed(self.ordered))[start : stop + 1]

    def zrange(self, key: str, start: int, stop: int) -> list[str]:
        return self.ordered[start : stop + 1]

    def zrangebyscore(self, key: str, low: float, high: float) -> list[str]:
        return [i for i in self.ordered if low <= self.scores[i] <= high]

    def zcard(self, key: str) -> int:
        return len(self.ordered)


def test_pages_come_newest_first_and_stop_at_the_end() -> None:
    index = _SortedSet({f"r{n}": float(n) for n in range(7)})
    assert list(newest_first(index, "idx", 3)) == [
        ["r6", "r5", "r4"],
        ["r3", "r2", "r1"],
        ["r0"],
    ]
    assert index.calls == 4  # the last, empty page ends it
    assert list(newest_first(_SortedSet({}), "idx", 3)) == []


def test_past_retention_is_too_old_or_beyond_the_count() -> None:
    index = _SortedSet({f"r{n}": float(n * 100) for n in range(6)})  # 0..500 s
    assert past_retention(index, "idx", now=500, retention_seconds=250, retention_count=10) == {
        "r0",
        "r1",
        "r2",
    }
    assert past_retention(index, "idx", now=500, retention_seconds=1e9, retention_count=4) == {
        "r0",
        "r1",
    }
    assert past_retention(index, "idx", now=500, retention_seconds=1e9, retention_count=10) == set()
