"""The bot's one door to the request layer and the operation registry.

Chat text becomes command words (slash-command aliases expanded), the words
become a typed request through ``sparkswarm.requests.parse`` (the same parser
as the CLI and schedules), and what an operation needs in chat (role,
read-only, offered in chat, destructive) comes from the registry. Nothing
here executes anything. Raises InvalidRequest (usage text) for anything not
understood.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from sparkswarm.errors import InvalidRequest

# Slash commands other than /sparkswarm, as the words they stand for.
_SWARM_ALIASES: dict[str, tuple[str, ...]] = {
    "services": ("service", "ls"),
    "scale": ("service", "scale"),
    "ps": ("service", "ps"),
    "rollback": ("service", "rollback"),
    "nodes": ("node", "ls"),
    "stacks": ("stack", "ls"),
}
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_QUEUE_READS = frozenset({"runs.ls", "runs.show", "schedule.ls"})
MAX_TEXT = 2000


@dataclass(frozen=True)
class Policy:
    """What the bot must know about an operation before it submits it."""

    role: str
    read_only: bool
    chat: bool
    destructive: bool
    queue_read: bool


def words_of(command: str, text: str) -> list[str]:
    """The CLI words a chat text stands for.

    ``command`` is the slash command (``/sparkswarm``, ``/spark``, ``/swarm``)
    or ``""`` for an @mention or a direct message. InvalidRequest for
    unbalanced quotes or an overlong text.
    """
    if len(text) > MAX_TEXT:
        raise InvalidRequest(f"that is {len(text)} characters; a command is at most {MAX_TEXT}")
    text = _MENTION.sub(" ", text).replace("\u201c", '"').replace("\u201d", '"')
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidRequest(f"cannot split that into words: {exc}") from None
    if command == "/spark":
        return ["spark", *words]
    if command == "/swarm" and words and words[0] in _SWARM_ALIASES:
        return [*_SWARM_ALIASES[words[0]], *words[1:]]
    if not command and words and words[0] == "sparkswarm":
        return words[1:]
    return words


def parse(words: list[str]) -> Any:
    """The typed request for ``words`` (``sparkswarm.requests.Request``).
    InvalidRequest with the closest command's usage when not understood."""
    return _requests().parse(words)


def usage(words: tuple[str, ...] = ()) -> str:
    """Plain-text usage of ``words`` (all commands for none)."""
    text: str = _requests().usage(words)
    return text


def policy(op_name: str, params: dict[str, Any]) -> Policy:
    """Role, read-only, chat and destructiveness of ``op_name`` from the registry."""
    if op_name in _QUEUE_READS:
        return Policy("viewer", True, True, False, True)
    op: Any = _get_operation(op_name)
    return Policy(
        role=str(op.role),
        read_only=bool(op.read_only),
        chat=bool(op.chat) and not bool(getattr(op, "local", False)),
        destructive=bool(op.is_destructive(params)),
        queue_read=False,
    )


def chat_commands() -> list[tuple[str, str]]:
    """(operation name, role) of every operation offered in chat, sorted."""
    from sparkswarm.operations import REGISTRY

    out = []
    for name in sorted(REGISTRY):
        op: Any = REGISTRY[name]
        if getattr(op, "chat", False) and not op.local and hasattr(op, "role"):
            out.append((name, str(op.role)))
    return out + [(name, "viewer") for name in sorted(_QUEUE_READS)]


def _requests() -> Any:
    import importlib

    try:
        return importlib.import_module("sparkswarm.requests")
    except ImportError:  # until the request layer lands (issue #7)
        return importlib.import_module("sparkswarm.bots._interim")


def _get_operation(name: str) -> Any:
    from sparkswarm.operations import REGISTRY, get_operation

    if name in REGISTRY and hasattr(REGISTRY[name], "role"):
        return get_operation(name)
    from sparkswarm.bots._interim import get_operation as interim  # until issue #7 lands

    return interim(name)
