"""The Slack double's messages: ``chat.*``, ``conversations.join`` and ``response_url``.

Like Slack, it knows where the bot is: a message to a public channel the bot
was not invited to is ``not_in_channel``, to a private channel or someone
else's DM ``channel_not_found``; ``conversations.join`` adds the bot to a
public channel. Messages over Block Kit's limits are refused
(:mod:`sparkswarm.bots.double_rules`), and an edit that names no blocks
keeps the message's old ones. A ``response_url`` takes a JSON message
(``response_type`` ``ephemeral`` by default or ``in_channel``,
``replace_original``, ``delete_original``) whether or not the bot is in the
channel, at most 5 times within 30 minutes.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.double_rules import message_error

# A response_url takes this many messages, for this long (Slack's documented limits).
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60


@dataclass
class ResponseUrl:
    """A ``response_url`` the double handed out: where it answers, for whom."""

    channel: str
    user: str
    message_ts: str | None  # the message whose button was clicked (replace_original)
    issued: float
    uses: int = 0


@dataclass
class Call:
    """One request the double received."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    """A message as the double holds it (the newest version after edits)."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None = None
    ephemeral_user: str | None = None
    edits: int = 0


def json_argument(value: Any) -> Any:
    """An argument that is JSON in a form post and an object in a JSON body
    (``blocks``, ``view``); None for JSON that does not parse."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def blocks_of(args: dict[str, Any]) -> list[Any]:
    """The ``blocks`` argument as a list ([] when absent or not a list)."""
    value = json_argument(args.get("blocks"))
    return list(value) if isinstance(value, list) else []


class MessagesDouble:
    """The message methods of :class:`~sparkswarm.bots.double.SlackDouble`."""

    if TYPE_CHECKING:
        channels: set[str]
        private: set[str]
        members: set[str]
        messages: dict[tuple[str, str], Message]
        responses: dict[str, ResponseUrl]
        calls: list[Call]
        _lock: threading.Lock

        @property
        def port(self) -> int: ...
        def _next_ts(self) -> str: ...
        def _record(self, call: Call) -> None: ...

    def response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        """A new ``response_url`` for a command or click of ``user`` in ``channel``
        (``message_ts``: the message whose button was clicked)."""
        key = uuid.uuid4().hex
        with self._lock:
            self.responses[key] = ResponseUrl(channel, user, message_ts, time.time())
        return f"http://127.0.0.1:{self.port}/respond/{key}"

    def responded(self, user: str | None = None) -> list[Call]:
        """The messages posted to response_urls (of ``user``'s requests), in order."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "response_url" and (user is None or c.args.get("_user") == user)
            ]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a thread (newest versions), oldest first."""
        with self._lock:
            return sorted(
                (
                    m
                    for m in self.messages.values()
                    if m.channel == channel and m.thread_ts == thread_ts
                ),
                key=lambda m: float(m.ts),
            )

    def _membership_error(self, channel: str) -> str | None:
        """Slack's answer to the bot writing where it is no member: a public
        channel says so; a private one or another's DM does not exist for it."""
        if channel not in self.channels:
            return "channel_not_found"
        if channel in self.members:
            return None
        return "channel_not_found" if channel in self.private else "not_in_channel"

    def _check_message_args(self, args: dict[str, Any]) -> dict[str, Any] | None:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        membership = self._membership_error(str(args["channel"]))
        if membership:
            return {"ok": False, "error": membership}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        return message_error(args) or None

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._check_message_args(args)
        if error:
            return error
        message = self._keep(args["channel"], args)
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": {"text": message.text},
        }

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._check_message_args(args)
        if error:
            return error
        message = self.messages.get((args["channel"], str(args.get("ts") or "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(args.get("text") or "")
        if "blocks" in args:  # Slack keeps the old blocks of an edit that names none
            message.blocks = blocks_of(args)
        message.edits += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._check_message_args(args)
        if error:
            return error
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        message = self._keep(args["channel"], args, ephemeral_user=str(args["user"]))
        return {"ok": True, "message_ts": message.ts}

    def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.private or channel.startswith("D"):
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        already = channel in self.members
        self.members.add(channel)
        answer: dict[str, Any] = {
            "ok": True,
            "channel": {"id": channel, "is_channel": True, "is_member": True},
        }
        if already:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        return answer

    def respond(self, key: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A message POSTed to a response_url: shown to the requester only
        (``ephemeral``, the default), to the channel (``in_channel``), or in
        place of the clicked message (``replace_original``/``delete_original``)."""
        now = time.time()
        with self._lock:
            url = self.responses.get(key)
            if url is None:
                return 404, {"ok": False, "error": "invalid_url"}
            if now - url.issued > RESPONSE_URL_TTL:
                return 404, {"ok": False, "error": "expired_url"}
            if url.uses >= RESPONSE_URL_USES:
                return 404, {"ok": False, "error": "used_url"}
            text = str(payload.get("text") or "")
            blocks = blocks_of(payload)
            if not (text or blocks or payload.get("delete_original")):
                return 400, {"ok": False, "error": "no_text"}
            refused = None if payload.get("delete_original") else message_error(payload)
            if refused:  # a response_url message is held to the same Block Kit rules
                return 400, refused
            url.uses += 1
            self._record(
                Call("response_url", {**payload, "_user": url.user, "_channel": url.channel}, now)
            )
            original = (url.channel, url.message_ts or "")
            if payload.get("delete_original") and original in self.messages:
                del self.messages[original]
            elif payload.get("replace_original") and original in self.messages:
                message = self.messages[original]
                message.text, message.blocks = text, blocks
                message.edits += 1
            else:
                public = payload.get("response_type") == "in_channel"
                self._keep(url.channel, payload, ephemeral_user=None if public else url.user)
        return 200, {"ok": True}

    def _keep(
        self, channel: str, args: dict[str, Any], ephemeral_user: str | None = None
    ) -> Message:
        """A new message in ``channel`` of ``args`` (text, blocks, thread_ts), kept."""
        message = Message(
            channel,
            self._next_ts(),
            str(args.get("text") or ""),
            blocks_of(args),
            thread_ts=args.get("thread_ts") or None,
            ephemeral_user=ephemeral_user,
        )
        self.messages[(message.channel, message.ts)] = message
        return message
