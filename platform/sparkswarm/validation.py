"""Request dicts -> frozen dataclasses, checked as pydantic checked them (pure).

The input models (:class:`~sparkswarm.services.specs.ServiceOptions`,
``PolicyOptions``, ``ServiceChanges``) are stdlib dataclasses so that no
command pays for importing pydantic (~50 ms). :func:`validated` gives them
pydantic's lax rules and its error messages, which users and tests already
know: ``"3"`` is accepted for an int, ``3.5`` is not; unknown keys are
refused; ``field(metadata={"ge": 0, "le": 1})`` bounds a number. Supported
annotations: ``str``, ``int``, ``float``, ``bool``, ``list[X]``,
``Literal[...]``, ``X | None`` and nested dataclasses: what those models use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import types
import typing
from typing import Any, Literal, TypeVar, Union

from sparkswarm.errors import InvalidRequest

T = TypeVar("T")

# pydantic's lax booleans (strings compared case-insensitively).
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


class _Invalid(Exception):
    """One problem: where (a path of field names and indexes) and pydantic's message."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


def validated(model: type[T], data: Any, what: str) -> T:
    """``data`` (a dict) checked and converted into a ``model`` instance.

    Raises InvalidRequest ``invalid WHAT: field: message; ...`` listing every
    problem, as pydantic's ValidationError listed them.
    """
    problems: list[_Invalid] = []
    value = _dataclass(model, data, (), problems)
    if problems:
        text = "; ".join(
            f"{'.'.join(str(part) for part in problem.loc) or what}: {problem.msg}"
            for problem in problems
        )
        raise InvalidRequest(f"invalid {what}: {text}")
    return value  # type: ignore[no-any-return]


@functools.cache
def _hints(model: type) -> dict[str, Any]:
    return typing.get_type_hints(model)


def _dataclass(model: type, data: Any, loc: tuple[str | int, ...], problems: list[_Invalid]) -> Any:
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        problems.append(
            _Invalid(loc, f"Input should be a valid dictionary or instance of {model.__name__}")
        )
        return None
    hints = _hints(model)
    fields = dataclasses.fields(model)
    names = {item.name for item in fields}
    values: dict[str, Any] = {}
    before = len(problems)
    for item in fields:
        if item.name not in data:
            if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                problems.append(_Invalid((*loc, item.name), "Field required"))
            continue
        try:
            values[item.name] = _value(
                hints[item.name], data[item.name], (*loc, item.name), problems, item.metadata
            )
        except _Invalid as problem:
            problems.append(problem)
    for key in data:
        if key not in names:
            problems.append(_Invalid((*loc, key), "Extra inputs are not permitted"))
    if len(problems) > before:
        return None
    return model(**values)


def _value(
    kind: Any,
    value: Any,
    loc: tuple[str | int, ...],
    problems: list[_Invalid],
    metadata: typing.Mapping[str, Any],
) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _value(inner, value, loc, problems, metadata)
    if origin is Literal:
        if value in args and type(value) in {type(arg) for arg in args}:
            return value
        choices = [repr(arg) for arg in args]
        listed = " or ".join(
            [", ".join(choices[:-1]), choices[-1]] if len(choices) > 1 else choices
        )
        raise _Invalid(loc, f"Input should be {listed}")
    if origin is list:
        if not isinstance(value, list | tuple | set | frozenset):
            raise _Invalid(loc, "Input should be a valid list")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_value(args[0], item, (*loc, index), problems, {}))
            except _Invalid as problem:
                problems.append(problem)
        return items
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _dataclass(kind, value, loc, problems)
    checker = _SCALARS[kind]
    return _bounded(checker(value, loc), loc, metadata)


def _bounded(value: Any, loc: tuple[str | int, ...], metadata: typing.Mapping[str, Any]) -> Any:
    if "le" in metadata and not value <= metadata["le"]:
        raise _Invalid(loc, f"Input should be less than or equal to {metadata['le']}")
    if "ge" in metadata and not value >= metadata["ge"]:
        raise _Invalid(loc, f"Input should be greater than or equal to {metadata['ge']}")
    return value


def _str(value: Any, loc: tuple[str | int, ...]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError:
            raise _Invalid(
                loc, "Input should be a valid string, unable to parse raw data as a unicode string"
            ) from None
    raise _Invalid(loc, "Input should be a valid string")


def _int(value: Any, loc: tuple[str | int, ...]) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid(loc, "Input should be a finite number")
        if not value.is_integer():
            raise _Invalid(
                loc, "Input should be a valid integer, got a number with a fractional part"
            )
        return int(value)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        # pydantic parses ASCII only (int() and float() take other scripts' digits too).
        text = value.strip() if value.isascii() else "not a number"
        with contextlib.suppress(ValueError):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
        raise _Invalid(loc, "Input should be a valid integer, unable to parse string as an integer")
    raise _Invalid(loc, "Input should be a valid integer")


def _float(value: Any, loc: tuple[str | int, ...]) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        try:
            return float(value.strip() if value.isascii() else "not a number")
        except ValueError:
            raise _Invalid(
                loc, "Input should be a valid number, unable to parse string as a number"
            ) from None
    raise _Invalid(loc, "Input should be a valid number")


def _bool(value: Any, loc: tuple[str | int, ...]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
    # pydantic "interprets" strings and whole numbers only; anything else is the wrong type.
    if isinstance(value, str | int) or (isinstance(value, float) and value.is_integer()):
        raise _Invalid(loc, "Input should be a valid boolean, unable to interpret input")
    raise _Invalid(loc, "Input should be a valid boolean")


_SCALARS: dict[Any, typing.Callable[[Any, tuple[str | int, ...]], Any]] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
}
