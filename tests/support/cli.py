"""Run the real ``sparkswarm`` command as a user would: the one CLI runner of the tests.

``sparkswarm(...)`` runs the console script of this virtualenv in a
subprocess and returns its exit code, stdout and stderr (a
``CompletedProcess``; check them yourself). ``sparkswarm_json(...)`` adds
``--json``, asserts success and parses the output. ``invoke(...)`` runs the
same typer app in this process, for what needs no real process (``--help``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SPARKSWARM = str(Path(sys.executable).parent / "sparkswarm")


def cli_env(
    env: Mapping[str, str] | None = None, *, queued: bool = False, **extra: str
) -> dict[str, str]:
    """The environment ``sparkswarm`` runs with: ``env`` (default: this
    process's) plus ``extra``, wide enough that rich never wraps a line.

    Unless ``queued``, ``SPARKSWARM_REDIS_URL`` is dropped, so operations run
    in that subprocess against the managers ``env`` names, not on a worker.
    """
    run_env = dict(os.environ if env is None else env)
    if not queued:
        run_env.pop("SPARKSWARM_REDIS_URL", None)
    run_env.setdefault("COLUMNS", "200")
    run_env.update(extra)
    return run_env


def sparkswarm(
    *args: str,
    env: Mapping[str, str] | None = None,
    queued: bool = False,
    timeout: float = 180,
    cwd: str | Path | None = None,
    executable: str = SPARKSWARM,
) -> subprocess.CompletedProcess[str]:
    """``sparkswarm ARGS`` in a subprocess with :func:`cli_env` of ``env``;
    the finished process (exit code, stdout, stderr)."""
    return subprocess.run(
        [executable, *args],
        env=cli_env(env, queued=queued),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def sparkswarm_ok(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """:func:`sparkswarm`, asserting exit code 0 (the message shows both streams)."""
    done = sparkswarm(*args, **kwargs)
    assert done.returncode == 0, f"sparkswarm {' '.join(args)}: {done.stderr}{done.stdout}"
    return done


def sparkswarm_json(*args: str, **kwargs: Any) -> Any:
    """``sparkswarm ARGS --json``, asserting exit code 0; the parsed output."""
    return json.loads(sparkswarm_ok(*args, "--json", **kwargs).stdout)


def invoke(*args: str) -> Any:
    """``sparkswarm ARGS`` in this process (typer's runner): a result with
    ``exit_code`` and ``output``. Only for what needs no separate process."""
    from typer.testing import CliRunner

    from sparkswarm.cli.main import app

    return CliRunner().invoke(app, list(args))
