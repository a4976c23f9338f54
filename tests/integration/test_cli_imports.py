"""Engine commands, run for real, load no pydantic, docker-py, requests,
celery or redis, and no rich into a pipe.

The unit guard (``tests/unit/test_engine_imports.py``) stops before the
engine; this runs the console script against the real engine (reads,
refusals, and a removal of nothing, which goes through the progress display)
and checks what the whole path imports: Settings, the gateway's transport
(the stdlib's http.client, with email's header parser), the core, its
results (stdlib dataclasses) and the renderers. Nothing heavy (pydantic,
rich, docker-py, requests, celery, redis, python-dotenv without a .env,
...); YAML and jsonschema only for commands that read compose files. A
refusal of a bad --replicas comes before the service options' pydantic
models (which a valid ``service create`` loads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import cli_env
from tests.support.import_spy import heavy_imports, spy_report

pytestmark = pytest.mark.integration

COMPOSE = Path(__file__).parent / "compose_cases" / "web.yml"
READS_FILES = {"yaml", "jsonschema"}


def commands(name: Callable[[str], str]) -> list[tuple[list[str], int]]:
    """Command words and the exit code each must end with."""
    missing = name("missing")
    return [
        (["stack", "ls"], 0),
        (["service", "ls"], 0),
        (["node", "ls"], 0),
        (["network", "ls", "--json"], 0),
        (["stack", "services", missing], 2),
        (["service", "ps", missing], 2),
        (["node", "inspect", missing], 2),
        (["service", "create", missing, "nginx:1", "--replicas", "-1"], 2),
        (["network", "create", missing, "--subnet", "bad"], 2),
        (["service", "rm", missing], 0),
        (["stack", "diff", "-c", str(COMPOSE), missing], 0),
    ]


def test_engine_commands_load_nothing_heavy(gw: object, name: Callable[[str], str]) -> None:
    for words, code in commands(name):
        done, loaded, importers = heavy_imports("run", words, env=cli_env())
        shown = f"sparkswarm {' '.join(words)}: {done.stderr[-600:]}"
        assert done.returncode == code, shown
        allowed = READS_FILES if words[:2] == ["stack", "diff"] else set()
        assert set(loaded) <= allowed, (shown, importers)


def test_detached_changes_leave_the_task_watcher_unloaded(
    gw: object, name: Callable[[str], str]
) -> None:
    # Only following tasks needs the rolling-update watcher: a detached deploy
    # (creating, then finding nothing to change) and a detached update follow nothing.
    stack = name("st")
    deploy = ["stack", "deploy", stack, "-c", str(COMPOSE), "--detach"]
    update = ["service", "update", f"{stack}_web", "--env-add", "A=1", "--detach"]
    for words in (deploy, deploy, update):
        done, report = spy_report("run", words, env=cli_env())
        assert done.returncode == 0, done.stderr[-600:]
        assert "sparkswarm.stacks.deploy" in report["sparkswarm"] or words == update
        assert "sparkswarm.services.rolling" not in report["sparkswarm"], words
        if words == deploy:  # its node check needs no service reads nor their result types
            reads = {"sparkswarm.services.queries", "sparkswarm.services.models"}
            assert not reads & set(report["sparkswarm"])
