"""Shared test fixtures.

Integration tests talk to the real Docker Engine (in swarm mode, as a
manager) and, where they say so, to a real redis-server. Without them the
tests are skipped locally; under ``CI=true`` a missing engine or Redis is a
failure, never a skip.

Every name a test creates starts with a random per-test prefix (under a
per-session one); the ``prefix`` fixture's teardown, and the session's at the
end, remove every service, network, config, secret and volume named with it,
and the containers those services leave, even when the test failed. Anything
else a test creates (images, nodes, processes, files) it removes itself.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.engine import remove_prefixed, require_swarm_manager

# The suite shares two cores with engines, Spark and other workers: a draw or
# an example that is slow because the machine is busy is not a failure. What
# Hypothesis checks (the properties, the health of the strategies) stays.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

IN_CI = os.environ.get("CI", "").lower() == "true"
SESSION_ID = "ssw" + secrets.token_hex(3)

# Tests that must not overlap with one another under pytest-xdist: extra swarm
# nodes share the lab bridge's addresses and change what ``node ls`` shows,
# and Spark clusters need most of the machine's cores. Everything in this group
# runs on one xdist worker, one test at a time (``--dist loadgroup``); every
# other test is independent (its own name prefix, its own redis-server).
SERIAL_MARKERS = ("multinode", "spark", "e2e", "serial")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``tests/unit`` as ``unit`` (``pytest -m unit``: no engine, no Redis)
    and put the tests that cannot overlap into one xdist group."""
    for item in items:
        if "/tests/unit/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.unit)
        if any(item.get_closest_marker(m) for m in SERIAL_MARKERS):
            item.add_marker(pytest.mark.xdist_group("serial"))


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where everything must be present."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def gw() -> Iterator[object]:
    """A gateway to the real engine, which must be a swarm manager."""
    from tests.support.engine import EngineGateway

    gateway = EngineGateway()
    problem = require_swarm_manager(gateway)
    if problem:
        unavailable(problem)
    yield gateway
    remove_prefixed(gateway, SESSION_ID)
    gateway.close()


@pytest.fixture
def prefix(gw: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A random name prefix for this test; everything named with it is removed after."""
    value = f"{SESSION_ID}{secrets.token_hex(2)}"
    yield value
    remove_prefixed(gw, value)


@pytest.fixture
def name(prefix: str) -> Callable[[str], str]:
    """``name("web")`` -> a unique object name under this test's prefix."""

    def make(suffix: str) -> str:
        return f"{prefix}-{suffix}"

    return make


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a real redis-server (SPARKSWARM_TEST_REDIS_URL or localhost:6379)."""
    url = os.environ.get("SPARKSWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"no redis-server at {url}: {exc}")
    return url


@pytest.fixture(scope="session")
def web_images(gw: object) -> dict[str, str]:
    """Locally built busybox web images: ``v1``, ``v2`` and ``broken``."""
    from tests.support.images import build_web_images

    return build_web_images(gw)
