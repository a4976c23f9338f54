"""No engine command loads pydantic, docker-py, requests, celery, redis, rich
(into a pipe) or YAML: a guard, not a timing.

Engine results are stdlib dataclasses, so pydantic (the one model system)
loads only where it validates the user's input: the options of ``service
create`` and ``service update``. The rest would cost start-up time or pull
the queue into a command that talks to the engine directly. For each engine
command, a fresh interpreter does what the console script does before it
talks to the engine (loads ``sparkswarm.cli.main``, parses the words into a
request, which validates the input, resolves the operation's function and
result type, loads the renderers) and reports the heavy packages it ended
up with.

Settings (``sparkswarm.config``) and the gateway are loaded only when the
command then connects: ``tests/integration/test_cli_imports.py`` runs the
commands for real and checks the whole path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.import_spy import MODELS, heavy_imports, spy_report

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
# The service options are pydantic models that validate the user's flags.
VALIDATES_OPTIONS: list[list[str]] = [
    ["service", "create", "web", "nginx:1", "--replicas", "2", "--update-delay", "5s"],
    ["service", "update", "web", "--replicas", "3", "--rollback-order", "start-first"],
]
# Reading compose files needs YAML and the compose schema; nothing else does.
READS_FILES = [["stack", "deploy", "web", "-c", str(COMPOSE)]]


@pytest.mark.parametrize("words", ENGINE_COMMANDS, ids=" ".join)
def test_an_engine_command_loads_nothing_heavy(words: list[str]) -> None:
    done, loaded, importers = heavy_imports("parse", words)
    assert done.returncode == 0, done.stderr
    assert not loaded, importers


@pytest.mark.parametrize("words", VALIDATES_OPTIONS, ids=lambda words: " ".join(words[:2]))
def test_a_command_validating_service_options_loads_pydantic_only(words: list[str]) -> None:
    done, loaded, importers = heavy_imports("parse", words)
    assert done.returncode == 0, done.stderr
    assert set(loaded) <= MODELS, importers


@pytest.mark.parametrize("words", READS_FILES, ids=lambda words: " ".join(words[:2]))
def test_a_command_reading_compose_files_loads_yaml_and_the_schema_only(words: list[str]) -> None:
    done, loaded, importers = heavy_imports("parse", words)
    assert done.returncode == 0, done.stderr
    assert set(loaded) <= {"yaml", "jsonschema"}, importers


def test_help_loads_no_model_system() -> None:
    # --help prints no models: pydantic (and pydantic_core) load only with a result.
    done, loaded, importers = heavy_imports("run", ["--help"])
    assert done.returncode == 0, done.stderr
    assert not set(loaded) & MODELS, importers


# A refusal that pydantic's validation makes: a model is built on the way.
REFUSED_BY_A_MODEL = ["service", "create", "web", "nginx:1", "--mode", "bogus"]


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_the_console_script_skips_pydantics_plugin_scan() -> None:
    # Reading every installed package's entry points for plugins we never use.
    done, report = spy_report("run", REFUSED_BY_A_MODEL, env=_env(PYDANTIC_DISABLE_PLUGINS=None))
    assert done.returncode == 2, done.stderr
    assert "invalid service options" in done.stderr
    assert "pydantic" in report["loaded"]
    assert not report["plugin_scan"]


def test_a_users_own_plugin_setting_is_kept() -> None:
    # Set (even empty, which disables nothing): pydantic loads plugins as told.
    done, report = spy_report("run", REFUSED_BY_A_MODEL, env=_env(PYDANTIC_DISABLE_PLUGINS=""))
    assert done.returncode == 2, done.stderr
    assert report["plugin_scan"]


def test_reads_leave_what_only_changes_use_unloaded() -> None:
    # The rolling-update watcher (service changes, node drain), the service spec
    # models (create, update) and the Spark quota rules (settings that name
    # quotas) are no part of a read or of reading the settings.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sparkswarm.operations import get_operation\n"
        "for name in ('service.ls', 'service.ps', 'service.inspect', 'node.ls',\n"
        "             'node.inspect', 'stack.ls', 'stack.services', 'stack.ps', 'network.ls'):\n"
        "    get_operation(name).resolve()\n"
        "from sparkswarm.config import get_settings\n"
        "get_settings()\n"
        "print(' '.join(m for m in sys.modules if m.startswith('sparkswarm.')))\n"
    )
    env = _env(SPARKSWARM_SPARK_QUOTAS=None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(done.stdout.split())
    assert "sparkswarm.services.queries" in loaded  # the walk did load the reads
    unwanted = {"services.rolling", "services.specs", "spark.quota"}
    assert not loaded & {f"sparkswarm.{name}" for name in unwanted}


def test_a_plan_and_a_detached_create_leave_the_task_watcher_unloaded() -> None:
    # Only following tasks needs the rolling-update watcher: `stack diff` plans
    # and a detached `service create` follows nothing. A stack file's Spark
    # Connect rule is pure: the Spark engine queries load only to find a
    # Connect server. A create without --network checks no network name.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sparkswarm.operations import get_operation\n"
        "from sparkswarm.requests import parse\n"
        "parse(['service', 'create', 'web', 'nginx:1', '--replicas', '2'])\n"
        "for name in ('service.create', 'stack.deploy'):\n"
        "    get_operation(name).resolve()\n"
        "import sparkswarm.spark.connect, sparkswarm.stacks.source\n"
        "print(' '.join(m for m in sys.modules if m.startswith('sparkswarm.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert {"sparkswarm.services.ops", "sparkswarm.stacks.deploy"} <= loaded
    unwanted = {"services.rolling", "spark.queries", "networks"}
    assert not loaded & {f"sparkswarm.{name}" for name in unwanted}
