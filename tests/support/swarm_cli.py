"""Run the real ``sparkswarm`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SPARKSWARM = str(Path(sys.executable).parent / "sparkswarm")


def sparkswarm(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` with ``env`` (default: ours).

    The broker setting is dropped so operations run in this subprocess against
    the managers ``env`` names (an extra node's socket, say), not on a worker.
    """
    run_env = dict(os.environ if env is None else env)
    run_env.pop("SPARKSWARM_REDIS_URL", None)
    run_env.setdefault("COLUMNS", "200")
    return subprocess.run(
        [SPARKSWARM, *args], env=run_env, capture_output=True, text=True, timeout=timeout
    )


def sparkswarm_json(*args: str, env: dict[str, str] | None = None) -> Any:
    """``sparkswarm ARGS --json``, asserting exit code 0; the parsed output."""
    done = sparkswarm(*args, "--json", env=env)
    assert done.returncode == 0, f"sparkswarm {' '.join(args)}: {done.stderr}{done.stdout}"
    return json.loads(done.stdout)
