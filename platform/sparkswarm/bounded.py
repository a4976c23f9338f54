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
import functools
import io
import os
import stat
from typing import Any

from sparkswarm.errors import InvalidRequest

MiB = 1024 * 1024
# A compose or params file: real ones are a few KiB; 1 MiB is generous.
MAX_YAML_BYTES = 1 * MiB
# Values after alias expansion: a 50-service file has a few thousand. Walking
# 50,000 takes well under a second.
MAX_YAML_VALUES = 50_000


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of regular file ``path``, never more than ``limit``.

    Anything else is refused before a byte is read: opening a FIFO for
    reading waits for a writer (``stack deploy`` hung for ever on one), and
    devices never end. The file is opened without blocking and checked on
    the open descriptor, so a FIFO swapped in after a check cannot hang it.
    A file larger than ``limit`` is refused without being read, and the read
    stops at ``limit + 1`` bytes whatever the size said. Raises OSError
    (EFBIG when too large, EINVAL when not a regular file), as ``open`` would.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise OSError(errno.EISDIR, "Is a directory")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_file_kind(mode)})")
        size = os.fstat(fd).st_size
        if size > limit:
            raise OSError(errno.EFBIG, f"{_size(size)}, over the limit of {_size(limit)}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than the limit of {_size(limit)}")
    return data


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


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


@functools.cache
def _safe_loader() -> Any:
    """The safe loader (libyaml's when present: the same safe types, several
    times faster) refusing a key given twice in one mapping.

    YAML says keys are unique, but PyYAML keeps the last value silently: a
    second ``services.web`` would replace the first unseen. The message is
    docker stack config's: ``mapping key "web" already defined at line N``.
    Keys brought in by a merge (``<<: *defaults``) may be overridden.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode
                ):
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f'mapping key "{key}" already defined at line {seen[key]}',
                        key_node.start_mark,
                    )
                seen[key] = line
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


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
