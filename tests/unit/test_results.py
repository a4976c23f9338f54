"""Result models -> the JSON that ``--json`` prints and run records hold, and
back (queued runs rebuild their results with ``model_validate``)."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from sparkswarm.operations import all_operations, rebuild_result, to_json
from sparkswarm.stacks.models import StackResult, StackServiceChange


def sample(model: type[BaseModel]) -> BaseModel:
    """An instance with a typical value in every field."""
    values = {name: _value(info.annotation, name) for name, info in model.model_fields.items()}
    return model(**values)


def _value(kind: Any, name: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return args[-1]
    if origin is list:
        return [_value(args[0], name), _value(args[0], name + "2")]
    if origin is dict:
        return {"zone": "a", "ssd": ""}
    if origin is not None:  # X | None
        return _value(next(arg for arg in args if arg is not type(None)), name)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return sample(kind)
    return {str: f'{name}-é\t"', int: 7, float: 0.125, bool: True}[kind]


def test_every_engine_operation_rebuilds_its_recorded_result() -> None:
    checked = 0
    for name, op in all_operations().items():
        model = op.result_model()
        if model is None:
            continue
        value: Any = [sample(model)] if op.many else sample(model)
        recorded = json.loads(json.dumps(to_json(value)))
        assert rebuild_result(name, recorded) == value, name
        checked += 1
    assert checked >= 15  # every change of swarm, node, network, service and stack


def test_json_keeps_the_field_order_and_every_field() -> None:
    result = StackResult(
        stack="web",
        services=[StackServiceChange(service="web_api", result="updated", changes=["image"])],
        waited=True,
    )
    assert json.dumps(to_json(result), indent=2) == (
        "{\n"
        '  "stack": "web",\n'
        '  "services": [\n'
        "    {\n"
        '      "service": "web_api",\n'
        '      "result": "updated",\n'
        '      "changes": [\n'
        '        "image"\n'
        "      ]\n"
        "    }\n"
        "  ],\n"
        '  "snapshot": null,\n'
        '  "waited": true,\n'
        '  "warnings": [],\n'
        '  "rolled_back_to": null\n'
        "}"
    )


def test_nothing_to_report_is_an_empty_object() -> None:
    assert to_json(None) == {}
