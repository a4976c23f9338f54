"""The secret scrubber: every text and file the bot sends passes through it.

Removes swarm join and unlock tokens (``SWMTKN-...``, ``SWMKEY-...``), Slack
tokens (``xox?-...``, ``xapp-...``) and the configured secret values (also
as escaped for Slack), wherever they occur (plain text, Block Kit JSON, file
contents). Pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
_PATTERNS = (
    re.compile(r"SWMTKN-[0-9A-Za-z-]+"),
    re.compile(r"SWMKEY-[0-9A-Za-z+/=-]+"),
    re.compile(r"xox[abposer]-[0-9A-Za-z-]+"),
    re.compile(r"xapp-[0-9A-Za-z-]+"),
)


class Scrubber:
    """Replaces secrets in text by ``[redacted]``; ``secrets`` are extra literal values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        from sparkswarm.bots.blockkit import escape

        values = {s for s in secrets if len(s) >= 4}
        # Chat text is escaped before it is sent: a secret with &, < or > in it
        # reaches the scrubber as "&amp;", "&lt;", "&gt;" and is removed so too.
        values |= {escape(s) for s in values}
        # Longest first: a secret that contains another is removed whole.
        self.secrets = sorted(values, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        for pattern in _PATTERNS:
            value = pattern.sub(MASK, value)
        return value

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like: dicts, lists, strings) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs each record's message and traceback, so
    the bot's log (a user's text, a library's error) never holds a secret."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrubber.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrubber.text(
                logging.Formatter().formatException(record.exc_info)
            )
        return True


def scrub_logs(scrubber: Scrubber) -> None:
    """Install :class:`ScrubbingFilter` on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter(scrubber))
