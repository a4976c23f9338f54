"""JSON values as Draft 4 and ``jsonschema`` 4 see them: types, equality, uniqueness.

Python's ``True == 1`` and ``isinstance(True, int)`` are not JSON's; these
helpers of :mod:`.schema_check` follow ``jsonschema``'s draft 4 type checker
and ``jsonschema._utils`` step by step, so both give the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from numbers import Number
from typing import Any


def is_number(value: Any) -> bool:
    """Draft 4 "number": any number but a boolean."""
    return isinstance(value, Number) and not isinstance(value, bool)


def type_test(names: list[str]) -> Callable[[Any], bool]:
    """A test for Draft 4 ``type: names`` (booleans are no numbers; 1.0 is no integer)."""
    classes = tuple(
        cls
        for name, cls in (("string", str), ("object", dict), ("array", list), ("boolean", bool))
        if name in names
    )
    null, number, integer = "null" in names, "number" in names, "integer" in names

    def test(value: Any) -> bool:
        if isinstance(value, classes):
            return True
        if value is None:
            return null
        if isinstance(value, bool):
            return False
        if number and isinstance(value, Number):
            return True
        return integer and isinstance(value, int)

    return test


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    # True == 1 and False == 0 in Python, not in JSON Schema.
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def equal(one: Any, two: Any) -> bool:
    """JSON equality: ``True`` is not ``1``, also inside lists and mappings."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(equal(i, j) for i, j in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and equal(value, two[key]) for key, value in one.items()
        )
    return bool(_unbool(one) == _unbool(two))


def unique(items: list[Any]) -> bool:
    """Whether no two items are equal, by ``jsonschema._utils.uniq``'s very steps.

    Sorted neighbours when the items sort, else every pair: the same answers
    as jsonschema even where sorting groups equal items apart.
    """
    try:
        ordered = sorted(_unbool(item) for item in items)
        for one, two in pairwise(ordered):
            if equal(one, two):
                return False
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in items:
            item = _unbool(item)
            if any(equal(each, item) for each in seen):
                return False
            seen.append(item)
    return True
