"""Variable interpolation in compose files, as the Docker CLI does it.

``$$`` is a literal ``$``; ``$VAR`` and ``${VAR}`` take the variable (empty
when unset, with a warning); ``${VAR:-d}`` / ``${VAR-d}`` fall back to ``d``
when unset-or-empty / unset; ``${VAR:?msg}`` / ``${VAR?msg}`` fail when
unset-or-empty / unset. The pattern and the order in which the operators are
tried follow docker/cli's ``cli/compose/template`` so the same file gives the
same result, quirks included (an unbraced ``$VAR-x`` is ``${VAR-x}`` there).
Only values are interpolated, never keys; a few paths (``deploy.replicas``,
``ports[].published``, booleans, ...) are cast back to numbers/booleans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sparkswarm.errors import InvalidRequest

_SUBST = r"[_a-z][_a-z0-9]*(?::?[-?][^}]*)?"
PATTERN = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>"
    + _SUBST
    + r")|\{(?P<braced>"
    + _SUBST
    + r")\}|(?P<invalid>))",
    re.IGNORECASE,
)

Lookup = Callable[[str], str | None]


class TemplateError(ValueError):
    """A template is malformed or a required variable is missing."""


def substitute(template: str, lookup: Lookup, warnings: list[str] | None = None) -> str:
    """``template`` with its variables replaced; TemplateError when one is required."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        expression = match.group("named") or match.group("braced")
        if not expression:
            raise TemplateError(f"invalid template: {template!r}")
        # The CLI tries ":-", "-", ":?", "?" in this order, each by substring.
        if ":-" in expression:
            name, default = expression.split(":-", 1)
            value = lookup(name)
            return value if value else default
        if "-" in expression:
            name, default = expression.split("-", 1)
            value = lookup(name)
            return default if value is None else value
        for separator, allow_empty in ((":?", False), ("?", True)):
            if separator in expression:
                name, message = expression.split(separator, 1)
                value = lookup(name)
                if value is None or (not allow_empty and value == ""):
                    raise TemplateError(f"required variable {name} is missing a value: {message}")
                return value
        value = lookup(expression)
        if value is None:
            if warnings is not None:
                warnings.append(f"variable {expression} is not set, using an empty string")
            return ""
        return value

    return PATTERN.sub(replace, template)


def _to_int(value: str) -> int:
    return int(value)


def _to_float(value: str) -> float:
    return float(value)


def _to_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("y", "yes", "true", "on"):
        return True
    if lowered in ("n", "no", "false", "off"):
        return False
    raise ValueError(f"invalid boolean: {value}")


# Paths use "*" for any mapping key and "[]" for any list item (docker/cli's
# interpolateTypeCastMapping).
_SERVICE_CASTS: dict[tuple[str, ...], Callable[[str], Any]] = {
    ("configs", "[]", "mode"): _to_int,
    ("secrets", "[]", "mode"): _to_int,
    ("healthcheck", "retries"): _to_int,
    ("healthcheck", "disable"): _to_bool,
    ("deploy", "replicas"): _to_int,
    ("deploy", "update_config", "parallelism"): _to_int,
    ("deploy", "update_config", "max_failure_ratio"): _to_float,
    ("deploy", "rollback_config", "parallelism"): _to_int,
    ("deploy", "rollback_config", "max_failure_ratio"): _to_float,
    ("deploy", "restart_policy", "max_attempts"): _to_int,
    ("deploy", "placement", "max_replicas_per_node"): _to_int,
    ("ports", "[]", "target"): _to_int,
    ("ports", "[]", "published"): _to_int,
    ("ulimits", "*"): _to_int,
    ("ulimits", "*", "hard"): _to_int,
    ("ulimits", "*", "soft"): _to_int,
    ("privileged",): _to_bool,
    ("read_only",): _to_bool,
    ("stdin_open",): _to_bool,
    ("tty",): _to_bool,
    ("volumes", "[]", "read_only"): _to_bool,
    ("volumes", "[]", "volume", "nocopy"): _to_bool,
}
CASTS: dict[tuple[str, ...], Callable[[str], Any]] = {
    **{("services", "*", *path): cast for path, cast in _SERVICE_CASTS.items()},
    **{
        (section, "*", key): _to_bool
        for section in ("networks", "volumes", "secrets", "configs")
        for key in ("external",)
    },
    ("networks", "*", "internal"): _to_bool,
    ("networks", "*", "attachable"): _to_bool,
}


def _cast_for(path: tuple[str, ...]) -> Callable[[str], Any] | None:
    for pattern, cast in CASTS.items():
        if len(pattern) == len(path) and all(
            (p == "*" and not q.startswith("[")) or (p == "[]" and q.startswith("[")) or p == q
            for p, q in zip(pattern, path, strict=True)
        ):
            return cast
    return None


def dotted(path: tuple[str, ...]) -> str:
    """``("services", "web", "ports", "[0]")`` -> ``services.web.ports[0]``."""
    text = ""
    for part in path:
        text += part if part.startswith("[") or not text else "." + part
    return text


def interpolate_tree(
    tree: Any,
    lookup: Lookup,
    *,
    filename: str,
    warnings: list[str] | None = None,
    path: tuple[str, ...] = (),
) -> Any:
    """A copy of ``tree`` with every string value interpolated and cast.

    Raises InvalidRequest naming ``filename`` and the key's path.
    """
    if isinstance(tree, Mapping):
        return {
            key: interpolate_tree(
                value, lookup, filename=filename, warnings=warnings, path=(*path, str(key))
            )
            for key, value in tree.items()
        }
    if isinstance(tree, list):
        return [
            interpolate_tree(
                item, lookup, filename=filename, warnings=warnings, path=(*path, f"[{index}]")
            )
            for index, item in enumerate(tree)
        ]
    if not isinstance(tree, str):
        return tree
    try:
        value = substitute(tree, lookup, warnings)
    except TemplateError as exc:
        raise InvalidRequest(f"{filename}: {dotted(path)}: {exc}") from None
    cast = _cast_for(path)
    if cast is None:
        return value
    try:
        return cast(value)
    except ValueError:
        raise InvalidRequest(
            f"{filename}: {dotted(path)}: {value!r} is not a valid {cast.__name__[4:]}"
        ) from None
