"""Ready-made Spark stacks shared by the tests that run jobs or statements on one.

Deploying a stack and waiting for its workers is most of a Spark test
module's set-up, so the session deploys each kind once (tests/conftest.py)
and the tests share it: ``spark_cluster`` (two workers) for the jobs, in the
``spark`` xdist group; ``connect_stack`` (one worker and a published Spark
Connect server with its token) for the statements, in the ``spark-connect``
group. The tests of a group run on one worker, one after another. Each test
keeps to its own queue lab and job ids and leaves the stack as it found it;
a test that must change the stack itself (scaling its workers leaves DEAD
workers in the master's list) deploys one of its own with
:func:`deployed_spark_cluster`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import cli_env, sparkswarm
from tests.support.engine import remove_prefixed

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2  # the defaults give each 1 core and 1 GiB
DEFAULT_SECRET = "spark_auth"  # params.yml's auth_secret default


@dataclass(frozen=True)
class SparkCluster:
    """A deployed ready-made spark stack: its name and the stacks folder that
    holds it (SPARKSWARM_STACKS_DIR for commands that look it up by name)."""

    stack: str
    stacks_dir: Path


def alive_workers(stack: str, *, wait: float = 0) -> int:
    """``sparkswarm spark status --stack STACK [--wait N] --json``: ALIVE workers."""
    args = ["spark", "status", "--stack", stack, "--json"]
    if wait:
        args += ["--wait", str(int(wait))]
    shown = sparkswarm(*args, timeout=wait + 120)
    assert shown.returncode == 0, shown.stderr
    return int(json.loads(shown.stdout)["alive_workers"])


@contextlib.contextmanager
def deployed_spark_cluster(gw: Any, stacks_dir: Path) -> Iterator[SparkCluster]:
    """``sparkswarm stack deploy NAME --set workers=2`` (the user's path: the
    deployer creates the auth secret) under a prefixed name that cannot clash
    with anyone's stack, its workers waited for; everything removed on exit,
    and the default auth secret too when this made it."""
    from sparkswarm.errors import SparkswarmError
    from sparkswarm.images import build_image
    from sparkswarm.spark.version import OFFICIAL_IMAGE
    from tests.conftest import SESSION_ID

    # The official name, built locally when missing (minutes the first time).
    assert OFFICIAL_IMAGE in build_image(gw, name="spark").tags
    prefix = f"{SESSION_ID}{secrets.token_hex(2)}"
    stack = f"{prefix}-spark"
    (stacks_dir / stack).symlink_to(REPO / "stacks" / "spark")
    secret_existed = bool(gw.api.secrets(filters={"name": DEFAULT_SECRET}))
    try:
        done = sparkswarm(
            "stack",
            "deploy",
            stack,
            "--set",
            f"workers={WORKERS}",
            env=cli_env(SPARKSWARM_STACKS_DIR=str(stacks_dir)),
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        # As a user would after a deploy: wait until every worker replica is ALIVE.
        assert alive_workers(stack, wait=180) == WORKERS
        yield SparkCluster(stack, stacks_dir)
    finally:
        remove_prefixed(gw, prefix)
        if not secret_existed:
            # Ours to remove; refused while another stack still uses it.
            with contextlib.suppress(SparkswarmError):
                gw.api.remove_secret(DEFAULT_SECRET)


@contextlib.contextmanager
def deployed_connect_stack(gw: Any, stacks_dir: Path) -> Iterator[str]:
    """``stack deploy NAME --set connect=true --set connect_port=P`` (the user's
    path, by name) under a prefixed name, with secrets of its own (auth and
    client token); the Connect server registered with the master and warmed
    up (:func:`warm_up`). Yields the stack's name; everything removed on exit."""
    from sparkswarm.spark.status import wait_for_connect
    from tests.conftest import SESSION_ID
    from tests.support.queue_harness import free_port

    prefix = f"{SESSION_ID}{secrets.token_hex(2)}"
    stack = f"{prefix}-cx"
    (stacks_dir / stack).symlink_to(REPO / "stacks" / "spark")
    sets = {
        "workers": "1",
        "connect": "true",
        "connect_port": str(free_port()),
        "auth_secret": f"{prefix}-auth",
        "connect_token_secret": f"{prefix}-token",
    }
    try:
        words = [w for key, value in sets.items() for w in ("--set", f"{key}={value}")]
        done = sparkswarm(
            "stack",
            "deploy",
            stack,
            *words,
            env=cli_env(SPARKSWARM_STACKS_DIR=str(stacks_dir)),
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        wait_for_connect(gw, stack=stack, timeout=240)
        warm_up(gw, stack)
        yield stack
    finally:
        remove_prefixed(gw, prefix)


def warm_up(gw: Any, stack: str) -> None:
    """The server's first statement, with no time limit: it loads and compiles
    what every later one reuses (tens of seconds on a busy machine), which a
    user's cluster has done long before. A test's queue worker still opens
    its own session: its first statement is on a new session."""
    from sparkswarm.spark.connect import connect_endpoint
    from sparkswarm.spark.sql import open_session

    session = open_session(connect_endpoint(gw, stack=stack))
    try:
        assert session.sql("SELECT 1 AS one").collect()[0]["one"] == 1
    finally:
        session.client.close()
