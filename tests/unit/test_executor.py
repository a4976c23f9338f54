"""One executor, chosen once; a registry the queue extends and the core names
nothing of. Pure: the local executor runs against the in-memory gateway."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest
from sparkswarm.executor import LocalExecutor, Origin
from sparkswarm.operation_table import register_core_operations
from sparkswarm.operations import all_operations, get_operation, register
from sparkswarm.requests import parse
from sparkswarm.states import RUN_STATES
from tests.support.fake_gateway import FakeGateway

CORE = Path(__file__).resolve().parents[2] / "platform" / "sparkswarm"
ME = Origin("tester@host")


def _local() -> tuple[LocalExecutor, FakeGateway]:
    gw = FakeGateway()
    return LocalExecutor(lambda: gw), gw


def test_the_local_executor_runs_a_change_in_process_and_records_nothing() -> None:
    local, gw = _local()
    seen: list[str] = []
    run = local.submit(
        parse(["service", "create", "web", "busybox:1", "--replicas", "2"]),
        origin=ME,
        progress=lambda message, /, **details: seen.append(message),
    )
    assert run.run_id is None and not run.recorded
    assert run.result.service == "web" and run.result.outcome == "created"
    assert run.result.running == 2
    assert [s["Spec"]["Name"] for s in gw.services()] == ["web"]
    assert seen  # the operation's progress reached the caller


def test_the_local_executor_tells_a_detached_operation_not_to_wait() -> None:
    local, gw = _local()
    gw.stuck_images.add("busybox:stuck")  # tasks that never start: waiting would time out
    request = parse(["service", "create", "web", "busybox:stuck", "--timeout", "1"])
    run = local.submit(request, origin=ME, detach=True)
    assert run.result.service == "web" and run.result.outcome == "created"
    assert run.result.running in (0, None)  # returned before any task ran


def test_the_local_executor_refuses_a_key_and_the_queue_reads() -> None:
    local, gw = _local()
    with pytest.raises(InvalidRequest, match="--key needs the queue"):
        local.submit(parse(["service", "rm", "web"]), origin=ME, key="k1")
    with pytest.raises(InvalidRequest, match="no broker configured"):
        local.read(parse(["runs", "ls"]))
    assert gw.services() == []


def test_the_local_executor_answers_engine_reads() -> None:
    local, _ = _local()
    local.submit(parse(["service", "create", "web", "busybox:1"]), origin=ME)
    assert [row.name for row in local.read(parse(["service", "ls"]))] == ["web"]


def test_the_executor_is_chosen_from_the_settings() -> None:
    from sparkswarm.workers.executor import QueueExecutor, executor_for

    local, _ = _local()
    no_broker = Settings()
    assert executor_for(no_broker, local=local) is local
    with pytest.raises(InvalidRequest, match="SPARKSWARM_REDIS_URL"):
        executor_for(no_broker)  # the bot and the scheduler need the broker
    chosen = executor_for(replace(no_broker, redis_url="redis://127.0.0.1:1/0"), local=local)
    assert isinstance(chosen, QueueExecutor) and chosen.local is local


def test_the_queue_executor_connects_once_and_only_when_first_needed() -> None:
    from sparkswarm.workers.executor import QueueExecutor

    made: list[object] = []
    client: Any = object()  # any client: the executor only hands it on

    def connect() -> Any:
        made.append(client)
        return client

    lazy = QueueExecutor(connect=connect)
    assert made == []
    assert lazy.client is client and lazy.client is client and made == [client]
    assert QueueExecutor(client).client is client
    for wrong in ({}, {"client": client, "connect": connect}):
        with pytest.raises(TypeError, match="a client or a connect function"):
            QueueExecutor(**wrong)


def test_run_states_are_defined_once_and_the_grammar_uses_them() -> None:
    assert RUN_STATES == ("queued", "running", "succeeded", "failed", "cancelled")
    with pytest.raises(InvalidRequest, match="one of queued, running, succeeded"):
        parse(["runs", "ls", "--state", "lost"])


def test_the_core_table_names_only_core_modules() -> None:
    entries: dict[str, dict[str, object]] = {}

    def collect(name: str, path: str, **options: object) -> None:
        entries[name] = {"path": path, **options}

    register_core_operations(collect)
    named = [str(e["path"]) for e in entries.values()]
    named += [str(e["result"]) for e in entries.values() if e.get("result")]
    assert named and all(n.startswith("sparkswarm.") for n in named)
    assert not [n for n in named if n.startswith(("sparkswarm.workers", "sparkswarm.bots"))]
    assert "runs.ls" not in entries and "spark.jobs" not in entries


def test_no_core_module_names_the_queue_or_the_bot() -> None:
    """Outside the CLI (a front end, like the bot) the core names no module of
    workers/ or bots/, not in an import and not in a string (docstrings may
    say where things are)."""
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        if "cli" in path.relative_to(CORE).parts:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and ast.get_docstring(node) is not None
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.ImportFrom) and node.module:
                text = node.module
            elif isinstance(node, ast.Import):
                text = " ".join(alias.name for alias in node.names)
            else:
                continue
            if "sparkswarm.workers" in text or "sparkswarm.bots" in text:
                offenders.append(f"{path.relative_to(CORE)}:{getattr(node, 'lineno', '?')}")
    assert offenders == []


def test_the_queue_extends_the_registry_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="sparkswarm.operations") if e.name == "queue"]
    assert entry.value == "sparkswarm.workers.operations:register_queue_operations"
    ops = all_operations()
    assert {"runs.ls", "runs.show", "schedule.ls", "spark.jobs", "spark.job"} <= set(ops)
    assert all(ops[n].executor == "queue" for n in ("runs.ls", "spark.jobs"))
    # The queue's spark.submit files the job under the run it is given.
    submit = get_operation("spark.submit")
    assert submit.takes_run and submit.path == "sparkswarm.workers.spark_jobs:submit"


def test_a_name_registered_twice_is_refused_unless_replaced() -> None:
    with pytest.raises(ValueError, match="registered already"):
        register("service.ls", "sparkswarm.services.queries:list_services", read_only=True)
