"""Ready-made stacks (``stacks/<name>/stack.yml``) and their parameters.

Each ready-made stack declares its parameters next to its file, in
``stacks/<name>/params.yml``::

    params:
      workers: {default: 2, help: "number of Spark worker replicas"}

The stack file refers to them as interpolation variables (``${workers}``).
Values come, lowest first, from the declared defaults, the environment, and
``--set key=value``. A file with no ``params.yml`` beside it takes any
``--set`` key as a variable. A parameter of ``type: bool`` takes true/false
(yes/no, on/off, 1/0) only.

``overlays`` in ``params.yml`` are files beside the stack file that are
deployed with it when parameters are on (``{file: connect.yml, when:
[connect]}``): the way a parameter adds services (compose has no
conditional services). ``generated_secrets`` entries may have a ``when``
too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from sparkswarm.bounded import MAX_YAML_BYTES, load_yaml, read_text_bounded
from sparkswarm.config import get_settings
from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.stacks.compose_normalise import go_string

STACK_FILE = "stack.yml"
PARAMS_FILE = "params.yml"


class StackParam(NamedTuple):
    """One declared parameter."""

    name: str
    default: str | None
    help: str
    kind: str = ""


def stacks_dir() -> Path:
    """The folder of ready-made stacks: the ``stacks_dir`` setting
    (``SPARKSWARM_STACKS_DIR``), or else the stacks shipped in the package.

    Raises InvalidRequest when the settings are malformed, NotFound when the
    package has no stacks (see :func:`packaged_stacks_dir`).
    """
    configured = get_settings().stacks_dir
    return configured if configured is not None else packaged_stacks_dir()


def packaged_stacks_dir() -> Path:
    """The package's own ready-made stacks: ``stacks/`` of the source tree,
    installed as the data package ``sparkswarm.stacks_data`` (pyproject.toml
    maps it; an editable install maps it back to the checkout's folder).

    Raises NotFound when the package was installed without them (an editable
    install made before they were packaged: reinstall).
    """
    import importlib

    try:
        data = importlib.import_module("sparkswarm.stacks_data")
    except ModuleNotFoundError:
        raise NotFound(
            "the ready-made stacks are not installed with sparkswarm: reinstall it "
            "(pip install -e . in a checkout) or set SPARKSWARM_STACKS_DIR"
        ) from None
    return Path(str(data.__file__)).parent


def ready_made_stacks() -> list[str]:
    """Names of the folders under :func:`stacks_dir` that hold a ``stack.yml``."""
    root = stacks_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / STACK_FILE).is_file())


def ready_made_file(name: str) -> Path:
    """``stacks/<name>/stack.yml``; NotFound listing the known stacks."""
    path = stacks_dir() / name / STACK_FILE
    if not path.is_file():
        known = ", ".join(ready_made_stacks()) or "none"
        where = ""
        if get_settings().stacks_dir is not None:
            where = f" in {stacks_dir()} (set by SPARKSWARM_STACKS_DIR)"
        raise NotFound(f"no ready-made stack {name!r}{where}; known: {known}; give files with -c")
    return path


def declared_params(stack_file: Path) -> dict[str, StackParam] | None:
    """The parameters declared beside ``stack_file``, or None when it declares none."""
    path = stack_file.parent / PARAMS_FILE
    if not path.is_file():
        return None
    data = _load(path) or {}
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise InvalidRequest(f"{path}: expected a mapping under 'params'")
    result = {}
    for key, spec in params.items():
        spec = spec if isinstance(spec, dict) else {"default": spec}
        default = spec.get("default")
        result[str(key)] = StackParam(
            str(key),
            None if default is None else go_string(default),
            str(spec.get("help", "")),
            str(spec.get("type", "")),
        )
    return result


def _load(path: Path) -> Any:
    """A params.yml, read and parsed within bounds (it sits in the user's folder)."""
    return load_yaml(read_text_bounded(str(path), MAX_YAML_BYTES, "params file"), str(path))


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; InvalidRequest on a pair without '='."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--set {pair!r}: expected key=value")
        result[key] = value
    return result


def interpolation_env(
    stack_file: Path, sets: dict[str, str], environ: dict[str, str] | None = None
) -> dict[str, str]:
    """The variables to load ``stack_file`` with: defaults < environment < ``--set``.

    Raises InvalidRequest for a ``--set`` key the stack does not declare.
    """
    environ = dict(os.environ if environ is None else environ)
    declared = declared_params(stack_file)
    if declared is None:
        return {**environ, **sets}
    unknown = sorted(set(sets) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise InvalidRequest(f"unknown parameter(s) {', '.join(unknown)}; known: {known}")
    for key, value in sets.items():
        if declared[key].kind == "bool" and value.strip().lower() not in _ON | _OFF:
            raise InvalidRequest(f"--set {key}={value!r}: expected true or false")
    defaults = {k: p.default for k, p in declared.items() if p.default is not None}
    return {**defaults, **environ, **sets}


_ON = {"true", "yes", "on", "1"}
_OFF = {"false", "no", "off", "0", ""}


def is_on(value: str | None) -> bool:
    """Whether a parameter's value turns something on: not unset, empty,
    ``0``, ``false``, ``no`` or ``off`` (any case)."""
    return value is not None and value.strip().lower() not in _OFF


def _conditions_hold(entry: dict[str, Any], env: dict[str, str]) -> bool:
    when = entry.get("when") or []
    names = [when] if isinstance(when, str) else list(when)
    return all(is_on(env.get(str(name))) for name in names)


def overlay_files(stack_file: Path, env: dict[str, str]) -> list[Path]:
    """The overlay files declared beside ``stack_file`` whose ``when``
    parameters are all on in ``env``, in declared order.

    Raises InvalidRequest for a malformed entry or a file that is missing.
    """
    path = stack_file.parent / PARAMS_FILE
    if not path.is_file():
        return []
    data = _load(path) or {}
    entries = data.get("overlays") if isinstance(data, dict) else None
    result = []
    for entry in entries or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise InvalidRequest(f"{path}: each overlay needs a file")
        if not _conditions_hold(entry, env):
            continue
        overlay = stack_file.parent / entry["file"]
        if overlay.parent != stack_file.parent or not overlay.is_file():
            raise InvalidRequest(f"{path}: overlay {entry['file']!r} is not a file beside it")
        result.append(overlay)
    return result


def stack_paths(paths: list[Path], env: dict[str, str]) -> list[Path]:
    """``paths`` with the first file's overlays that ``env`` turns on right
    after it (files given after it still win over them)."""
    return [paths[0], *overlay_files(paths[0], env), *paths[1:]]


def secrets_to_generate(stack_file: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """``[{name, bytes}]``: the external secrets the deployer creates when
    missing, for the ``generated_secrets`` whose parameter is declared and
    set in ``env`` and whose ``when`` holds."""
    declared = declared_params(stack_file) or {}
    return [
        {"name": env[entry["param"]], "bytes": int(entry.get("bytes", 32))}
        for entry in generated_secrets(stack_file)
        if entry["param"] in declared and env.get(entry["param"]) and _conditions_hold(entry, env)
    ]


def generated_secrets(stack_file: Path) -> list[dict[str, Any]]:
    """``generated_secrets`` entries of the ``params.yml`` beside ``stack_file``.

    Each names a parameter whose value is an external swarm secret that the
    deployer creates with random content when it does not exist yet.
    """
    path = stack_file.parent / PARAMS_FILE
    if not path.is_file():
        return []
    data = _load(path) or {}
    entries = data.get("generated_secrets") if isinstance(data, dict) else None
    return [e for e in entries or [] if isinstance(e, dict) and e.get("param")]
