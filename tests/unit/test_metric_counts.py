"""Slack call counts gather in memory and reach Redis on a flush; a Redis
that fails keeps them for the next flush (a stand-in client: no Redis here)."""

from __future__ import annotations

from typing import Any

from sparkswarm.workers.metric_counts import SlackCallCounts


class FlakyRedis:
    """Records HINCRBYs of executed pipelines; ``down`` makes execute raise."""

    def __init__(self) -> None:
        self.down = False
        self.hashes: dict[str, dict[str, int]] = {}

    def pipeline(self, transaction: bool = True) -> Any:
        redis = self
        queued: list[tuple[str, str, int]] = []

        class Pipe:
            def hincrby(self, name: str, key: str, amount: int = 1) -> None:
                queued.append((name, key, amount))

            def execute(self) -> list[Any]:
                if redis.down:
                    raise ConnectionError("redis is down")
                for name, key, amount in queued:
                    redis.hashes.setdefault(name, {}).setdefault(key, 0)
                    redis.hashes[name][key] += amount
                return []

        return Pipe()


def test_counts_reach_redis_on_flush_and_survive_a_failed_one() -> None:
    redis = FlakyRedis()
    counts = SlackCallCounts(redis, "p:", flush_interval=3600)  # type: ignore[arg-type]
    counts.call("chat.postMessage")
    counts.call("chat.postMessage")
    counts.limited("chat.postMessage")
    assert redis.hashes == {}  # nothing waits on Redis while counting
    redis.down = True
    counts.flush()
    assert redis.hashes == {}
    redis.down = False
    counts.call("chat.update")
    counts.flush()
    assert redis.hashes == {
        "p:metrics:slack_calls": {"chat.postMessage": 2, "chat.update": 1},
        "p:metrics:slack_429s": {"chat.postMessage": 1},
    }
    counts.flush()  # nothing counted twice
    assert redis.hashes["p:metrics:slack_calls"]["chat.postMessage"] == 2
