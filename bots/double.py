"""A local Slack Web API double: a real HTTP server on loopback.

There is no Slack on a test machine (and a workspace is not something a test
should post into), so the bot's outgoing calls go to this server instead:
``slack_sdk.WebClient(base_url=double.api_url)``. It answers the methods the
bot calls the way Slack does (``{"ok": false, "error": "invalid_auth"}``,
``channel_not_found``, ``no_text``, ...), keeps the messages it was sent so
edits can be checked, can be told to answer HTTP 429 with ``Retry-After``,
and records every call (method, arguments, time). Like Slack it refuses
what is over Block Kit's limits and meters each method by its rate tier
(:mod:`sparkswarm.bots.double_rules`). ``sparkswarm bot try``
runs the real bot against it; the tests assert on its records.

Each method needs its scope, granted from ``bots/manifest.yml`` (else
``missing_scope`` with ``needed``/``provided``). The methods are answered
by family: messages and ``response_url`` endpoints in
:mod:`~sparkswarm.bots.double_messages`, files in
:mod:`~sparkswarm.bots.double_files`, views in :mod:`~sparkswarm.bots.double_views`.

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
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

from sparkswarm.bots.double_files import FilesDouble
from sparkswarm.bots.double_messages import Call, Message, MessagesDouble, ResponseUrl
from sparkswarm.bots.double_rules import Meter
from sparkswarm.bots.double_views import ViewsDouble

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


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes an app manifest asks for (``oauth_config.scopes.bot``)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(s) for s in data.get("oauth_config", {}).get("scopes", {}).get("bot", []))


class SlackDouble(MessagesDouble, FilesDouble, ViewsDouble):
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

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def all_text(self) -> str:
        """Every argument of every call, as one string: for "never reached Slack" checks."""
        with self._lock:
            return "\n".join(json.dumps(c.args, default=str) for c in self.calls) + "\n".join(
                f.get("content", b"").decode("utf-8", "replace") for f in self.files.values()
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

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup")
        if not group:
            return {"ok": False, "error": "invalid_arguments"}
        if group not in self.user_groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.user_groups[group])}


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
