"""The bot's one door to the request layer and the operation registry.

Chat text becomes command words (Slack's markup and entities decoded,
slash-command aliases expanded), the words
become a typed request through ``sparkswarm.requests.parse`` (the same parser
as the CLI and schedules), and what an operation needs in chat (role,
read-only, offered in chat, destructive) comes from the registry. Nothing
here executes anything. Raises InvalidRequest (usage text) for anything not
understood.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest

if TYPE_CHECKING:
    from sparkswarm.requests import Request

# Slash commands other than /sparkswarm, as the words they stand for.
_SWARM_ALIASES: dict[str, tuple[str, ...]] = {
    "services": ("service", "ls"),
    "scale": ("service", "scale"),
    "ps": ("service", "ps"),
    "rollback": ("service", "rollback"),
    "nodes": ("node", "ls"),
    "stacks": ("stack", "ls"),
}
# Slack sends what a user typed with ``&``, ``<``, ``>`` as entities, and
# mentions, channels and links as ``<...>`` markup: every ``<`` in the text
# starts markup, a ``<`` the user typed arrives as ``&lt;``.
_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
# `spark sql [--stack S] STATEMENT`: the statement is the rest of the text as
# typed (shell-style splitting would eat the quotes of its string literals).
_SQL = re.compile(
    r"^\s*(?:sparkswarm\s+)?spark\s+sql(?:\s+(?:--stack|-s)(?:\s+|=)(?P<stack>\S+))?"
    r"(?:\s+(?P<statement>.*))?$",
    re.S,
)
_LEADING_MENTIONS = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^<>]*)?>\s*)+")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Policy:
    """What the bot must know about an operation before it submits it."""

    role: str
    read_only: bool
    chat: bool
    destructive: bool
    queue_read: bool
    hazards: tuple[str, ...] = ()  # what the request reaches or breaks, said when asking


def words_of(command: str, text: str) -> list[str]:
    """The CLI words a chat text stands for.

    ``command`` is the slash command (``/sparkswarm``, ``/spark``, ``/swarm``)
    or ``""`` for an @mention or a direct message (the mention of the bot
    that starts it is dropped). ``text`` is as Slack sends it: see
    :func:`decode`. InvalidRequest for unbalanced quotes, an overlong text or
    a special mention (``@here``) among the words.
    """
    if len(text) > MAX_TEXT:
        raise InvalidRequest(f"that is {len(text)} characters; a command is at most {MAX_TEXT}")
    if not command:
        text = _LEADING_MENTIONS.sub(" ", text)
    text = decode(text).replace("\u201c", '"').replace("\u201d", '"')
    sql = _SQL.match(("spark " if command == "/spark" else "") + text)
    if sql is not None and command in ("/spark", "/sparkswarm", ""):
        stack = ["--stack", sql["stack"]] if sql["stack"] else []
        return ["spark", "sql", *stack, "--", (sql["statement"] or "").strip()]
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


def decode(text: str) -> str:
    """What the user typed, from Slack's encoding of it: a user mention
    (``<@U123|name>``) becomes the id ``U123``, a channel (``<#C123|name>``)
    ``C123``, a link (``<https://x|x>``) its address, and ``&lt;``, ``&gt;``,
    ``&amp;`` the characters they stand for. InvalidRequest for a special
    mention (``<!here>``, ``<!channel>``, a user group): never a command word."""

    def markup(match: re.Match[str]) -> str:
        inner = match.group(1)
        target = inner.partition("|")[0]
        if target[:1] in ("@", "#"):
            return target[1:]
        if target[:1] == "!":
            raise InvalidRequest(
                "a special mention (@here, @channel, a user group) cannot be part of a command"
            )
        return target

    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], _MARKUP.sub(markup, text))


def parse(words: list[str], attached: Mapping[str, bytes] | None = None) -> Request:
    """The typed request for ``words``, as chat may ask for it: files of the
    bot's host cannot be named (ready-made jobs and stacks only), files
    ``attached`` to the message can, by name. InvalidRequest with the
    closest command's usage when not understood."""
    from sparkswarm.requests import parse as parse_words

    return parse_words(words, allow_files=False, attached=attached)


def policy(op_name: str, params: dict[str, Any]) -> Policy:
    """Role, read-only, chat and destructiveness of ``op_name`` with ``params``,
    from the registry's per-request verdict (host bind mounts need admin, a
    deploy to 0 workers asks first, ...; see :mod:`sparkswarm.hazards`)."""
    from sparkswarm.operations import get_operation

    op = get_operation(op_name)
    return Policy(
        role=op.role_for(params),
        read_only=op.read_only,
        chat=op.chat and not op.local,
        destructive=op.is_destructive(params),
        queue_read=op.executor == "queue",
        hazards=tuple(op.hazards(params)),
    )


def chat_commands() -> list[tuple[str, str]]:
    """(command words, role needed) of every command offered in chat."""
    from sparkswarm.operations import get_operation
    from sparkswarm.requests import GROUPS, usage

    usage()  # loads the command groups
    out: list[tuple[str, str]] = []
    for group in GROUPS.values():
        for name, op_name in sorted(group.ops.items()):
            op = get_operation(op_name)
            if op.chat and not op.local:
                out.append((f"{group.name} {name}", op.role))
    return out
