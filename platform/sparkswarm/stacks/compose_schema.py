"""Validation against the compose file JSON schema the Docker CLI uses.

The schema file shipped next to this module is docker/cli's
``config_schema_v3.13.json`` (the newest version Docker CLI 28 accepts;
Apache-2.0, see ``schema/README.md``). Using the CLI's own schema means a file
we accept is a file ``docker stack deploy`` accepts, and unknown keys are
rejected the same way. It is checked by ``jsonschema`` (Draft 4, as the
schema says), imported only when a compose file is validated.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest
from sparkswarm.units import parse_duration

if TYPE_CHECKING:
    from jsonschema import Draft4Validator, ValidationError

SCHEMA_FILE = "config_schema_v3.13.json"
SCHEMA_VERSION = "3.13"
SUPPORTED_VERSIONS = ("3", *(f"3.{minor}" for minor in range(14)))


def _check_duration(value: object) -> bool:
    if isinstance(value, str):
        parse_duration(value)
    return True


def _check_ports(value: object) -> bool:
    from sparkswarm.stacks.compose_normalise import parse_port_spec

    if isinstance(value, str | int):
        parse_port_spec(str(value))
    return True


# Checked formats (a check returns false or raises ValueError for a bad value).
# "expose" is a format only the Go CLI checks: a bad value fails in translation.
FORMATS = {"duration": _check_duration, "ports": _check_ports}


def load_schema() -> dict[str, Any]:
    """The compose schema shipped with the package, parsed."""
    # A path next to this module, not importlib.resources (its readers are extra
    # imports): the package is always installed as plain files.
    text = (Path(__file__).parent / "schema" / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft4Validator:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name, raises=ValueError)(check)
    return jsonschema.Draft4Validator(load_schema(), format_checker=checker)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate(config: dict[str, Any], *, filename: str) -> None:
    """Raise InvalidRequest naming ``filename`` and the key path of each problem."""
    version = str(config.get("version", SCHEMA_VERSION))
    if version not in SUPPORTED_VERSIONS:
        raise InvalidRequest(
            f"{filename}: version: unsupported compose file version {version!r} "
            f"(3.0 to {SCHEMA_VERSION})"
        )
    errors = list(_validator().iter_errors(config))
    if errors:
        raise InvalidRequest(f"{filename}: " + "; ".join(summarise(errors)))


def summarise(errors: list[ValidationError]) -> list[str]:
    """One line for each of the first ten errors (by key path), the most telling wording."""
    errors = sorted(errors, key=lambda e: list(e.absolute_path))
    lines = []
    for error in errors[:10]:
        where = _path(error.absolute_path)
        if error.validator == "additionalProperties":
            schema = error.schema if isinstance(error.schema, dict) else {}
            instance = error.instance if isinstance(error.instance, dict) else {}
            extra = sorted(set(instance) - set(schema.get("properties", {})))
            extra = [key for key in extra if not str(key).startswith("x-")]
            lines.append(f"{where}: unknown key(s) {', '.join(map(str, extra))}")
        elif error.validator == "oneOf" and error.context:
            # The alternative that got furthest into the value says most.
            best = max(error.context, key=lambda e: len(list(e.absolute_path)))
            lines.append(f"{_path(best.absolute_path)}: {best.message}")
        else:
            lines.append(f"{where}: {error.message}")
    return lines
