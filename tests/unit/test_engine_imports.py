"""No engine command loads pydantic (or rich into a pipe): a guard, not a timing.

``from pydantic import BaseModel`` alone costs ~50 ms, rich ~20 ms: more than
a `docker` command takes in all. For each engine command, a fresh
interpreter does what the console script does before it talks to the engine
(loads ``sparkswarm.cli.main``, parses the words into a request, which
validates the input, resolves the operation's function and result type,
loads the renderers) and reports the heavy packages it ended up with.

``sparkswarm.config`` (Settings) and ``sparkswarm.gateway`` are loaded only
when the command then connects; they are checked by
``tests/integration/test_cli_imports.py``, which runs the commands for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

COMPOSE = Path(__file__).parents[1] / "integration" / "compose_cases" / "web.yml"
TOKEN = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25

ENGINE_COMMANDS: list[list[str]] = [
    ["stack", "ls"],
    ["stack", "services", "web"],
    ["stack", "ps", "web"],
    ["stack", "rm", "web"],
    ["stack", "rollback", "web"],
    ["service", "ls"],
    ["service", "ps", "web"],
    ["service", "inspect", "web"],
    ["service", "create", "web", "nginx:1", "--replicas", "2", "--update-delay", "5s"],
    ["service", "update", "web", "--replicas", "3", "--rollback-order", "start-first"],
    ["service", "scale", "web=2", "db=0"],
    ["service", "rm", "web"],
    ["service", "rollback", "web"],
    ["node", "ls"],
    ["node", "inspect", "n1"],
    ["node", "drain", "n1"],
    ["node", "label", "n1", "zone=a"],
    ["node", "promote", "n1"],
    ["node", "demote", "n1"],
    ["network", "ls"],
    ["network", "create", "net1", "--subnet", "10.20.0.0/24"],
    ["network", "rm", "net1"],
    ["swarm", "init", "--advertise-addr", "10.77.0.1"],
    ["swarm", "join", "10.77.0.1:2377", "--token", TOKEN],
    ["swarm", "leave"],
    ["swarm", "join-token", "worker", "--rotate"],
]
# Reading compose files needs YAML and the compose schema; nothing else does.
READS_FILES = [["stack", "deploy", "web", "-c", str(COMPOSE)]]

HEAVY = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "rich",
    "yaml",
    "jsonschema",
    "docker",
    "requests",
    "celery",
    "redis",
)
# The other parts of this work (issue #11): Settings without pydantic, the
# engine transport without docker-py. Until they land, what they import is
# theirs; everything else must import nothing heavy.
PENDING = ("sparkswarm.config", "sparkswarm.gateway")

PROBE = """
import builtins, json, sys

HEAVY = set(json.loads(sys.argv[2]))
importers = {}
_import = builtins.__import__


def spy(name, globals=None, locals=None, fromlist=(), level=0):
    top = name.split(".")[0] if level == 0 else ""
    caller = (globals or {}).get("__name__", "?")
    if top in HEAVY and caller.split(".")[0] not in HEAVY:
        importers.setdefault(top, set()).add(caller)
    return _import(name, globals, locals, fromlist, level)


builtins.__import__ = spy
import sparkswarm.cli.main
from sparkswarm.cli import common
from sparkswarm.operations import get_operation
from sparkswarm.requests import parse

request = parse(json.loads(sys.argv[1]))
op = get_operation(request.op)
op.resolve()
op.result_model()
if request.op == "stack.deploy":
    import sparkswarm.stacks.plan  # and what `stack diff` adds
common.print_json({"ok": True})
common.print_table([{"id": "x"}], ["id"])
loaded = sorted({name.split(".")[0] for name in sys.modules} & HEAVY)
found = {"loaded": loaded, "importers": {k: sorted(v) for k, v in importers.items()}}
sys.stderr.write("FOUND " + json.dumps(found) + "\\n")
"""


def heavy_imports(words: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The heavy packages loaded, and who imported each (outside those packages)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(words), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = [text for text in done.stderr.splitlines() if text.startswith("FOUND ")][-1]
    found = json.loads(line.removeprefix("FOUND "))
    return found["loaded"], found["importers"]


def not_pending(importers: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        package: [who for who in callers if not who.startswith(PENDING)]
        for package, callers in importers.items()
        if any(not who.startswith(PENDING) for who in callers)
    }


@pytest.fixture(scope="module")
def pending_parts_are_light() -> bool:
    """True once Settings and the gateway load nothing heavy themselves."""
    code = (
        "import json, sys, sparkswarm.config, sparkswarm.gateway; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return not set(json.loads(done.stdout)) & set(HEAVY)


@pytest.mark.parametrize("words", ENGINE_COMMANDS, ids=" ".join)
def test_an_engine_command_loads_nothing_heavy(
    words: list[str], pending_parts_are_light: bool
) -> None:
    loaded, importers = heavy_imports(words)
    assert not_pending(importers) == {}
    if pending_parts_are_light:
        assert loaded == []


@pytest.mark.parametrize("words", READS_FILES, ids=lambda words: " ".join(words[:2]))
def test_a_command_reading_compose_files_loads_yaml_and_the_schema_only(
    words: list[str], pending_parts_are_light: bool
) -> None:
    loaded, importers = heavy_imports(words)
    assert set(not_pending(importers)) <= {"yaml", "jsonschema"}
    if pending_parts_are_light:
        assert set(loaded) <= {"yaml", "jsonschema"}
