"""Values the schema lets through but the translation would refuse, checked on
the merged model at load time, so the error names the file that set them (pure).

The compose schema types sizes, CPU counts, modes and restart policies as
plain strings; :mod:`.spec_parts` parses them only when the stack is
translated, after the files are merged and their names are gone. Checking the
merged model (not each file) accepts exactly what the docker CLI accepts: a
later file may fix a value an earlier one got wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.spec_parts import (
    healthcheck_spec,
    mode_spec,
    restart_policy,
    update_config,
)
from sparkswarm.units import parse_nano_cpus, parse_ram_bytes

FileModels = Sequence[tuple[str, dict[str, Any]]]
# (path of the value in a file, key to show or "" when the error names it, the check)
Check = tuple[tuple[str, ...], str, Callable[[], object]]


def defining_file(files: FileModels, section: str, name: str, path: Sequence[str] = ()) -> str:
    """The last file whose ``section.name`` sets ``path`` (the one whose value won the merge)."""
    for filename, file_model in reversed(files):
        node: Any = (file_model.get(section) or {}).get(name)
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            return filename
    return files[-1][0]


def _service_checks(service: dict[str, Any]) -> list[Check]:
    """The checks for one merged long-form service."""
    deploy = service.get("deploy") or {}
    resources = deploy.get("resources") or {}
    checks: list[Check] = []
    for kind in ("limits", "reservations"):
        for key, parse in (("memory", parse_ram_bytes), ("cpus", parse_nano_cpus)):
            value = (resources.get(kind) or {}).get(key)
            if value is not None:
                path = ("deploy", "resources", kind, key)
                checks.append((path, ".".join(path), partial(parse, value)))
    checks += [
        (("deploy",), "", lambda: mode_spec(deploy)),
        (("restart",), "", lambda: restart_policy(deploy, service.get("restart"))),
        (("healthcheck",), "", lambda: healthcheck_spec(service.get("healthcheck"))),
        (("deploy", "update_config"), "", lambda: update_config(deploy.get("update_config"))),
        (("deploy", "rollback_config"), "", lambda: update_config(deploy.get("rollback_config"))),
    ]
    return checks


def check_translatable(model: dict[str, Any], files: FileModels) -> None:
    """Raise InvalidRequest ``FILE: services.NAME.KEY: why`` for the first value
    of the merged ``model`` that the translation to swarm specs would refuse."""
    for name, service in model["services"].items():
        for path, shown, check in _service_checks(service):
            try:
                check()
            except ValueError as exc:
                filename = defining_file(files, "services", name, path)
                where = f"services.{name}.{shown}" if shown else f"services.{name}"
                raise InvalidRequest(f"{filename}: {where}: {exc}") from None
