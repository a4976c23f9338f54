"""The pydantic model a result or input dataclass used to be: the oracle for
tests that our dataclass code (validation, JSON dumps) behaves as pydantic did."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model


@functools.cache
def twin(model: type[Any]) -> type[BaseModel]:
    """The pydantic model the dataclass ``model`` used to be."""
    hints = typing.get_type_hints(model)
    definitions: dict[str, Any] = {}
    for item in dataclasses.fields(model):
        kind = _twin_type(hints[item.name])
        bounds = {key: item.metadata[key] for key in ("ge", "le") if key in item.metadata}
        if item.default_factory is not dataclasses.MISSING:
            factory = item.default_factory
            if dataclasses.is_dataclass(factory):
                factory = twin(typing.cast(type, factory))
            definitions[item.name] = (kind, Field(default_factory=factory, **bounds))
        elif item.default is dataclasses.MISSING:
            definitions[item.name] = (kind, Field(..., **bounds))
        else:
            definitions[item.name] = (kind, Field(item.default, **bounds))
    config = ConfigDict(extra="forbid", frozen=True)
    return create_model(model.__name__, __config__=config, **definitions)  # type: ignore[call-overload, no-any-return]


def _twin_type(kind: Any) -> Any:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return twin(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return list[_twin_type(args[0])]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_twin_type(arg) for arg in args)]  # noqa: UP007
    return kind
