"""A real bot process against the Slack double, on a QueueLab's Redis and worker.

The double (Web API + Socket Mode websocket) runs in the test process; the bot
is ``sparkswarm bot --http PORT`` or ``--socket`` in a process of its own,
pointed at the double by ``SPARKSWARM_SLACK_API_URL``. Requests come in the
way Slack sends them: signed HTTP posts, or envelopes over the websocket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from sparkswarm.bots import double, payloads
from sparkswarm.bots.double import Message, SlackDouble
from sparkswarm.bots.double_socket import SocketDouble
from tests.support.queue_harness import Process, QueueLab, free_port, wait_for

ADMIN, OPERATOR, VIEWER, STRANGER = "U0ADMIN", "U0OPER", "U0VIEW", "U0NOBODY"
OPS_GROUP, GROUP_MEMBER = "S0OPS", "U0INGROUP"  # operator through a user group
FINAL_MARKS = ("*succeeded*", "*failed*", "*cancelled*")


class BotLab:
    """The double plus bot processes started on ``lab``."""

    def __init__(self, lab: QueueLab, folder: Path) -> None:
        self.lab = lab
        self.folder = folder
        self.web = SlackDouble(user_groups={OPS_GROUP: [GROUP_MEMBER]}).start()
        # The bot was invited where the tests talk to it (C0SECRET and
        # D0OTHERS stay closed: it is no member there).
        self.web.invite("C0GENERAL", "C0OPS")
        self.sock = SocketDouble(self.web).start()
        self.port = 0
        self.values: dict[str, str] = {}  # question ts -> its buttons' value

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "SPARKSWARM_SLACK_API_URL": self.web.api_url,
            "SPARKSWARM_SLACK_BOT_TOKEN": double.BOT_TOKEN,
            "SPARKSWARM_SLACK_SIGNING_SECRET": double.SIGNING_SECRET,
            "SPARKSWARM_SLACK_APP_TOKEN": double.APP_TOKEN,
            "SPARKSWARM_BOT_ADMINS": ADMIN,
            "SPARKSWARM_BOT_OPERATORS": f"{OPERATOR},{OPS_GROUP}",
            "SPARKSWARM_BOT_VIEWERS": VIEWER,
            "SPARKSWARM_BOT_CONFIRM_TTL": "4",
            "SPARKSWARM_BOT_EDIT_INTERVAL": "1",
        }
        settings.update(extra)
        return self.lab.env(**settings)

    def start_http(self, port: int | None = None, **extra: str) -> Process:
        """``sparkswarm bot --http``; returns once it accepts connections."""
        self.port = port or self.port or free_port()
        name = f"bot-http-{len(self.lab.processes)}"
        proc = Process(
            ["bot", "--http", str(self.port)], self.env(**extra), self.folder / f"{name}.log"
        )
        self.lab.processes.append(proc)
        wait_for(lambda: _accepts(self.port) or not proc.alive(), 30, "the bot's HTTP port")
        assert proc.alive(), proc.tail()
        return proc

    def start_socket(self, *args: str, **extra: str) -> Process:
        """``sparkswarm bot --socket ARGS``; returns once it connected to the double."""
        name = f"bot-socket-{len(self.lab.processes)}"
        proc = Process(["bot", "--socket", *args], self.env(**extra), self.folder / f"{name}.log")
        self.lab.processes.append(proc)
        self.sock.wait_connected(30)
        return proc

    def stop(self) -> None:
        self.sock.stop()
        self.web.stop()

    # --- Slack's side of the HTTP transport ----------------------------------
    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str = double.SIGNING_SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Content-Type": content_type, **payloads.signed_headers(secret, body, timestamp)}
        sent.update(headers or {})
        return requests.post(
            f"http://127.0.0.1:{self.port}/slack/events", data=body, headers=sent, timeout=10
        )

    def slash(self, command: str, text: str, user: str, **kwargs: Any) -> requests.Response:
        channel = kwargs.pop("channel", "C0GENERAL")
        fields = payloads.slash_command(
            command,
            text,
            user=user,
            channel=channel,
            trigger_id=kwargs.pop("trigger_id", None),
            team=kwargs.pop("team", double.TEAM_ID),
            response_url=self.web.response_url(channel, user),
        )
        return self.post(payloads.form_body(fields), "application/x-www-form-urlencoded", **kwargs)

    def event(self, payload: dict[str, Any], **kwargs: Any) -> requests.Response:
        return self.post(json.dumps(payload).encode(), "application/json", **kwargs)

    def click(
        self,
        message: Message,
        user: str,
        action: str = "sparkswarm_confirm",
        *,
        value: str | None = None,
        team: str = double.TEAM_ID,
    ) -> requests.Response:
        # A question whose buttons were replaced (expired, answered) is still
        # clickable in a client that has not refreshed: use its old value.
        value = value or self.values.get(message.ts) or message.blocks[1]["elements"][0]["value"]
        payload = payloads.block_action(
            action,
            value,
            user=user,
            channel=message.channel,
            message_ts=message.ts,
            response_url=self.web.response_url(message.channel, user, message.ts),
            team=team,
        )
        return self.post(payloads.interactive_body(payload), "application/x-www-form-urlencoded")

    # --- what the double saw --------------------------------------------------
    def status_of(self, words: str) -> list[Message]:
        """The thread status messages of runs of ``words``."""
        return [
            m
            for m in list(self.web.messages.values())
            if m.thread_ts and f"`{words}` run" in m.text and m.ephemeral_user is None
        ]

    def wait_final(
        self, words: str, timeout: float = 90, *, proc: Process | None = None
    ) -> Message:
        """The status message of ``words`` once it shows a final state."""

        def final() -> Message | None:
            done = [m for m in self.status_of(words) if any(k in m.text for k in FINAL_MARKS)]
            return done[0] if done else None

        result: Message = wait_for(
            final,
            timeout,
            f"the outcome of {words!r}",
            explain=lambda: (proc.tail() if proc else "") + "\n" + self.dump(),
        )
        return result

    def ephemerals(self, user: str) -> list[Message]:
        return [m for m in list(self.web.messages.values()) if m.ephemeral_user == user]

    def asking(self, words: str) -> Message:
        question: Message = wait_for(
            lambda: next(
                (
                    m
                    for m in list(self.web.messages.values())
                    if f"`{words}` is destructive" in m.text and m.blocks[1:]
                ),
                None,
            ),
            15,
            f"a confirmation of {words!r}",
        )
        self.values[question.ts] = question.blocks[1]["elements"][0]["value"]
        return question

    def dump(self) -> str:
        return "\n".join(
            f"{c.method} {c.status} {json.dumps(c.args, default=str)[:300]}"
            for c in list(self.web.calls)[-30:]
        )


@contextlib.contextmanager
def http_bot(lab: QueueLab) -> Iterator[BotLab]:
    """A bot over HTTP on ``lab`` with its own Slack double; it and every
    process started while it ran (workers a test added) stopped after."""
    bot_lab = BotLab(lab, Path(lab.folder))
    before = len(lab.processes)
    bot_lab.start_http()
    try:
        yield bot_lab
    finally:
        for proc in lab.processes[before:]:
            proc.stop()
        bot_lab.stop()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        time.sleep(0.1)
        return False
