"""The registry's contract, checked for every operation against what the
request parser produces: the function accepts the gateway (or queue client),
``progress`` (changes) and exactly the params the grammar builds; the result
model resolves; roles and confirmations are declared."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from pydantic import BaseModel

from sparkswarm.operations import ROLES, all_operations, get_operation, role_allows
from sparkswarm.progress import no_progress
from sparkswarm.requests import parse

TOKEN = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25

# One valid command line per operation the core registers.
SAMPLES: dict[str, list[str]] = {
    "swarm.init": ["swarm", "init", "--advertise-addr", "10.77.0.1"],
    "swarm.join": ["swarm", "join", "10.77.0.1:2377", "--token", TOKEN],
    "swarm.leave": ["swarm", "leave", "--force"],
    "swarm.rotate_join_token": ["swarm", "join-token", "worker", "--rotate"],
    "node.promote": ["node", "promote", "n1"],
    "node.demote": ["node", "demote", "n1"],
    "node.availability": ["node", "drain", "n1", "--detach"],
    "node.label": ["node", "label", "n1", "zone=a", "--rm", "old"],
    "network.create": ["network", "create", "net1", "--attachable", "--subnet", "10.20.0.0/24"],
    "network.rm": ["network", "rm", "net1"],
    "service.create": [
        "service",
        "create",
        "web",
        "busybox:1",
        "--replicas",
        "2",
        "--update-delay",
        "5s",
        "--rollback-parallelism",
        "1",
        "--publish",
        "8080:80",
        "--env",
        "A=1",
    ],
    "service.update": [
        "service",
        "update",
        "web",
        "--image",
        "busybox:2",
        "--update-order",
        "start-first",
    ],
    "service.scale": ["service", "scale", "web=3", "db=0"],
    "service.rollback": ["service", "rollback", "web"],
    "service.rm": ["service", "rm", "web", "db"],
    "stack.deploy": ["stack", "deploy", "web"],
    "stack.rm": ["stack", "rm", "web"],
    "stack.rollback": ["stack", "rollback", "web"],
    "image.build": ["images", "build", "web"],
    "spark.submit": ["spark", "submit", "pi", "10", "--conf", "spark.cores.max=1"],
    "spark.cancel": ["spark", "cancel", "abcd1234"],
    "spark.sql": ["spark", "sql", "--stack", "lab", "SELECT 1+1"],
    "spark.sql_cancel": ["spark", "sql-cancel", "slack:abcd", "--stack", "lab"],
    "spark.rm": ["spark", "rm", "abcd1234"],
    "spark.up": ["spark", "up", "--workers", "2", "--worker-memory", "1g"],
    "spark.down": ["spark", "down"],
    "spark.jobs": ["spark", "jobs", "mine", "--state", "running"],
    "spark.job": ["spark", "job", "abcd"],
    "service.ls": ["service", "ls"],
    "service.ps": ["service", "ps", "web", "--running"],
    "service.inspect": ["service", "inspect", "web"],
    "node.ls": ["node", "ls", "--role", "manager"],
    "node.inspect": ["node", "inspect", "n1"],
    "network.ls": ["network", "ls"],
    "stack.ls": ["stack", "ls"],
    "stack.services": ["stack", "services", "web"],
    "stack.ps": ["stack", "ps", "web"],
    "spark.status": ["spark", "status"],
    "runs.ls": ["runs", "ls", "--state", "failed"],
    "runs.show": ["runs", "show", "abc"],
    "schedule.ls": ["schedule", "ls"],
}

# The core's operations and those the queue registers through its entry point.
CORE_OPERATIONS = sorted(
    name for name in all_operations() if not name.startswith(("queue.", "test."))
)


def test_every_operation_has_a_sample_command() -> None:
    assert sorted(SAMPLES) == CORE_OPERATIONS


@pytest.mark.parametrize("name", CORE_OPERATIONS)
def test_the_function_accepts_what_the_parser_produces(name: str) -> None:
    request = parse(SAMPLES[name])
    assert request.op == name
    op = get_operation(name)
    assert request.read_only is op.read_only
    params = dict(request.params)
    if name == "spark.submit":
        params["job_id"] = "abcd1234"  # the CLI and the bot add one per submission
    signature = inspect.signature(op.resolve())
    first = next(iter(signature.parameters))
    assert first == ("client" if op.executor == "queue" else "gw")
    if op.read_only:
        signature.bind(object(), **params)
        assert "progress" not in signature.parameters
    else:
        signature.bind(object(), progress=no_progress, **params)


@pytest.mark.parametrize("name", CORE_OPERATIONS)
def test_the_result_type_and_permissions_are_declared(name: str) -> None:
    op = get_operation(name)
    kind = op.result_type()
    assert kind is None or dataclasses.is_dataclass(kind) or issubclass(kind, BaseModel)
    assert op.role in ROLES
    assert op.role == "viewer" or not op.read_only or not op.chat
    if op.local:
        assert not op.chat


def test_roles_are_ordered_and_destructive_operations_are_flagged() -> None:
    scale = get_operation("service.scale")
    assert role_allows("operator", scale) and role_allows("admin", scale)
    assert not role_allows("viewer", scale)
    assert not role_allows("operator", get_operation("node.promote"))
    assert scale.is_destructive({"replicas": {"web": 0}})
    assert not scale.is_destructive({"replicas": {"web": 2}})
    drain = get_operation("node.availability")
    assert drain.is_destructive({"availability": "drain"})
    assert not drain.is_destructive({"availability": "active"})
    for name in ("service.rm", "stack.rm", "network.rm", "node.demote", "spark.rm", "spark.cancel"):
        assert get_operation(name).is_destructive({}), name
    assert not get_operation("swarm.rotate_join_token").chat
