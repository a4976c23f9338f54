"""A local Slack Web API double: a real HTTP server on loopback.

There is no Slack on a test machine (and a workspace is not something a test
should post into), so the bot's outgoing calls go to this server instead:
``slack_sdk.WebClient(base_url=double.api_url)``. It answers the methods the
bot calls the way Slack does (``{"ok": false, "error": "invalid_auth"}``,
``channel_not_found``, ``no_text``, ...), keeps the messages it was sent so
edits can be checked, can be told to answer HTTP 429 with ``Retry-After``,
and records every call (method, arguments, time). Like Slack it refuses
messages over Block Kit's limits and meters each method by its rate tier
(:mod:`sparkswarm.bots.double_rules`), and an edit that names no blocks
keeps the message's old ones. ``sparkswarm bot try``
runs the real bot against it; the tests assert on its records.

Like Slack, it knows where the bot is: a message to a public channel the bot
was not invited to (:meth:`SlackDouble.invite`) is ``not_in_channel``, to a
private channel or someone else's DM ``channel_not_found``;
``conversations.join`` (scope ``channels:join``) adds the bot to a public
channel. Each method needs its scope, granted from ``bots/manifest.yml``
(else ``missing_scope`` with ``needed``/``provided``). And it hands out
``response_url`` endpoints (:meth:`SlackDouble.response_url`), real ones that
take a JSON message (``response_type`` ``ephemeral`` by default or
``in_channel``, ``replace_original``, ``delete_original``) whether or not the
bot is in the channel, at most 5 times within 30 minutes.

Files users attach (:meth:`SlackDouble.share_file`) are described by
``files.info`` (scope ``files:read``) and served at their ``url_private``
to the bot token only; any other token gets HTTP 200 and a sign-in page, as
Slack answers. ``views.open`` takes a trigger id once, within 3 s of it,
and checks the view against Slack's view limits (``SlackDouble.views``);
``views.update`` replaces an open view (``hash_conflict`` on a stale hash).

Socket Mode: ``apps.connections.open`` (with the app-level token) returns the
``ws://`` URL of :class:`sparkswarm.bots.double_socket.SocketDouble`, which
sends real envelopes and collects the acks.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

from sparkswarm.bots.double_rules import Meter, message_error, view_error

BOT_TOKEN = "xoxb-0000000000-double-bot-token"
APP_TOKEN = "xapp-1-A0DOUBLE-0000-double-app-token"
SIGNING_SECRET = "double-signing-secret-0000000000"
TEAM_ID = "T0DOUBLE"
BOT_USER_ID = "U0BOT"
MANIFEST = Path(__file__).with_name("manifest.yml")

# The scope each Web API method needs with a bot token (Slack's method pages).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "usergroups.users.list": "usergroups:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "conversations.join": "channels:join",
    "files.info": "files:read",
}
# What Slack's file server sends for a url_private fetched without a valid
# token: HTTP 200 and the sign-in page, not the file.
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
# Slack's ``filetype`` and ``mimetype`` of a file, by the name's ending.
FILE_TYPES = {
    ".py": ("python", "text/x-python"),
    ".csv": ("csv", "text/csv"),
    ".txt": ("text", "text/plain"),
    ".json": ("json", "application/json"),
    ".html": ("html", "text/html"),
    ".zip": ("zip", "application/zip"),
}
# A response_url takes this many messages, for this long (Slack's documented limits).
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes an app manifest asks for (``oauth_config.scopes.bot``)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(s) for s in data.get("oauth_config", {}).get("scopes", {}).get("bot", []))


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


class SlackDouble:
    """The Web API double; ``with SlackDouble() as slack: ...`` serves on a free port."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        channels: tuple[str, ...] = ("C0GENERAL", "C0OPS", "C0LOBBY", "D0DM"),
        private: tuple[str, ...] = ("C0SECRET",),
        others_dms: tuple[str, ...] = ("D0OTHERS",),
        user_groups: dict[str, list[str]] | None = None,
        scopes: frozenset[str] | None = None,
        tiers: dict[str, int] | None = None,
        metered: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # Conversations that exist: public channels, private ones, DMs (``D...``:
        # the bot's own; ``others_dms`` are DMs between other people).
        self.channels = set(channels) | set(private) | set(others_dms)
        self.private = set(private) | set(others_dms)
        # Where the bot is a member: its own DMs until someone invites it elsewhere.
        self.members = {c for c in channels if c.startswith("D")}
        self.scopes = manifest_scopes() if scopes is None else frozenset(scopes)
        self.user_groups = dict(user_groups or {})
        self.responses: dict[str, ResponseUrl] = {}
        self._delays: dict[tuple[str, str], float] = {}
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user -> the Home view published last
        self.shared: dict[str, dict[str, Any]] = {}  # files users attached (share_file)
        self.views: list[dict[str, Any]] = []  # views opened (views.open), with their ids
        self._triggers: set[str] = set()  # trigger ids already exchanged for a view
        # Tokens the file server takes for url_private (None: the bot token);
        # tests set another to see what the bot does with the sign-in page.
        self.file_tokens: set[str] | None = None
        self.listeners: list[Callable[[Call], None]] = []
        self.ws_url = ""
        self._limits: dict[str, list[float]] = {}
        self.meter = Meter(tiers) if metered else None
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life -------------------------------------------------------------
    def start(self) -> SlackDouble:
        double = self

        class Handler(_Handler):
            owner = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="slack-double"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the double is not started"
        return int(self._server.server_address[1])

    @property
    def api_url(self) -> str:
        """The base URL for ``WebClient(base_url=...)`` (ends with a slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    # --- controls and assertions -------------------------------------------
    def rate_limit(self, method: str, times: int, retry_after: float = 1.0) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``
        (in whole seconds, rounded up, as Slack sends it)."""
        with self._lock:
            self._limits.setdefault(method, []).extend([retry_after] * times)

    def invite(self, *channels: str) -> None:
        """``/invite @sparkswarm`` in each of ``channels``."""
        with self._lock:
            self.members.update(channels)

    def remove(self, *channels: str) -> None:
        """The bot is removed from ``channels`` (``/remove @sparkswarm``)."""
        with self._lock:
            self.members.difference_update(channels)

    def slow(self, method: str, channel: str, seconds: float) -> None:
        """Answer ``method`` calls for ``channel`` only after ``seconds`` (a slow
        Slack, as seen from the bot's side); 0 undoes it."""
        with self._lock:
            self._delays[(method, channel)] = seconds

    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        size: int | None = None,
        filetype: str | None = None,
        readable: bool = True,
    ) -> dict[str, Any]:
        """A file a user attached to a message: its file object, as an event
        carries it. ``size`` declares another size than the content's (a big
        file without the bytes); ``filetype`` overrides the one of the name's
        ending; ``readable=False``: the bot may not see it (``files.info``
        answers ``file_not_found``)."""
        kind, mime = FILE_TYPES.get(Path(name).suffix, ("binary", "application/octet-stream"))
        file_id = f"F{next(self._ts):08d}U"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "size": len(content) if size is None else size,
            "filetype": filetype or kind,
            "mimetype": mime if filetype is None else "application/octet-stream",
            "url_private": f"http://127.0.0.1:{self.port}/files-pri/{file_id}/{name}",
            "url_private_download": f"http://127.0.0.1:{self.port}/files-pri/{file_id}/download/{name}",
        }
        with self._lock:
            self.shared[file_id] = {"info": info, "content": content, "readable": readable}
        return dict(info)

    def private_file(self, path: str, token: str | None) -> tuple[bytes, str]:
        """(body, content type) of a GET of a ``url_private``: the file's bytes
        with the bot's token, else Slack's sign-in page (HTTP 200 all the same)."""
        file_id = path.split("/")[2] if path.count("/") >= 3 else ""
        with self._lock:
            entry = self.shared.get(file_id)
            accepted = {self.bot_token} if self.file_tokens is None else self.file_tokens
            ok = entry is not None and entry["readable"] and token in accepted
            self._record(Call("url_private", {"file": file_id, "served": ok}, time.time()))
        if not ok or entry is None:
            return LOGIN_PAGE, "text/html; charset=utf-8"
        return bytes(entry["content"]), "application/octet-stream"

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

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def all_text(self) -> str:
        """Every argument of every call, as one string: for "never reached Slack" checks."""
        with self._lock:
            return "\n".join(json.dumps(c.args, default=str) for c in self.calls) + "\n".join(
                f.get("content", b"").decode("utf-8", "replace") for f in self.files.values()
            )

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

    # --- the Web API ---------------------------------------------------------
    def handle(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one call; records it."""
        delay = self._delays.get((method, str(args.get("channel") or "")), 0.0)
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        with self._lock:
            pending = self._limits.get(method)
            retry_after = math.ceil(pending.pop(0)) if pending else 0
            if not retry_after and self.meter is not None and token is not None:
                retry_after = self.meter.admit(method, str(args.get("channel") or ""), now)
            if retry_after:
                body = {"ok": False, "error": "ratelimited"}
                self._record(Call(method, args, now, 429, body))
                return 429, body, {"Retry-After": str(retry_after)}
            body = self._answer(method, args, token)
            self._record(Call(method, args, now, 200, body))
        return 200, body, {}

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        for listener in self.listeners:
            listener(call)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if method == "apps.connections.open":
            if token == self.bot_token:
                return {"ok": False, "error": "not_allowed_token_type"}
            if token != self.app_token:
                return {"ok": False, "error": "invalid_auth"}
            if not self.ws_url:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.ws_url}
        if token != self.bot_token:
            return {"ok": False, "error": "invalid_auth"}
        needed = METHOD_SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        answer: dict[str, Any] = handler(args)
        return answer

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

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

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://double.slack.invalid/",
            "team": "double",
            "team_id": TEAM_ID,
            "user": "sparkswarm",
            "user_id": BOT_USER_ID,
            "bot_id": "B0BOT",
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._check_message_args(args)
        if error:
            return error
        message = Message(
            args["channel"],
            self._next_ts(),
            str(args.get("text") or ""),
            _blocks(args.get("blocks")),
            thread_ts=args.get("thread_ts") or None,
        )
        self.messages[(message.channel, message.ts)] = message
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
            message.blocks = _blocks(args["blocks"])
        message.edits += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """Publish a user's App Home, refused as Slack refuses it: no user, a
        view that is not a ``home`` view, or more than 100 blocks."""
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        user = str(args.get("user_id") or "")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        refused = view_error(view)  # Block Kit's view rules, as for views.open
        if refused:
            return refused
        self.home_views[user] = view
        return {"ok": True, "view": {**view, "id": f"V{len(self.home_views):08d}"}}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._check_message_args(args)
        if error:
            return error
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        message = Message(
            args["channel"],
            self._next_ts(),
            str(args.get("text") or ""),
            _blocks(args.get("blocks")),
            thread_ts=args.get("thread_ts") or None,
            ephemeral_user=str(args["user"]),
        )
        self.messages[(message.channel, message.ts)] = message
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

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup")
        if not group:
            return {"ok": False, "error": "invalid_arguments"}
        if group not in self.user_groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.user_groups[group])}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A modal for a trigger id: one view per trigger, within 3 s of it
        (the id starts with its time, as Slack's do), checked as Slack does."""
        trigger = str(args.get("trigger_id") or "")
        head = trigger.partition(".")[0]
        if not head.isdigit():
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.time() - int(head) > 4:  # 3 s, and the id's time is whole seconds
            return {"ok": False, "error": "expired_trigger_id"}
        if trigger in self._triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        view = _view_argument(args)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        refused = view_error(view)
        if refused:
            return refused
        self._triggers.add(trigger)
        # Unique across doubles, as Slack's are across a workspace's life.
        opened = {**view, "id": f"V{uuid.uuid4().hex[:10].upper()}", "state": {"values": {}}}
        opened["hash"] = f"{int(time.time())}.{uuid.uuid4().hex[:8]}"
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace an open view (by ``view_id``): ``not_found`` for an unknown
        one, ``hash_conflict`` when ``hash`` is not the view's current one
        (someone updated it since), checked as ``views.open`` checks."""
        view = _view_argument(args)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        at = next((i for i, v in enumerate(self.views) if v["id"] == args.get("view_id")), None)
        if at is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != self.views[at]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        refused = view_error(view)
        if refused:
            return refused
        updated = {**view, "id": self.views[at]["id"], "state": {"values": {}}}
        updated["hash"] = f"{int(time.time())}.{uuid.uuid4().hex[:8]}"
        self.views[at] = updated
        return {"ok": True, "view": updated}

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        entry = self.shared.get(str(args.get("file") or ""))
        if entry is None or not entry["readable"]:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": dict(entry["info"]), "comments": [], "response_metadata": {}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):08d}"
        self.files[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("files")
        try:
            files = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id")
        membership = self._membership_error(str(channel)) if channel else None
        if membership:
            return {"ok": False, "error": membership}
        shared = []
        for item in files:
            entry = self.files.get(str(item.get("id")))
            if entry is None or "content" not in entry:
                return {"ok": False, "error": "file_not_found"}
            entry.update(channel=channel, thread_ts=args.get("thread_ts"), title=item.get("title"))
            shared.append({"id": item["id"], "title": item.get("title") or entry["filename"]})
        return {"ok": True, "files": shared}

    def upload(self, file_id: str, content: bytes) -> tuple[int, dict[str, Any]]:
        """The upload step of the external upload flow (the bytes go to upload_url)."""
        with self._lock:
            entry = self.files.get(file_id)
            if entry is None:
                return 404, {"ok": False, "error": "file_not_found"}
            entry["content"] = content
            self._record(Call("upload", {"file_id": file_id, "bytes": len(content)}, time.time()))
        return 200, {"ok": True}

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
            blocks = _blocks(payload.get("blocks"))
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
                message = Message(
                    url.channel,
                    self._next_ts(),
                    text,
                    blocks,
                    thread_ts=payload.get("thread_ts") or None,
                    ephemeral_user=None if public else url.user,
                )
                self.messages[(message.channel, message.ts)] = message
        return 200, {"ok": True}


def _blocks(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    return list(value) if isinstance(value, list) else []


class _Handler(BaseHTTPRequestHandler):
    owner: SlackDouble

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the double records calls itself

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path.startswith("/files-pri/") and self.command == "GET":
            auth = self.headers.get("Authorization", "")
            bearer = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
            data, ctype = self.owner.private_file(url.path, bearer)
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if url.path.startswith("/upload/"):
            status, body = self.owner.upload(url.path.rsplit("/", 1)[-1], raw)
            self._reply(status, body, {})
            return
        if url.path.startswith("/respond/"):
            try:
                payload = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                payload = None
            if not isinstance(payload, dict):
                self._reply(400, {"ok": False, "error": "invalid_payload"}, {})
                return
            status, body = self.owner.respond(url.path.rsplit("/", 1)[-1], payload)
            self._reply(status, body, {})
            return
        if not url.path.startswith("/api/"):
            self._reply(404, {"ok": False, "error": "not_found"}, {})
            return
        method = url.path[len("/api/") :]
        args: dict[str, Any] = dict(parse_qsl(url.query))
        ctype = self.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            try:
                args.update(json.loads(raw))
            except json.JSONDecodeError:
                self._reply(200, {"ok": False, "error": "invalid_json"}, {})
                return
        elif raw:
            args.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or args.pop("token", None)
        status, body, headers = self.owner.handle(method, args, token)
        self._reply(status, body, headers)

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _view_argument(args: dict[str, Any]) -> dict[str, Any] | None:
    """The ``view`` argument of views.open/views.update (a JSON string in a
    form post, an object in a JSON body); None when it is neither."""
    view = args.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except json.JSONDecodeError:
            return None
    return view if isinstance(view, dict) else None
