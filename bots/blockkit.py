"""Slack's text rules and Block Kit's limits, for everything the bot writes. Pure.

Every block and view the bot sends is built with slack_sdk's Block Kit
models (``slack_sdk.models.blocks``, ``slack_sdk.models.views``) and sent as
their ``to_dict()``: the models check Block Kit's limits (a section's 3,000
characters, ten fields, a header's 150, a button's 75, a view's 100 blocks,
...) and raise rather than let Slack refuse a whole message. The builders
here are for blocks that carry text from the swarm, a user or a job.

Slack reads ``<...>`` in message text and mrkdwn as markup (``<!channel>``
pings everybody, ``<https://x|click me>`` is a link), so every such text goes
through :func:`escape` (``&``, ``<``, ``>``, as Slack's "escaping text" rules
ask; slack_sdk has no such function). The only ``<...>`` the bot sends are
its own mentions (:func:`mention`). :func:`code` keeps a backtick in the
words from closing an inline code span.

Nothing is cut silently: :func:`shorten` ends a cut with an ellipsis,
:func:`bounded` also says how much was left out and where to read it, and
:func:`reply` sends the whole answer as a file when its blocks show only part
of it (a ``CUT`` note).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SECTION_TEXT = 3000  # a section's text
FIELD_TEXT = 2000  # each of a section's fields (slack_sdk's models do not check it)
FIELDS = 10  # fields per section
HEADER_TEXT = 150  # a header's plain_text
MESSAGE_BLOCKS = 50  # blocks in a message (no slack_sdk model holds a message)
VIEW_BLOCKS = 100  # blocks in a modal or App Home view
MESSAGE_TEXT = 40000  # a message's top-level text
LINE = 500  # a line of a code block, at most
ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TO_ESCAPE = re.compile("[&<>]")
# A backtick inside an inline code span would end it; this look-alike does not.
_TICK = "\u02cb"
_NO_FENCE = "'''"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
Block = dict[str, Any]
# The block_id of a note that says the blocks show only part of an answer
# (the whole of it then goes up as a file too: :func:`reply`).
CUT = "sparkswarm_cut"


def escape(text: str) -> str:
    """``text`` with ``&``, ``<``, ``>`` as Slack's entities: shown as typed,
    never read as a mention, a channel ping or a link."""
    return _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group()], text)


def clip(text: str, limit: int) -> str:
    """``escape(text)`` in at most ``limit`` characters (see :func:`shorten`)."""
    return shorten(escape(text), limit)


def shorten(escaped: str, limit: int, mark: str = ELLIPSIS) -> str:
    """Escaped text in at most ``limit`` characters; a cut ends with ``mark``
    (never inside an entity such as ``&amp;``)."""
    if len(escaped) <= limit:
        return escaped
    kept = escaped[: max(0, limit - len(mark))]
    amp = kept.rfind("&")
    if amp != -1 and ";" not in kept[amp:]:
        kept = kept[:amp]
    return kept + mark


def shorten_plain(text: str, limit: int) -> str:
    """Unescaped text (plain_text fields, file titles, lines escaped later) in
    at most ``limit`` characters; a cut ends with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def bounded(escaped: str, limit: int, more: str) -> str:
    """Escaped text in at most ``limit`` characters; a cut says how many
    characters were left out and ``more``, where to read them
    (``… (812 more characters: `sparkswarm alerts show k`)``)."""
    if len(escaped) <= limit:
        return escaped
    note = f"{ELLIPSIS} ({len(escaped)} more characters: {more})"
    kept = shorten(escaped, max(0, limit - len(note)), "")
    return kept + f"{ELLIPSIS} ({len(escaped) - len(kept)} more characters: {more})"


def code(text: str, limit: int = 300) -> str:
    """``text`` as an inline code span (escaped, clipped to ``limit``)."""
    return "`" + clip(text.replace("`", _TICK), limit) + "`"


def mention(user: str) -> str:
    """A mention of ``user`` when it is a Slack user id, else the escaped text."""
    return f"<@{user}>" if _USER_ID.match(user) else escape(user)


def code_block(lines: list[str], limit: int = SECTION_TEXT) -> tuple[str, bool]:
    """(``lines`` as a code block of at most ``limit`` characters, whether
    something was left out). Each line is escaped and clipped to ``LINE``
    characters; whole lines are kept from the start, and those that do not
    fit are counted in a last line ("… 12 more lines")."""
    fence = "```"
    budget = limit - 2 * len(fence) - 40  # room for the "more lines" note
    width = min(LINE, budget)
    shown: list[str] = []
    used, cut = 0, False
    for index, line in enumerate(lines):
        line = line.replace(fence, _NO_FENCE)  # a fence in the text would end the block
        safe = clip(line, width)
        if used + len(safe) + 1 > budget:
            shown.append(f"{ELLIPSIS} {len(lines) - index} more lines")
            return fence + "\n".join(shown) + fence, True
        cut = cut or safe != escape(line)
        shown.append(safe)
        used += len(safe) + 1
    return fence + ("\n".join(shown) or " ") + fence, cut


def plain(text: str) -> Any:
    """A plain_text object of the bot's own words (Slack shows them as they are)."""
    from slack_sdk.models.blocks import PlainTextObject

    return PlainTextObject(text=text)


def _mrkdwn(escaped: str) -> Any:
    from slack_sdk.models.blocks import MarkdownTextObject

    return MarkdownTextObject(text=escaped or " ")


def section(text: str, block_id: str | None = None) -> Block:
    """A section of mrkdwn ``text`` (already escaped), cut to the limit."""
    from slack_sdk.models.blocks import SectionBlock

    block = SectionBlock(text=_mrkdwn(shorten(text, SECTION_TEXT)), block_id=block_id)
    return dict(block.to_dict())


def header(text: str) -> Block:
    """A header of plain ``text`` (escaped and clipped here)."""
    from slack_sdk.models.blocks import HeaderBlock

    return dict(HeaderBlock(text=plain(clip(text, HEADER_TEXT) or "-")).to_dict())


def fields_section(pairs: list[tuple[str, str]]) -> Block:
    """A section of up to ten ``*name*\\nvalue`` fields (both escaped and
    clipped here; an empty value shows as ``-``)."""
    from slack_sdk.models.blocks import SectionBlock

    fields = [
        _mrkdwn(f"*{clip(name, 100)}*\n{clip(value, FIELD_TEXT - 110) or '-'}")
        for name, value in pairs[:FIELDS]
    ]
    return dict(SectionBlock(fields=fields).to_dict())


def context(text: str) -> Block:
    """A context line of mrkdwn ``text`` (already escaped)."""
    from slack_sdk.models.blocks import ContextBlock

    elements = [_mrkdwn(shorten(text, SECTION_TEXT))]
    return dict(ContextBlock(elements=elements).to_dict())


def divider() -> Block:
    """A divider line."""
    from slack_sdk.models.blocks import DividerBlock

    return dict(DividerBlock().to_dict())


def buttons(
    pressed: Sequence[tuple[str, str, str] | tuple[str, str, str, str]],
    block_id: str | None = None,
) -> Block:
    """An actions block of buttons, each ``(action_id, label, value)`` or
    ``(action_id, label, value, style)``; labels are the bot's own words."""
    from slack_sdk.models.blocks import ActionsBlock, ButtonElement

    elements = [
        ButtonElement(
            action_id=b[0], text=plain(b[1]), value=b[2], style=b[3] if len(b) > 3 else None
        )
        for b in pressed
    ]
    return dict(ActionsBlock(elements=elements, block_id=block_id).to_dict())


def fallback(text: str) -> str:
    """A message's top-level text (notifications, screen readers): escaped and
    within the message limit."""
    return clip(text, MESSAGE_TEXT)


@dataclass(frozen=True)
class Reply:
    """What to send for a read answer: a message (``text`` and ``blocks``,
    within Slack's limits; None: no message) and ``file``, the whole answer
    as a file for the thread (None: the message shows all of it)."""

    text: str | None
    blocks: list[Block] | None
    file: str | None


def reply(text: str, full: str, blocks: list[Block] | None, threshold: int) -> Reply:
    """The :class:`Reply` for an answer whose whole text is ``full``: without
    blocks, a code block when ``full`` is at most ``threshold`` characters,
    else a file; with blocks, the message, and the file as well when the
    blocks say they show only part (a ``CUT`` note)."""
    if blocks is None:
        if len(full) > threshold:
            return Reply(None, None, full)
        block, cut = code_block(full.splitlines())
        return Reply(fallback(text.partition("\n")[0]), [section(block)], full if cut else None)
    cut = any(b.get("block_id") == CUT for b in blocks)
    return Reply(clip(text, SECTION_TEXT), blocks, full if cut else None)
