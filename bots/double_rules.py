"""What the Slack double refuses and how it meters, as Slack documents it.

Written from Slack's documentation and slack_sdk's Block Kit models, never
from the bot's own code (the double is there to catch the bot's mistakes):

- A message's ``text`` longer than 40,000 characters: ``msg_too_long``.
- ``blocks`` that are not a JSON array of objects: ``invalid_blocks_format``.
- More than 50 blocks in a message (100 in a view), a block slack_sdk's
  models refuse (a section's text over 3,000 characters, more than 10
  fields, a header over 150, ...), a section field over 2,000 characters,
  an empty text object: ``invalid_blocks``, with ``errors`` naming the
  place as Slack does (``... [json-pointer:/blocks/0/text/text]``).
- A view (``views.open``, ``views.update``, ``views.publish``) of more
  than 250 kB of JSON: ``view_too_large``.
- Rate limits per method per workspace by tier (2: 20, 3: 50, 4: 100 calls
  a minute, with a burst of a quarter of that) and ``chat.postMessage`` at
  one a second per channel (a burst of 3); over it: HTTP 429 with a
  whole-seconds ``Retry-After``, as Slack sends it.
"""

from __future__ import annotations

import json
import math
from typing import Any

MESSAGE_TEXT = 40_000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
FIELD_TEXT = 2000
VIEW_BYTES = 250_000  # views.open: view_too_large "if the provided view is greater than 250kb"
# Tiers of the methods the double serves (each method's page on api.slack.com).
TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "usergroups.users.list": 2,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "auth.test": 4,
    "files.info": 4,
    "views.open": 4,
    "views.update": 4,
}
PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}


def message_error(args: dict[str, Any], *, max_blocks: int = MESSAGE_BLOCKS) -> dict[str, Any]:
    """The error body Slack answers for these message arguments, or {} if none."""
    if len(str(args.get("text") or "")) > MESSAGE_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    if "blocks" not in args:
        return {}
    blocks = args["blocks"]
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            return {"ok": False, "error": "invalid_blocks_format"}
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return {"ok": False, "error": "invalid_blocks_format"}
    errors = block_errors(blocks, max_blocks=max_blocks)
    if errors:
        return {
            "ok": False,
            "error": "invalid_blocks",
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        }
    return {}


def view_error(view: dict[str, Any]) -> dict[str, Any]:
    """The error body Slack answers for a view (``views.open``), or {} if
    none: slack_sdk's View rules (title, submit and close at most 24
    characters, private_metadata 3,000, 1 to 100 blocks) and each block's."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    if len(json.dumps(view).encode()) > VIEW_BYTES:
        return {"ok": False, "error": "view_too_large"}
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return {"ok": False, "error": "invalid_arguments"}
    errors: list[str] = []
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError) as exc:
        errors.append(f"{exc} [json-pointer:/view]")
    errors += block_errors(blocks, max_blocks=VIEW_BLOCKS)
    if errors:
        return {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        }
    return {}


def block_errors(blocks: list[dict[str, Any]], *, max_blocks: int = MESSAGE_BLOCKS) -> list[str]:
    """What Slack would say is wrong with ``blocks`` (empty: nothing)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for index, raw in enumerate(blocks):
        where = f"/blocks/{index}"
        try:
            block = Block.parse(raw)
            if block is None or block.type != raw.get("type"):
                errors.append(f"unsupported type: {raw.get('type')} [json-pointer:{where}/type]")
                continue
            block.to_dict()  # validates the block and every object in it
        except (SlackObjectFormationError, TypeError, ValueError, KeyError) as exc:
            errors.append(f"{exc} [json-pointer:{where}]")
            continue
        errors += _text_errors(raw, where)
    return errors


def _text_errors(value: Any, where: str) -> list[str]:
    """Text objects must hold 1 character at least, a section's fields 2,000
    at most (limits slack_sdk's models do not check)."""
    errors: list[str] = []
    if isinstance(value, dict):
        text_object = value.get("type") in ("plain_text", "mrkdwn") and "text" in value
        if text_object and not str(value["text"]):
            errors.append(f"must be more than 0 characters [json-pointer:{where}/text]")
        if value.get("type") == "section":
            for i, item in enumerate(value.get("fields") or []):
                if isinstance(item, dict) and len(str(item.get("text", ""))) > FIELD_TEXT:
                    pointer = f"{where}/fields/{i}/text"
                    errors.append(f"must be less than 2001 characters [json-pointer:{pointer}]")
        for key, item in value.items():
            errors += _text_errors(item, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            errors += _text_errors(item, f"{where}/{i}")
    return errors


class Meter:
    """Token buckets per method (per channel for ``chat.postMessage``), as
    Slack meters them; :meth:`admit` says whether a call goes through."""

    def __init__(self, tiers: dict[str, int] | None = None) -> None:
        self.tiers = {**TIERS, **(tiers or {})}
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _shape(self, method: str) -> tuple[float, float]:
        if method == "chat.postMessage":
            return 1.0, 3.0
        per_minute = PER_MINUTE[self.tiers.get(method, 2)]
        return per_minute / 60.0, max(1.0, per_minute / 4)

    def admit(self, method: str, channel: str, now: float) -> int:
        """0 if a call of ``method`` (in ``channel``) at ``now`` is within its
        limit (and counts it), else the whole seconds of its ``Retry-After``."""
        key = f"{method} {channel}" if method == "chat.postMessage" else method
        rate, capacity = self._shape(method)
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))
