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
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.support.engine import remove_prefixed, require_swarm_manager

if TYPE_CHECKING:
    from tests.support.spark_cluster import SparkCluster

# The suite shares two cores with engines, Spark and other workers: a draw or
# an example that is slow because the machine is busy is not a failure. What
# Hypothesis checks (the properties, the health of the strategies) stays.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

IN_CI = os.environ.get("CI", "").lower() == "true"
SESSION_ID = "ssw" + secrets.token_hex(3)

# xdist groups (``--dist loadgroup``): the tests of one group run on one
# worker, one at a time, and different groups run side by side. A test with
# one of these markers joins the group named after it (the first that
# applies): extra swarm nodes share the lab bridge's addresses and change
# what ``node ls`` shows; the Spark and e2e tests need the machine's cores:
# those on the session's shared Spark stack (``spark_cluster``) form one
# group, those that deploy a cluster of their own another; ``serial`` needs
# most of the machine. The tests of every other module that holds a module-scoped
# fixture (a queue lab, a stack, schedules waiting for their ticks) form a
# group of their own, so that fixture is set up once, not once per worker.
EXCLUSIVE_GROUPS = {"multinode": "multinode", "spark": "spark", "e2e": "spark", "serial": "serial"}
# The Spark tests on a stack the session shares run in the group of that
# stack (its fixture -> the group), so it is deployed once, on one worker.
SHARED_STACK_GROUPS = {"spark_cluster": "spark", "connect_stack": "spark-connect"}


def xdist_group_of(item: pytest.Item) -> str | None:
    """The xdist group ``item`` runs in, or None (any worker, any time)."""
    for marker, group in EXCLUSIVE_GROUPS.items():
        if item.get_closest_marker(marker):
            if group == "spark":
                fixtures = getattr(item, "fixturenames", ())
                shared = [g for f, g in SHARED_STACK_GROUPS.items() if f in fixtures]
                # Tests that deploy a Spark cluster of their own run beside
                # those on the shared stacks, on a worker of their own.
                return shared[0] if shared else "spark-own-stack"
            return group
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    if any(d.scope in ("module", "class") for defs in definitions for d in defs):
        return "module:" + str(item.path.relative_to(item.config.rootpath))
    return None


# Under ``--dist loadgroup`` the longest groups start first, then the module
# groups, then single tests: scripts/test.sh passes ``--no-loadscope-reorder``,
# so xdist hands out work in this order (by default it starts the groups with
# the most tests first, which left the Spark groups for later). On four
# workers the fifth, ``spark-connect``, follows the first to end (``serial``).
FIRST_GROUPS = ("spark", "multinode", "spark-own-stack", "serial", "spark-connect")


def start_rank(group: str | None) -> int:
    """Where a test of ``group`` comes in the run (lower: earlier)."""
    if group in FIRST_GROUPS:
        return FIRST_GROUPS.index(group)
    return len(FIRST_GROUPS) + (0 if group else 1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``tests/unit`` as ``unit`` (``pytest -m unit``: no engine, no Redis)
    and put each test into its xdist group (and, under loadgroup, in start order).

    First of the hooks of this name: an xdist worker reads the ``xdist_group``
    marks in its own (and on pytest 9.2 cannot apply them: pyproject.toml)."""
    groups: dict[str, str | None] = {}
    for item in items:
        if "/tests/unit/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.unit)
        group = groups[item.nodeid] = xdist_group_of(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    if config.getoption("dist", None) == "loadgroup":
        items.sort(key=lambda item: start_rank(groups[item.nodeid]))


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


@pytest.fixture(scope="session")
def spark_cluster(gw: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """The ready-made spark stack (2 workers) the Spark tests share: deployed
    once per session (they all run on one xdist worker, in the ``spark``
    group) and removed at its end (tests/support/spark_cluster.py)."""
    from tests.support.spark_cluster import deployed_spark_cluster

    with deployed_spark_cluster(gw, tmp_path_factory.mktemp("stacks")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def connect_stack(gw: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of a ready-made spark stack with its Spark Connect server
    published (token on) that the Spark Connect tests share: deployed once
    per session (they all run on one xdist worker, in the ``spark-connect``
    group) and removed at its end (tests/support/spark_cluster.py)."""
    from tests.support.spark_cluster import deployed_connect_stack

    with deployed_connect_stack(gw, tmp_path_factory.mktemp("stacks")) as stack:
        yield stack


@pytest.fixture
def spark_stack(gw: object, spark_cluster: SparkCluster) -> Iterator[str]:
    """The name of the session's shared spark stack (``spark_cluster``). The
    jobs a test started on it are removed after the test, so a job that a
    failed test left running holds no core of the next test's."""
    yield spark_cluster.stack
    remove_prefixed(gw, f"{spark_cluster.stack}-job-")
