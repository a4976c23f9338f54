"""Typed results <-> JSON-able data, without pydantic (pure).

Engine operations return frozen dataclasses (cheap to import: the CLI starts
without pydantic). :func:`to_jsonable` gives the JSON shape that
``model_dump(mode="json")`` gave, so ``--json`` output and run records are
unchanged; pydantic models that remain elsewhere (run records, Spark jobs,
lab state) are still dumped by their own ``model_dump``. :func:`rebuild`
turns recorded data back into the dataclass (queued runs' results).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import types
import typing
from pathlib import PurePath
from typing import Any, TypeVar, Union

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses and models as dicts (fields in
    declaration order), tuples and sets as lists, enums as their values,
    datetimes as ISO 8601, paths as strings; ``None`` stays ``None``."""
    if value is None or isinstance(value, str | int | float):
        return value.value if isinstance(value, enum.Enum) else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: to_jsonable(getattr(value, item.name)) for item in dataclasses.fields(value)
        }
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        text = value.isoformat()
        # pydantic writes UTC as "Z".
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, PurePath):
        return str(value)
    return value


@functools.cache
def _hints(model: type) -> dict[str, Any]:
    return typing.get_type_hints(model)


def rebuild(model: type[T], data: Any) -> T:
    """The ``model`` dataclass from its :func:`to_jsonable` data (nested
    dataclasses and lists of them rebuilt too; other values taken as they are).

    Raises TypeError when ``data`` is not a dict with the model's fields.
    """
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise TypeError(f"{model.__name__} needs a dict, not {type(data).__name__}")
    hints = _hints(typing.cast(type, model))
    values = {
        item.name: _typed(hints[item.name], data[item.name])
        for item in dataclasses.fields(model)  # type: ignore[arg-type]
        if item.name in data
    }
    return model(**values)


def _typed(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    if origin is list and isinstance(value, list):
        (item_kind,) = typing.get_args(kind)
        return [_typed(item_kind, item) for item in value]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return rebuild(kind, value)
    return value
