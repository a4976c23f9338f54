"""Merging several compose files in order, as ``docker stack deploy -c a -c b`` does.

Rules (docker/cli ``loader/merge.go``), applied to long-form files:

- top-level ``networks``/``volumes``/``secrets``/``configs``: a later entry
  replaces the earlier one of the same name;
- a service defined again is merged into the earlier one: mappings merge key
  by key (recursively), ``ports`` merge by value, ``secrets``/``configs`` by
  ``source``, ``volumes`` by ``target``, ``command``/``entrypoint`` are
  replaced, other lists are appended to, and a scalar replaces the earlier one.
"""

from __future__ import annotations

import copy
from typing import Any

_KEYED_LISTS = {"secrets": "source", "configs": "source", "volumes": "target"}
_REPLACED = ("command", "entrypoint")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _merge_value(key: str, base: Any, override: Any) -> Any:
    if override is None:
        return base
    if key in _REPLACED:
        return override if override else base
    if key == "ports" and isinstance(base, list):
        merged = {_freeze(p): p for p in base}
        merged.update({_freeze(p): p for p in override})
        return sorted(merged.values(), key=lambda p: p.get("published") or 0)
    if key in _KEYED_LISTS and isinstance(base, list):
        field = _KEYED_LISTS[key]
        by_key = {item.get(field): item for item in base}
        by_key.update({item.get(field): item for item in override})
        return [by_key[k] for k in sorted(by_key, key=lambda k: str(k))]
    if isinstance(base, dict) and isinstance(override, dict):
        return merge_mappings(base, override)
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def merge_mappings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in by the service rules above."""
    result = dict(base)
    for key, value in override.items():
        result[key] = _merge_value(key, result[key], value) if key in result else value
    return result


def merge_files(files: list[dict[str, Any]]) -> dict[str, Any]:
    """One stack model from long-form file models, later files winning."""
    merged: dict[str, Any] = copy.deepcopy(files[0])
    for override in files[1:]:
        for section in ("networks", "volumes", "secrets", "configs"):
            merged.setdefault(section, {}).update(copy.deepcopy(override.get(section, {})))
        services = merged.setdefault("services", {})
        for name, service in override.get("services", {}).items():
            service = copy.deepcopy(service)
            services[name] = (
                merge_mappings(services[name], service) if name in services else service
            )
    return merged
