r"""Read a ``.env`` file as python-dotenv's ``dotenv_values`` did for the
settings (pydantic-settings used it; the two cost ~40 ms of imports per start).

The syntax, line by line::

    # a comment
    export NAME=value          # "export " is optional; a trailing " # ..." is a comment
    NAME = value               # blanks around "=" are dropped
    NAME='literal \' quote'    # single quotes: only \\ and \' are escapes
    NAME="a\nb"                # double quotes: \n \t \" ... escapes; may span lines
    NAME=${OTHER:-default}     # in any value: ${VAR} and ${VAR:-default}, from earlier
                               # lines or else the environment
    NAME                       # no "=": unset

A line that does not parse is skipped, as python-dotenv skips it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_BLANKS = r"[^\S\r\n]*"
# The steps of a line, tried in order from where the previous one stopped;
# a step that does not match makes the line malformed.
_LEADING = re.compile(r"\s*")
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_QUOTED_KEY = re.compile(r"'([^']+)'")
_KEY = re.compile(r"([^=#\s]+)")
_SPACES = re.compile(_BLANKS)
_EQUALS = re.compile(rf"={_BLANKS}")
_SINGLE = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_BARE = re.compile(r"([^\r\n]*)")
_COMMENT = re.compile(rf"(?:{_BLANKS}#[^\r\n]*)?")
_END_OF_LINE = re.compile(rf"{_BLANKS}(?:\r\n|\n|\r|$)")
_REST_OF_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")
_ESCAPED = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")


class _Malformed(Exception):
    """A step did not match: skip the rest of the line."""


class _Reader:
    def __init__(self, content: str) -> None:
        self.content = content
        self.position = 0

    def peek(self) -> str:
        return self.content[self.position : self.position + 1]

    def read(self, step: re.Pattern[str]) -> re.Match[str]:
        found = step.match(self.content, self.position)
        if found is None:
            raise _Malformed
        self.position = found.end()
        return found


def parse_dotenv(content: str, environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each ``NAME`` of ``content`` (a ``.env`` file's text) with its value,
    ``${VAR}`` expanded from earlier names or ``environ``; None for a bare
    ``NAME``. Never raises: a malformed line is skipped."""
    values: dict[str, str | None] = {}
    reader = _Reader(content.removeprefix("\ufeff"))
    while reader.position < len(reader.content):
        try:
            binding = _binding(reader)
        except _Malformed:
            reader.read(_REST_OF_LINE)
            continue
        if binding is not None:
            key, value = binding
            values[key] = _expand(value, {**environ, **values})
    return values


def _binding(reader: _Reader) -> tuple[str, str | None] | None:
    """The next ``(NAME, value)``; None at the end or for a comment line."""
    reader.read(_LEADING)
    if reader.position >= len(reader.content):
        return None
    reader.read(_EXPORT)
    key = None
    if reader.peek() == "'":
        key = reader.read(_QUOTED_KEY)[1]
    elif reader.peek() != "#":
        key = reader.read(_KEY)[1]
    reader.read(_SPACES)
    value = None
    if reader.peek() == "=":
        equals = reader.read(_EQUALS)[0]
        # "NAME= # note" is empty; "NAME=#x" is "#x".
        value = "" if len(equals) > 1 and reader.peek() == "#" else _value(reader)
    reader.read(_COMMENT)
    reader.read(_END_OF_LINE)
    return None if key is None else (key, value)


def _value(reader: _Reader) -> str:
    first = reader.peek()
    if first == "'":
        return _SINGLE_ESCAPES.sub(lambda m: m[0][1], reader.read(_SINGLE)[1])
    if first == '"':
        escaped = reader.read(_DOUBLE)[1]
        return _DOUBLE_ESCAPES.sub(lambda m: _ESCAPED.get(m[0][1], m[0][1]), escaped)
    if first in ("", "\n", "\r"):
        return ""
    # "NAME=a # note" is "a".
    return re.sub(r"\s+#.*", "", reader.read(_BARE)[1]).rstrip()


def _expand(value: str | None, known: Mapping[str, str | None]) -> str | None:
    if value is None:
        return None

    def lookup(variable: re.Match[str]) -> str:
        found = known.get(variable["name"], variable["default"] or "")
        return found if found is not None else ""

    return _VARIABLE.sub(lookup, value)
