"""Result dataclasses -> JSON and back, byte for byte as the pydantic models were.

``--json`` output and run records must not change with the move from
pydantic models to dataclasses: each result type is filled with sample
values (every field set, then only the required ones) and its
``to_jsonable`` JSON compared with what the pydantic model it used to be
(:mod:`tests.support.pydantic_twin`) dumps. Queued runs rebuild results from
that JSON (``operations.rebuild_result``): the round trip gives the same value.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing
from pathlib import Path
from typing import Any

import pytest

from sparkswarm import networks, nodes, swarm
from sparkswarm.operations import all_operations, rebuild_result, to_json
from sparkswarm.results import rebuild, to_jsonable
from sparkswarm.services import models as service_models
from sparkswarm.stacks import models as stack_models
from tests.support.pydantic_twin import twin

RESULT_TYPES: list[type[Any]] = [
    stack_models.StackServiceChange,
    stack_models.StackResult,
    stack_models.StackRemoval,
    stack_models.StackSummary,
    stack_models.PlannedObject,
    service_models.ServiceSummary,
    service_models.TaskInfo,
    service_models.ServiceOutcome,
    service_models.ScaleResult,
    service_models.RemoveResult,
    nodes.NodeInfo,
    nodes.NodeChange,
    networks.NetworkInfo,
    networks.NetworkChange,
    swarm.SwarmStatus,
    swarm.TokenRotation,
]


def sample(model: type[Any], *, full: bool) -> Any:
    """An instance with a typical value in each field (``full``: the optional ones too)."""
    hints = typing.get_type_hints(model)
    values = {
        item.name: _value(hints[item.name], item.name, full=full)
        for item in dataclasses.fields(model)
        if full
        or (item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING)
    }
    return model(**values)


def _value(kind: Any, name: str, *, full: bool) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return args[-1]
    if origin is list:
        return [_value(args[0], name, full=full), _value(args[0], name + "2", full=full)]
    if origin is dict:
        return {"zone": "a", "ssd": ""}
    if origin is not None:  # X | None
        return _value(next(arg for arg in args if arg is not type(None)), name, full=full)
    if dataclasses.is_dataclass(kind):
        return sample(typing.cast(type, kind), full=full)
    return {str: f'{name}-é\t"', int: 7, float: 0.125, bool: True}[kind]


@pytest.mark.parametrize("full", [True, False], ids=["every-field", "required-only"])
@pytest.mark.parametrize("model", RESULT_TYPES, ids=lambda model: model.__name__)
def test_json_is_what_the_pydantic_model_printed(model: type[Any], full: bool) -> None:
    value = sample(model, full=full)
    before = twin(model).model_validate(dataclasses.asdict(value)).model_dump(mode="json")
    for indent in (2, None):  # print_json's and the run records' forms
        assert json.dumps(to_jsonable(value), indent=indent) == json.dumps(before, indent=indent)
    assert rebuild(model, json.loads(json.dumps(to_jsonable(value)))) == value


def test_every_engine_operation_rebuilds_its_recorded_result() -> None:
    checked = 0
    for name, op in all_operations().items():
        model = op.result_model()
        if model is None or not dataclasses.is_dataclass(model):
            continue
        value: Any = [sample(model, full=True)] if op.many else sample(model, full=True)
        recorded = json.loads(json.dumps(to_json(value)))
        assert rebuild_result(name, recorded) == value, name
        checked += 1
    assert checked >= 15  # every change of swarm, node, network, service and stack


def test_other_values_become_json() -> None:
    class Colour(enum.Enum):
        RED = "red"

    moment = datetime.datetime(2026, 12, 1, 3, 4, 5, tzinfo=datetime.UTC)
    data = {"c": Colour.RED, "t": moment, "p": Path("/tmp/x"), "s": {1}, "n": None}
    assert to_jsonable(data) == {
        "c": "red",
        "t": "2026-12-01T03:04:05Z",
        "p": "/tmp/x",
        "s": [1],
        "n": None,
    }
    assert to_json(None) == {}


def test_rebuild_refuses_what_is_not_a_record() -> None:
    with pytest.raises(TypeError, match="StackSummary needs a dict"):
        rebuild(stack_models.StackSummary, ["web", 1])
