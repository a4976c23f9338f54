"""``sparkswarm bot try``: the real bot app against a local Slack double.

Starts the double (Web API and Socket Mode), builds the bot exactly as
``sparkswarm bot --socket`` does but pointed at the double, sends one
command the way Slack would, and prints each message the bot posts, edits
or shows only to the user, until the run it started has its outcome (for
``spark submit``: until the Spark job it started has ended).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sparkswarm.errors import InvalidRequest

Echo = Callable[[str], None]


def run_trial(text: str, *, role: str, yes: bool, timeout: float, echo: Echo) -> None:
    """Run ``text`` as user ``U0TRY`` with ``role``; ``yes`` clicks Confirm.

    InvalidRequest for an unknown role or without a queue (SPARKSWARM_REDIS_URL).
    """
    from pydantic import SecretStr

    from sparkswarm.bots import double, payloads
    from sparkswarm.bots.app import build
    from sparkswarm.bots.blockkit import escape
    from sparkswarm.bots.double_socket import SocketDouble
    from sparkswarm.bots.roles import ROLES
    from sparkswarm.config import get_settings

    if role not in ROLES:
        raise InvalidRequest(f"--role is one of {', '.join(ROLES)}")
    if not get_settings().redis_url:
        raise InvalidRequest(
            "bot try needs the queue: set SPARKSWARM_REDIS_URL (and run `sparkswarm worker`)"
        )
    user = "U0TRY"
    web = double.SlackDouble().start()
    web.invite("C0GENERAL")  # as if someone had typed /invite @sparkswarm there
    sock = SocketDouble(web).start()
    printer = _Printer(web, time.monotonic(), echo)
    web.listeners.append(printer.show)
    role_member: dict[str, Any] = {f"bot_{role}s": [user]}  # checked by Settings
    settings = replace(
        get_settings(),
        slack_api_url=web.api_url,
        slack_bot_token=SecretStr(web.bot_token),
        slack_app_token=SecretStr(web.app_token),
        **role_member,
    )
    bot_ = build(settings, http=False)
    bot_.start_notifier()
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler: Any = SocketModeHandler(bot_.app, web.app_token)
    handler.connect()
    try:
        sock.wait_connected()
        command, _, rest = text.strip().partition(" ")
        # Slack sends the typed &, <, > as entities: so does the trial.
        if command.startswith("/"):
            fields = payloads.slash_command(
                command,
                escape(rest),
                user=user,
                response_url=web.response_url("C0GENERAL", user),
            )
            envelope = sock.send("slash_commands", fields)
        else:
            event = payloads.event_callback(
                escape(text), user=user, channel="D0DM", kind="message", channel_type="im"
            )
            envelope = sock.send("events_api", event)
        sock.wait_ack(envelope)
        echo(f"[{printer.clock()}] acked")
        _follow(bot_, web, sock, printer, user, yes, timeout)
    finally:
        handler.close()
        bot_.stop.set()
        sock.stop()
        web.stop()


def _follow(
    bot_: Any, web: Any, sock: Any, printer: _Printer, user: str, yes: bool, timeout: float
) -> None:
    from sparkswarm.bots import payloads

    deadline = time.monotonic() + timeout
    clicked: set[str] = set()
    warned = False
    while time.monotonic() < deadline:
        time.sleep(0.2)
        runs = bot_.dispatcher.submitted
        if runs and all(r in bot_.notifier.finished for r in runs):
            return
        if runs and not warned and time.monotonic() - printer.last > 15 and _queued(bot_, runs):
            warned = True
            printer.echo(f"[{printer.clock()}] still waiting: is a `sparkswarm worker` running?")
        if yes:
            for message in list(web.messages.values()):
                if message.ts not in clicked and any(
                    b.get("type") == "actions" for b in message.blocks
                ):
                    clicked.add(message.ts)
                    value = message.blocks[1]["elements"][0]["value"]
                    action = payloads.block_action(
                        "sparkswarm_confirm",
                        value,
                        user=user,
                        channel=message.channel,
                        message_ts=message.ts,
                        response_url=web.response_url(message.channel, user, message.ts),
                    )
                    sock.wait_ack(sock.send("interactive", action))
        if not runs and time.monotonic() - printer.last > 3 and (not yes or not _asks(web)):
            return


def _queued(bot_: Any, runs: Any) -> bool:
    """Whether a run is still queued (no worker took it); a quiet Spark job
    that runs for minutes is not a reason to worry."""
    store = bot_.dispatcher.qc.store
    return any((record := store.find(r)) is not None and record.state == "queued" for r in runs)


def _asks(web: Any) -> bool:
    return any(
        any(b.get("type") == "actions" for b in m.blocks) for m in list(web.messages.values())
    )


class _Printer:
    """Prints each message the double receives, as the channel would show it."""

    def __init__(self, web: Any, start: float, echo: Echo) -> None:
        self.web = web
        self.echo = echo
        self.start = start
        self.last = start

    def clock(self) -> str:
        return f"{time.monotonic() - self.start:6.2f}s"

    def show(self, call: Any) -> None:
        self.last = time.monotonic()
        args = call.args
        kinds = {
            "chat.postMessage": "post",
            "chat.update": "edit",
            "chat.postEphemeral": f"only for {args.get('user')}",
            "response_url": (
                "post"
                if args.get("response_type") == "in_channel"
                else f"only for {args.get('_user')}"
            ),
            "files.completeUploadExternal": "file",
        }
        kind = kinds.get(call.method)
        if call.status == 429:
            self.echo(f"[{self.clock()}] {call.method}: 429 rate limited")
        if kind is None or call.status != 200:
            return
        where = f"#{args.get('channel') or args.get('channel_id') or args.get('_channel')}"
        if args.get("thread_ts"):
            where += f" thread {args['thread_ts']}"
        text = str(args.get("text") or "")
        if call.method == "files.completeUploadExternal":
            text = "\n".join(
                self.web.files.get(f["id"], {}).get("content", b"").decode("utf-8", "replace")
                for f in call.response.get("files", [])
            )
        self.echo(f"[{self.clock()}] {kind} {where}:")
        for line in text.splitlines() or [""]:
            self.echo(f"    {line}")
