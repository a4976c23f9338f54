"""Reading files and YAML that may be hostile, within bounds.

Two ways a file could hurt a process that reads it: its size
(``spark submit /dev/zero`` was OOM-killed at 22.9 GB because the file was
read whole before its size was checked), and YAML aliases (a "billion
laughs" document, nested anchors, is a few hundred bytes that expand to
10^9 values; every later walk over the tree then runs for ever). Here the
size is checked before reading and the read itself stops at the bound, and
a YAML document is refused when it expands to more than
:data:`MAX_YAML_VALUES` values, before anything walks it.

Every refusal is an InvalidRequest naming the file.
"""

from __future__ import annotations

import errno
import io
import os
from typing import Any

from sparkswarm.errors import InvalidRequest

MiB = 1024 * 1024
# A compose or params file: real ones are a few KiB; 1 MiB is generous.
MAX_YAML_BYTES = 1 * MiB
# Values after alias expansion: a 50-service file has a few thousand. Walking
# 50,000 takes well under a second.
MAX_YAML_VALUES = 50_000


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of ``path``, never more than ``limit``.

    A regular file larger than ``limit`` is refused without being read;
    devices and pipes report no size, so the read stops at ``limit + 1``
    bytes either way. Raises OSError (EFBIG when too large), as ``open`` would.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise OSError(errno.EFBIG, f"{_size(size)}, over the limit of {_size(limit)}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than the limit of {_size(limit)}")
    return data


def read_bounded(path: str, limit: int, what: str) -> bytes:
    """:func:`read_limited`, its OSError turned into an InvalidRequest.

    The message is ``what``, the path and the reason (missing, a folder,
    unreadable, too large) on one line.
    """
    try:
        return read_limited(path, limit)
    except OSError as exc:
        raise InvalidRequest(f"{what} {path}: {reason(exc)}") from None


def reason(exc: OSError) -> str:
    """Why ``exc`` happened, without the path Python's own text repeats."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def read_text_bounded(path: str, limit: int, what: str) -> str:
    """:func:`read_bounded` decoded as UTF-8 (InvalidRequest if it is not text)."""
    data = read_bounded(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{what} {path} is not UTF-8 text") from None


def _size(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB else f"{size / 1024:.0f} KiB"


def load_yaml(text: str, filename: str) -> Any:
    """The data of one YAML document (safe types only), within the bounds above.

    Errors name ``filename`` and the line on one line (PyYAML's own message
    says ``in "<unicode string>"`` and spans several lines). Raises
    InvalidRequest for invalid YAML, a document larger than
    :data:`MAX_YAML_BYTES`, or one that expands to more than
    :data:`MAX_YAML_VALUES` values.
    """
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise InvalidRequest(f"{filename}: larger than the limit of {_size(MAX_YAML_BYTES)}")
    stream = io.StringIO(text)
    stream.name = filename  # PyYAML names the stream in its marks
    try:
        data = yaml.load(stream, Loader=_safe_loader())
    except yaml.MarkedYAMLError as exc:
        raise InvalidRequest(f"{filename}: invalid YAML: {_describe(exc)}") from None
    except yaml.YAMLError as exc:
        raise InvalidRequest(f"{filename}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InvalidRequest(f"{filename}: invalid YAML: nested too deeply") from None
    expanded_size(data, filename)
    return data


def _safe_loader() -> Any:
    import yaml

    # libyaml's loader when present: the same safe types, in C.
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _describe(exc: Any) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    parts = [part for part in (exc.context, exc.problem) if part]
    return where + (", ".join(parts) or "cannot be parsed")


def expanded_size(data: Any, filename: str, limit: int = MAX_YAML_VALUES) -> int:
    """How many values ``data`` holds with every alias expanded; InvalidRequest above ``limit``.

    Aliases make the parsed data a graph that shares objects; the count is
    computed once per shared object, so a billion-laughs document is
    measured in microseconds instead of expanded. A recursive alias is
    refused too.
    """
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def measure(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in open_ids:
            raise InvalidRequest(f"{filename}: a YAML alias refers to itself (recursive anchor)")
        open_ids.add(key)
        items = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
        total = 1
        for item in items:
            total += measure(item)
            if total > limit:
                raise InvalidRequest(
                    f"{filename}: more than {limit} values once YAML aliases are expanded "
                    '(nested anchors, a "billion laughs" document?)'
                )
        open_ids.discard(key)
        sizes[key] = total
        return total

    try:
        return measure(data)
    except RecursionError:
        raise InvalidRequest(f"{filename}: invalid YAML: nested too deeply") from None
