"""``spark submit`` words -> the JSON params of ``spark.submit`` (pure but for reading files).

What a job takes with it (script, ``--files``, ``--py-files``) is read here,
on the submitting side, and travels base64-encoded in the params, so a
queue worker (or a schedule, or the bot) needs nothing from this disk. Each
file becomes a swarm config, which the engine caps at 500 KB: bigger data
belongs on a volume (see stacks/spark/README.md).

A script given by name (``pi``) comes from the catalogue,
``stacks/spark/jobs/<name>.py``; a line ``# sparkswarm-files: a.txt b.csv``
in it names the catalogue files that travel with it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sparkswarm.errors import InvalidRequest
from sparkswarm.limits import check_number
from sparkswarm.spark.job_spec import validate_conf, validate_script

CONFIG_LIMIT = 500 * 1024
"""The engine's limit on one swarm config (bytes): each input file is one."""

_FILES_LINE = re.compile(r"^#\s*sparkswarm-files:\s*(.+)$", re.MULTILINE)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_MEMORY = re.compile(r"^([1-9][0-9]*)([kmgt])b?$", re.IGNORECASE)
_CATALOGUE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def catalogue_dir() -> Path:
    """``<stacks dir>/spark/jobs`` (the repository's own when that has none)."""
    from sparkswarm.stacks.params import stacks_dir

    configured = stacks_dir() / "spark" / "jobs"
    if configured.is_dir():
        return configured
    return Path(__file__).resolve().parents[3] / "stacks" / "spark" / "jobs"


def catalogue(folder: Path | None = None) -> list[str]:
    """Names of the catalogue's jobs (``pi``, ``wordcount``, ...)."""
    folder = folder or catalogue_dir()
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def memory_mb(text: str) -> int:
    """``512m`` / ``2g`` / ``1024k`` -> MiB; InvalidRequest for anything else."""
    match = _MEMORY.match(text.strip())
    if not match:
        raise InvalidRequest(f"invalid memory {text!r}: a number with k, m, g or t (512m, 2g)")
    number, unit = int(match.group(1)), match.group(2).lower()
    factor = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[unit]
    mb = int(number * factor)
    if mb < 1:
        raise InvalidRequest(f"memory {text!r} is less than 1 MiB")
    return mb


def parse_conf(pairs: Sequence[str]) -> dict[str, str]:
    """``["spark.x=1", ...]`` -> a dict of Spark conf a job may set; InvalidRequest."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--conf {pair!r}: expected key=value")
        conf[key.strip()] = value
    return validate_conf(conf)


def encode_file(name: str, data: bytes) -> dict[str, str]:
    """One input file as it travels in the params; InvalidRequest if too big or badly named."""
    if not _FILE_NAME.match(name):
        raise InvalidRequest(f"invalid file name {name!r}: letters, digits, . _ - (100 at most)")
    if len(data) > CONFIG_LIMIT:
        raise InvalidRequest(
            f"{name} is {len(data) // 1024} KiB; files travel as swarm configs of at most "
            f"{CONFIG_LIMIT // 1024} KiB: put bigger data on a volume (stacks/spark/README.md)"
        )
    return {"name": name, "data": base64.b64encode(data).decode()}


def decode_file(entry: dict[str, str]) -> bytes:
    """The bytes of an encoded file (InvalidRequest if it is not base64)."""
    try:
        return base64.b64decode(entry["data"], validate=True)
    except (KeyError, ValueError) as exc:
        raise InvalidRequest(f"file {entry.get('name')!r} is not valid base64 data") from exc


Reader = Callable[[Path, str], bytes]
"""Reads a file the user named (path, what it is for); the request layer's
reader also refuses where files of this host may not be named (chat)."""


def read_local(path: Path, what: str) -> bytes:
    """The bytes of ``path`` (InvalidRequest if it cannot be read or is too big)."""
    try:
        if path.stat().st_size > CONFIG_LIMIT:
            raise InvalidRequest(
                f"{what} {path.name} is {path.stat().st_size // 1024} KiB; files travel as "
                f"swarm configs of at most {CONFIG_LIMIT // 1024} KiB: put bigger data on a "
                "volume (stacks/spark/README.md)"
            )
        return path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"{what} {path}: cannot read: {exc.strerror or exc}") from None


def resolve_script(target: str, folder: Path | None = None) -> tuple[Path, bool]:
    """FILE or catalogue NAME -> (the script's path, whether it is from the catalogue)."""
    path = Path(target)
    if path.suffix == ".py" or "/" in target:
        return path, False
    folder = folder or catalogue_dir()
    if _CATALOGUE_NAME.match(target) and (folder / f"{target}.py").is_file():
        return folder / f"{target}.py", True
    known = ", ".join(catalogue(folder)) or "none"
    raise InvalidRequest(f"{target!r} is neither a file nor a catalogue job (catalogue: {known})")


def catalogue_files(script: str) -> list[str]:
    """The file names a ``# sparkswarm-files:`` line of ``script`` names."""
    names: list[str] = []
    for match in _FILES_LINE.finditer(script):
        names += match.group(1).split()
    return names


def _split_list(values: Sequence[str]) -> list[str]:
    """``--files a,b --files c`` -> ``[a, b, c]``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def build_submit_params(
    target: str,
    args: Sequence[str] = (),
    *,
    stack: str = "spark",
    name: str | None = None,
    executor_memory: str | None = None,
    total_executor_cores: int | None = None,
    conf: Sequence[str] = (),
    py_files: Sequence[str] = (),
    files: Sequence[str] = (),
    image: str | None = None,
    job_id: str | None = None,
    folder: Path | None = None,
    read: Reader = read_local,
) -> dict[str, Any]:
    """The params of ``spark.submit`` for ``spark submit TARGET ARGS... [options]``.

    Reads the script and the files it takes (a catalogue's own with
    ``read_local``, the user's with ``read``); raises InvalidRequest for a
    missing or unreadable file, a file above the config limit, bad conf,
    memory or cores. Never talks to the engine.
    """
    path, from_catalogue = resolve_script(target, folder)
    raw = read_local(path, "script") if from_catalogue else read(path, "script")
    try:
        script = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path}: not UTF-8 text") from None
    validate_script(script, path.name)
    if executor_memory is not None:
        memory_mb(executor_memory)
    check_number("--total-executor-cores", total_executor_cores)
    if name is not None and not _FILE_NAME.match(name):
        raise InvalidRequest(f"invalid job name {name!r}: letters, digits, . _ -")
    bundled = [path.parent / n for n in catalogue_files(script)] if from_catalogue else []
    encoded_files = [encode_file(p.name, read_local(p, "file")) for p in bundled]
    encoded_files += [
        encode_file(p.name, read(p, "--files")) for p in map(Path, _split_list(files))
    ]
    encoded_py = [
        encode_file(p.name, read(p, "--py-files")) for p in map(Path, _split_list(py_files))
    ]
    names = [path.name] + [f["name"] for f in encoded_files + encoded_py]
    if len(set(names)) != len(names):
        raise InvalidRequest(f"two files with the same name among {', '.join(names)}")
    return {
        "stack": stack,
        "script": script,
        "script_name": path.name,
        "args": [str(a) for a in args],
        "name": name,
        "conf": parse_conf(conf),
        "files": encoded_files,
        "py_files": encoded_py,
        "executor_memory": executor_memory,
        "total_executor_cores": total_executor_cores,
        "image": image,
        # None: the operation derives it from its run id, so a retried run
        # finds its job again and every firing of a schedule gets a new one.
        "job_id": job_id,
    }
