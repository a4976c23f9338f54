"""Results -> the JSON that ``--json`` prints and run records hold, and back
(queued runs rebuild their results with pydantic's ``TypeAdapter``).

Engine operations return frozen stdlib dataclasses (no pydantic on an engine
command); Spark's results and the queue's records are pydantic models."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from sparkswarm.operations import all_operations, rebuild_result, to_json
from sparkswarm.stacks.models import StackResult, StackServiceChange


def _field_types(kind: type[Any]) -> dict[str, Any]:
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return {field.name: hints[field.name] for field in dataclasses.fields(kind)}
    return {name: info.annotation for name, info in kind.model_fields.items()}


def _is_result(kind: Any) -> bool:
    if not isinstance(kind, type):
        return False
    return dataclasses.is_dataclass(kind) or issubclass(kind, BaseModel)


def sample(kind: type[Any]) -> Any:
    """An instance of a result type with a typical value in every field."""
    return kind(**{name: _value(hint, name) for name, hint in _field_types(kind).items()})


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
    if _is_result(kind):
        return sample(kind)
    return {str: f'{name}-é\t"', int: 7, float: 0.125, bool: True}[kind]


def test_every_engine_operation_rebuilds_its_recorded_result() -> None:
    checked = 0
    for name, op in all_operations().items():
        kind = op.result_type()
        if kind is None:
            continue
        value: Any = [sample(kind)] if op.many else sample(kind)
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


def test_engine_results_are_frozen_dataclasses() -> None:
    # Made by our code from the engine's answers: nothing to validate, so an
    # engine command loads no pydantic. Spark's results validate what Spark
    # answers (pydantic models, as the queue's records are).
    checked = 0
    for name, op in all_operations().items():
        kind = op.result_type()
        if kind is None or op.executor != "engine" or name.startswith("spark."):
            continue
        assert dataclasses.is_dataclass(kind), name
        assert kind.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
        checked += 1
    assert checked >= 20


def test_a_recorded_result_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValidationError, match="services"):
        rebuild_result("stack.deploy", {"stack": "web", "services": "nope", "waited": True})
    with pytest.raises(ValidationError, match="replicas"):
        rebuild_result("service.ls", [{"id": "i", "name": "web", "mode": "replicated"}])


def test_the_cli_prints_a_result_as_the_run_record_holds_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # --json writes dataclasses with the stdlib (no pydantic on an engine
    # command); a worker records them with pydantic: the same JSON.
    from sparkswarm.cli.common import plain_table, print_json

    for name, op in all_operations().items():
        kind = op.result_type()
        if kind is None:
            continue
        value: Any = [sample(kind)] if op.many else sample(kind)
        print_json(value)
        assert json.loads(capsys.readouterr().out) == to_json(value), name
        rows = value if op.many else [value]
        columns = list(to_json(rows[0]))
        lines = plain_table(rows, columns).splitlines()
        assert len(lines) == 1 + len(rows), name
