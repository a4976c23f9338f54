"""One ready-made Spark stack for every test that runs jobs on a cluster.

Deploying the stack and waiting for its workers is most of a Spark test
module's set-up, so the session deploys it once (``spark_cluster`` in
tests/conftest.py) and the Spark tests share it: they all run in the
``spark`` xdist group, on one worker, one after another. Each test keeps to
its own queue lab and job ids and leaves the stack as it found it; a test
that must change the stack itself (scaling its workers leaves DEAD workers
in the master's list) deploys one of its own with
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
