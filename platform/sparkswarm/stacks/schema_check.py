"""A small JSON Schema Draft 4 validator: the keywords the compose schema uses.

``jsonschema`` cost ~36 ms of imports on every ``stack deploy``/``diff``
(issue #11, section 6) to check one schema. This module checks the same
keywords the same way (Draft 4 semantics, ``jsonschema`` 4's error messages
and error order, so the lines we print are unchanged), compiled once into
nested closures. A schema holding a keyword, type, format or ``$ref`` form
this module does not implement is refused when compiled (:class:`SchemaError`):
a newer compose schema must never be checked only in part without anyone
noticing. ``tests/unit/test_schema_check.py`` compares the results with
``jsonschema.Draft4Validator`` on a few hundred documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sparkswarm.stacks.json_values import equal, is_number, type_test, unique
from sparkswarm.stacks.schema_errors import ValidationError

__all__ = ["SchemaError", "ValidationError", "Validator"]

# Keywords that never produce an error (annotations, or a container of $ref targets).
IGNORED = frozenset({"id", "$schema", "default", "definitions"})
DRAFT4 = "http://json-schema.org/draft-04/schema#"
TYPES = frozenset({"string", "object", "array", "boolean", "null", "integer", "number"})

Errors = Sequence[ValidationError]
Check = Callable[[Any], Errors]
FormatCheck = Callable[[object], bool]
_NONE: Errors = ()


class SchemaError(ValueError):
    """The schema uses something this validator does not implement."""


def _under(key: str | int, errors: Errors) -> Errors:
    for error in errors:
        error.path.appendleft(key)
    return errors


class Validator:
    """A Draft 4 schema compiled once; :meth:`iter_errors` checks a document.

    ``formats`` maps a format name to a function that returns false or raises
    ValueError for a bad value (as ``jsonschema.FormatChecker.checks`` with
    ``raises=ValueError``); ``unchecked_formats`` names the formats accepted
    without a check. Raises SchemaError for anything else it does not implement.
    """

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        formats: Mapping[str, FormatCheck],
        unchecked_formats: Iterable[str] = (),
    ) -> None:
        self.schema = schema
        self._formats = dict(formats)
        self._unchecked = frozenset(unchecked_formats)
        self._refs: dict[str, list[Check]] = {}
        self._check = self._compile(schema, "#")

    def iter_errors(self, instance: Any) -> list[ValidationError]:
        """Every error, in the order ``jsonschema.Draft4Validator.iter_errors`` yields them."""
        return list(self._check(instance))

    # -- compiling -------------------------------------------------------------

    def _compile(self, schema: Any, where: str) -> Check:
        if not isinstance(schema, dict):
            raise SchemaError(f"{where}: a schema must be an object, not {schema!r}")
        if schema.get("$schema", DRAFT4) != DRAFT4:
            raise SchemaError(f"{where}: only Draft 4 is supported, not {schema['$schema']!r}")
        if where != "#" and not str(schema.get("id", "#")).startswith("#"):
            # Such an id moves the base its $refs resolve against: not implemented.
            raise SchemaError(f"{where}: an id other than a fragment: {schema['id']!r}")
        if "$ref" in schema:
            # Draft 4 ignores the siblings of $ref; we refuse them, so none goes unchecked.
            if set(schema) - IGNORED != {"$ref"}:
                raise SchemaError(f"{where}: $ref with other keywords {sorted(schema)}")
            return self._ref(schema["$ref"], where)
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in IGNORED:
                continue
            build = _KEYWORDS.get(keyword)
            if build is None:
                raise SchemaError(f"{where}: unsupported keyword {keyword!r}")
            check = build(self, value, schema, f"{where}/{keyword}")
            if check is not None:
                checks.append(check)
        if not checks:
            return lambda instance: _NONE
        if len(checks) == 1:
            return checks[0]

        def check_all(instance: Any) -> Errors:
            errors: Errors = _NONE
            for check in checks:
                found = check(instance)
                if found:
                    errors = [*errors, *found]
            return errors

        return check_all

    def _ref(self, ref: Any, where: str) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SchemaError(f"{where}: only local $ref '#/...' is supported, not {ref!r}")
        cell = self._refs.get(ref)
        if cell is None:
            # Registered before compiling, so a schema that refers to itself terminates.
            cell = self._refs[ref] = []
            target: Any = self.schema
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise SchemaError(f"{where}: $ref {ref!r} points nowhere")
                target = target[part]
            cell.append(self._compile(target, ref))
        if cell:
            return cell[0]
        return lambda instance: cell[0](instance)  # a reference to a schema still compiling

    def _type(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        names = [value] if isinstance(value, str) else value
        known = isinstance(names, list) and all(isinstance(n, str) and n in TYPES for n in names)
        if not (known and names):
            raise SchemaError(f"{where}: unsupported type {value!r}")
        test = type_test(names)

        def check(instance: Any) -> Errors:
            return _NONE if test(instance) else [ValidationError("type", instance, schema, names)]

        return check

    def _properties(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        order = {name: index for index, name in enumerate(value)}
        subs = {name: self._compile(sub, f"{where}/{name}") for name, sub in value.items()}

        def check(instance: Any) -> Errors:
            if not isinstance(instance, dict):
                return _NONE
            found: list[tuple[int, Errors]] = []
            for key, item in instance.items():
                sub = subs.get(key)
                if sub is not None:
                    errors = sub(item)
                    if errors:
                        found.append((order[key], _under(key, errors)))
            if not found:
                return _NONE
            found.sort(key=lambda pair: pair[0])  # jsonschema walks the schema's order
            return [error for _, errors in found for error in errors]

        return check

    def _pattern_properties(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        subs = [
            (re.compile(pattern).search, self._compile(sub, f"{where}/{pattern}"))
            for pattern, sub in value.items()
        ]

        def check(instance: Any) -> Errors:
            if not isinstance(instance, dict):
                return _NONE
            errors: Errors = _NONE
            for search, sub in subs:
                for key, item in instance.items():
                    if search(key):
                        found = sub(item)
                        if found:
                            errors = [*errors, *_under(key, found)]
            return errors

        return check

    def _additional_properties(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        known = frozenset(schema.get("properties", {}))
        joined = "|".join(schema.get("patternProperties", {}))
        matches = re.compile(joined).search if joined else None
        sub = self._compile(value, where) if isinstance(value, dict) else None
        if sub is None and not isinstance(value, bool):
            raise SchemaError(f"{where}: must be a boolean or a schema")
        if value is True:
            return lambda instance: _NONE

        def check(instance: Any) -> Errors:
            if not isinstance(instance, dict):
                return _NONE
            extras = [
                key
                for key in instance
                if key not in known and not (matches is not None and matches(key))
            ]
            if not extras:
                return _NONE
            if sub is None:
                extras.sort(key=str)
                return [ValidationError("additionalProperties", instance, schema, extras)]
            errors: Errors = _NONE
            for key in extras:
                found = sub(instance[key])
                if found:
                    errors = [*errors, *_under(key, found)]
            return errors

        return check

    def _required(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise SchemaError(f"{where}: must be a list of names")

        def check(instance: Any) -> Errors:
            if not isinstance(instance, dict):
                return _NONE
            return [
                ValidationError("required", instance, schema, name)
                for name in value
                if name not in instance
            ]

        return check

    def _items(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: only a single schema is supported for items")
        sub = self._compile(value, where)

        def check(instance: Any) -> Errors:
            if not isinstance(instance, list):
                return _NONE
            errors: Errors = _NONE
            for index, item in enumerate(instance):
                found = sub(item)
                if found:
                    errors = [*errors, *_under(index, found)]
            return errors

        return check

    def _unique_items(self, value: Any, schema: dict[str, Any], where: str) -> Check | None:
        if not isinstance(value, bool):
            raise SchemaError(f"{where}: must be a boolean")
        if not value:
            return None

        def check(instance: Any) -> Errors:
            if isinstance(instance, list) and not unique(instance):
                return [ValidationError("uniqueItems", instance, schema)]
            return _NONE

        return check

    def _enum(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        if not isinstance(value, list):
            raise SchemaError(f"{where}: must be a list")

        def check(instance: Any) -> Errors:
            if any(equal(each, instance) for each in value):
                return _NONE
            return [ValidationError("enum", instance, schema, value)]

        return check

    def _minimum(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        if not is_number(value):
            raise SchemaError(f"{where}: must be a number")

        def check(instance: Any) -> Errors:
            if is_number(instance) and instance < value:
                return [ValidationError("minimum", instance, schema, value)]
            return _NONE

        return check

    def _format(self, value: Any, schema: dict[str, Any], where: str) -> Check | None:
        if value in self._unchecked:
            return None
        test = self._formats.get(value)
        if test is None:
            raise SchemaError(f"{where}: unsupported format {value!r}")

        def check(instance: Any) -> Errors:
            try:
                if test(instance):
                    return _NONE
            except ValueError:
                pass
            return [ValidationError("format", instance, schema, value)]

        return check

    def _alternatives(self, value: Any, where: str) -> list[Check]:
        if not isinstance(value, list) or not value:
            raise SchemaError(f"{where}: must be a non-empty list of schemas")
        return [self._compile(sub, f"{where}/{index}") for index, sub in enumerate(value)]

    def _any_of(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        subs = self._alternatives(value, where)

        def check(instance: Any) -> Errors:
            context: list[ValidationError] = []
            for sub in subs:
                found = sub(instance)
                if not found:
                    return _NONE
                context.extend(found)
            return [ValidationError("anyOf", instance, schema, None, context)]

        return check

    def _one_of(self, value: Any, schema: dict[str, Any], where: str) -> Check:
        subs = self._alternatives(value, where)

        def valid_under_others(first: int, instance: Any) -> Errors:
            # Valid under one: it must be under no other (each checked, as jsonschema does).
            later = range(first + 1, len(subs))
            more = [value[index] for index in later if not subs[index](instance)]
            if not more:
                return _NONE
            return [ValidationError("oneOf", instance, schema, [*more, value[first]])]

        def check(instance: Any) -> Errors:
            context: list[ValidationError] = []
            for first, sub in enumerate(subs):
                found = sub(instance)
                if not found:
                    return valid_under_others(first, instance)
                context.extend(found)
            return [ValidationError("oneOf", instance, schema, None, context)]

        return check


_KEYWORDS: dict[str, Callable[[Validator, Any, dict[str, Any], str], Check | None]] = {
    "type": Validator._type,
    "properties": Validator._properties,
    "patternProperties": Validator._pattern_properties,
    "additionalProperties": Validator._additional_properties,
    "required": Validator._required,
    "items": Validator._items,
    "uniqueItems": Validator._unique_items,
    "enum": Validator._enum,
    "minimum": Validator._minimum,
    "format": Validator._format,
    "anyOf": Validator._any_of,
    "oneOf": Validator._one_of,
}
