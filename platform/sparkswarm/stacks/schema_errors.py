"""The errors of :mod:`.schema_check`, worded as ``jsonschema`` 4 words them.

They carry what ``compose_schema`` reads of a ``jsonschema.ValidationError``
(``absolute_path``, ``validator``, ``instance``, ``schema``, ``context``,
``message``), so the lines we print did not change with the validator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any


class ValidationError:
    """One problem, with the attributes of ``jsonschema.ValidationError`` we use.

    ``message`` is worded when read: alternatives of ``oneOf`` fail all the
    time on valid documents, and ``repr`` of the instance is the costly part.
    """

    __slots__ = ("_detail", "context", "instance", "parent", "path", "schema", "validator")

    def __init__(
        self,
        validator: str,
        instance: Any,
        schema: Mapping[str, Any],
        detail: Any = None,
        context: list[ValidationError] | None = None,
    ) -> None:
        self.validator = validator
        self.instance = instance
        self.schema = schema
        self._detail = detail
        self.path: deque[str | int] = deque()
        self.parent: ValidationError | None = None
        self.context = context or []
        for error in self.context:
            error.parent = self

    @property
    def absolute_path(self) -> deque[str | int]:
        """Keys and indexes from the document's top to the value at fault."""
        if self.parent is None:
            return deque(self.path)
        path = self.parent.absolute_path
        path.extend(self.path)
        return path

    @property
    def message(self) -> str:
        """The sentence ``jsonschema`` 4 words for this keyword."""
        return _MESSAGES[self.validator](self.instance, self._detail, self.schema)

    def __repr__(self) -> str:
        return f"<ValidationError {self.validator} at {list(self.absolute_path)}: {self.message}>"


def _additional_message(instance: Any, extras: list[str], schema: Mapping[str, Any]) -> str:
    if "patternProperties" in schema:
        verb = "does" if len(extras) == 1 else "do"
        joined = ", ".join(repr(each) for each in extras)
        patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
        return f"{joined} {verb} not match any of the regexes: {patterns}"
    verb = "was" if len(extras) == 1 else "were"
    joined = ", ".join(repr(each) for each in extras)
    return f"Additional properties are not allowed ({joined} {verb} unexpected)"


def _one_of_message(instance: Any, more_valid: list[Any] | None, _: Any) -> str:
    if more_valid is None:
        return f"{instance!r} is not valid under any of the given schemas"
    return f"{instance!r} is valid under each of {', '.join(repr(s) for s in more_valid)}"


_MESSAGES: dict[str, Callable[[Any, Any, Any], str]] = {
    "type": lambda i, types, _: f"{i!r} is not of type {', '.join(repr(t) for t in types)}",
    "required": lambda _i, name, _: f"{name!r} is a required property",
    "enum": lambda i, values, _: f"{i!r} is not one of {values!r}",
    "uniqueItems": lambda i, _d, _: f"{i!r} has non-unique elements",
    "minimum": lambda i, least, _: f"{i!r} is less than the minimum of {least!r}",
    "format": lambda i, name, _: f"{i!r} is not a {name!r}",
    "anyOf": lambda i, _d, _: f"{i!r} is not valid under any of the given schemas",
    "oneOf": _one_of_message,
    "additionalProperties": _additional_message,
}
