"""Parsers of setting values: each turns what a ``SPARKSWARM_*`` variable (a
string) or a keyword of :class:`sparkswarm.config.Settings` (a string or an
already typed value) holds into the setting's type, or raises ValueError with
the rule it broke. Pure functions, standard library only (pydantic's
``SecretStr`` once a secret is set): the CLI reads settings on every start.

The messages keep pydantic's wording ("Input should be greater than 0"),
which the settings used to be validated with; they never repeat the value
(``SPARKSWARM_REDIS_URL`` may hold a password), except endpoint names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from pydantic import SecretStr

T = TypeVar("T")
Parser = Callable[[object], T]

MANAGER_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")
# Both clients of the queue's Redis must understand the URL: kombu (Celery's
# broker), which takes any other scheme for another transport (a URL without
# one silently becomes amqp://guest@localhost), and redis-py (records, events).
REDIS_SCHEMES = ("redis", "rediss")
# A replicated Redis: the sentinels that know its current primary, as kombu's
# Sentinel transport takes them (``sentinel://h1:26379;sentinel://h2:26379``).
SENTINEL_SCHEME = "sentinel"
SENTINEL_PORT = 26379

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
# "1.0" and "3.000" are whole numbers (pydantic took them); "1e3" is not.
_WHOLE_DECIMAL = re.compile(r"\s*([+-]?\d(?:_?\d)*)\.0*\s*")


def boolean(value: object) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0``, ``t/f``, ``y/n`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def integer(*, gt: int | None = None, ge: int | None = None, le: int | None = None) -> Parser[int]:
    """A whole number (``5``, `` 5 ``, ``1_000``, ``1.0``) above ``gt`` / at
    least ``ge`` / at most ``le``."""

    def parse(value: object) -> int:
        number = _to_int(value)
        if gt is not None and number <= gt:
            raise ValueError(f"Input should be greater than {gt}")
        if ge is not None and number < ge:
            raise ValueError(f"Input should be greater than or equal to {ge}")
        if le is not None and number > le:
            raise ValueError(f"Input should be less than or equal to {le}")
        return number

    return parse


def _to_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii():
        try:
            return int(value)
        except ValueError:
            whole = _WHOLE_DECIMAL.fullmatch(value)
            if whole:
                return int(whole.group(1))
    raise ValueError("Input should be a valid integer, unable to parse string as an integer")


def seconds(value: object) -> float:
    """A duration: a number of seconds, finite and above 0 (``nan``, ``inf``,
    ``0`` and ``-1`` are refused: each would stall or spin a loop)."""
    number: float
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.isascii():
        try:
            number = float(value)
        except ValueError:
            raise ValueError(
                "Input should be a valid number, unable to parse string as a number"
            ) from None
    else:
        raise ValueError("Input should be a valid number, unable to parse string as a number")
    if not math.isfinite(number):
        raise ValueError("Input should be a finite number")
    if number <= 0:
        raise ValueError("Input should be greater than 0")
    return number


def text(*, min_length: int = 0) -> Parser[str]:
    """A string of at least ``min_length`` characters (kept as written)."""

    def parse(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")
        if len(value) < min_length:
            unit = "character" if min_length == 1 else "characters"
            raise ValueError(f"String should have at least {min_length} {unit}")
        return value

    return parse


def optional(parse: Parser[T]) -> Parser[T | None]:
    """``parse``, or None for None (a keyword left unset; variables are strings)."""

    def parse_optional(value: object) -> T | None:
        return None if value is None else parse(value)

    return parse_optional


def secret(value: object) -> SecretStr:
    """A pydantic :class:`~pydantic.SecretStr` (an empty variable is an empty
    secret, as before). pydantic is imported here, when a secret is set: most
    commands run without one."""
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    raise ValueError("Input should be a valid string")


def folder_or_unset(value: object) -> Path | None:
    """A path; empty or None: unset."""
    if value is None or value == "":
        return None
    if isinstance(value, (str, Path)):
        return Path(value)
    raise ValueError("Input should be a valid path")


def comma_list(value: object) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (not JSON); a list is kept as strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError("Input should be a comma-separated list")


def absolute_paths(value: object) -> list[str]:
    """``"/srv/data, /scratch"`` -> ``["/srv/data", "/scratch"]``; each path absolute."""
    paths = comma_list(value)
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"{path!r} is not an absolute path")
    return paths


def managers(value: object) -> list[str]:
    """Manager endpoints, comma separated, each with a known scheme and a
    well-formed host and port: a typo would otherwise look like an
    unreachable manager, or raise deep inside docker-py's urllib."""
    endpoints = comma_list(value)
    for endpoint in endpoints:
        if not endpoint.startswith(MANAGER_SCHEMES):
            raise ValueError(
                f"{endpoint!r} is not a manager endpoint: "
                "use unix:///path, tcp://host:port or ssh://user@host"
            )
        _check_endpoint(endpoint)
    return endpoints


def _check_endpoint(endpoint: str) -> None:
    """ValueError when a network endpoint has no host or a malformed host/port."""
    if endpoint.startswith(("unix://", "npipe://")):
        if not endpoint.partition("://")[2]:
            raise ValueError(f"{endpoint!r} has no socket path")
        return
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise ValueError(f"{endpoint!r} is not a valid endpoint: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{endpoint!r} has no host")


def redis_url(value: object) -> str | None:
    """A ``redis://`` or ``rediss://`` URL, or sentinels (``sentinel://host:port``
    joined by ``;``, see :func:`sentinel_url`), that both kombu and redis-py
    take; empty or None: unset. Messages never repeat the URL (it may hold a
    password)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    if is_sentinel(value):
        sentinel_url(value)
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - an unclosed "[" or a port like ":x" raise here
    except ValueError:
        raise ValueError("not a valid URL, expected redis://host:port/db") from None
    if parts.scheme not in REDIS_SCHEMES or not value.startswith(f"{parts.scheme}://"):
        raise ValueError(
            "expected redis://host:port/db, rediss://host:port/db "
            "or sentinel://host:port;sentinel://host2:port"
        )
    return value


def is_sentinel(url: str) -> bool:
    """True when ``url`` names sentinels rather than one Redis."""
    return url.startswith(f"{SENTINEL_SCHEME}://")


class SentinelURL(NamedTuple):
    """What a ``sentinel://`` URL names: the sentinels to ask for the current
    primary, and the credentials and database of that primary (given on the
    first sentinel, where kombu reads them)."""

    sentinels: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    db: int


def sentinel_url(url: str) -> SentinelURL:
    """Parse ``sentinel://[[user]:password@]host[:port][/db];sentinel://host2[:port];...``
    (port 26379 by default).

    Raises ValueError naming the sentinel (by position) and the rule it broke,
    never the URL: a part that is no ``sentinel://host:port``, a query (TLS
    through sentinels is not supported), credentials or a database on any
    but the first, a database that is not a number.
    """
    sentinels = []
    parts = url.split(";")
    for number, part in enumerate(parts, start=1):
        where = f"sentinel {number} of {len(parts)}"
        try:
            split = urlsplit(part)
            port = split.port
        except ValueError:
            raise ValueError(f"{where} is not a valid URL, expected sentinel://host:port") from None
        if not part.startswith(f"{SENTINEL_SCHEME}://") or not split.hostname:
            raise ValueError(
                f"{where}: expected sentinel://host:port (sentinels joined by ';', no spaces)"
            )
        if split.query or split.fragment:
            raise ValueError(f"{where}: sentinel URLs take no options (no TLS through sentinels)")
        if number > 1 and (split.username or split.password or split.path.strip("/")):
            raise ValueError(f"{where}: give the password and database on the first sentinel only")
        sentinels.append((split.hostname, port or SENTINEL_PORT))
    first = urlsplit(parts[0])
    db = first.path.strip("/") or "0"
    if not db.isdigit() or not db.isascii():
        raise ValueError("the database of a sentinel URL is a number (sentinel://host:port/0)")
    return SentinelURL(
        sentinels=tuple(sentinels),
        username=unquote(first.username) if first.username else None,
        password=unquote(first.password) if first.password is not None else None,
        db=int(db),
    )


def with_password(url: str, password: str) -> str:
    """``url`` (a parsed :func:`redis_url`) with ``password`` in it, percent-encoded
    (``redis://:p%40ss@host:6379/0``; with sentinels, in the first one: the
    password of the primary); unchanged when it already holds that one.

    Raises ValueError when the URL holds another password (never repeating either).
    """
    first, semicolon, rest = url.partition(";")
    parts = urlsplit(first)
    if parts.password is not None:
        if unquote(parts.password) == password:
            return url
        raise ValueError("SPARKSWARM_REDIS_URL already holds a password; give it once")
    user = quote(unquote(parts.username), safe="") if parts.username else ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    first = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return f"{first}{semicolon}{rest}"


def one_of(*choices: str) -> Parser[str]:
    """One of ``choices`` (any case, surrounding spaces ignored), lower-cased."""

    def parse(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise ValueError(f"Input should be one of {', '.join(choices)}")

    return parse
