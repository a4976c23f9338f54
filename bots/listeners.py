"""The Bolt listeners: Slack's payloads turned into :class:`ChatRequest` s.

Every listener acks at once and hands the work to a bounded pool; when it is
full the user is told the bot is busy (in the ack itself for a slash
command) and nothing runs. A listener that fails anyway is answered by the
``app.error`` handler. Slash commands, mentions, direct messages and a file
someone waits for become :meth:`Dispatcher.handle`; clicks and sent forms
name the clicker, the conversation and the ``response_url`` the same way
(:func:`click_request`), so every step checks the clicker's role as typed
words do.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.dispatch import BUSY, CHANNEL_MESSAGE, ChatRequest, Dispatcher
from sparkswarm.bots.workpool import BoundedPool

if TYPE_CHECKING:
    from slack_bolt import Ack, App

log = logging.getLogger(__name__)
SLASH_COMMANDS = ("/sparkswarm", "/spark", "/swarm")


def click_request(body: dict[str, Any], key: str, thread_ts: str | None = None) -> ChatRequest:
    """Who clicked (or sent a form) where, from a ``block_actions`` or
    ``view_submission`` payload; ``key`` identifies the click."""
    user, container, channel, team = (_part(body, name) for name in _PARTS)
    url = body.get("response_url")
    return ChatRequest(
        "",
        "",
        str(user.get("id", "")),
        container.get("channel_id") or channel.get("id", ""),
        key,
        thread_ts,
        user.get("team_id") or team.get("id", ""),
        url if isinstance(url, str) else "",
    )


_PARTS = ("user", "container", "channel", "team")


def _part(body: dict[str, Any], name: str) -> dict[str, Any]:
    """``body[name]`` when it is an object, else {} (a payload Slack never
    sends must not stop the error handler from answering)."""
    part = body.get(name)
    return part if isinstance(part, dict) else {}


def on_pool(
    work: BoundedPool, dispatcher: Dispatcher, req: ChatRequest, fn: Callable[..., Any], *args: Any
) -> None:
    """``fn(*args)`` on the pool; when it is full, ``req``'s user is told so (off this thread)."""
    if not work.submit(fn, *args):
        threading.Thread(target=dispatcher.busy, args=(req,), daemon=True).start()


def listen(app: App, dispatcher: Dispatcher, work: BoundedPool, bot_user: str = "") -> None:
    """Register the bot's listeners on the Bolt ``app``."""
    from sparkswarm.bots import modal, scale_modal
    from sparkswarm.bots.awaited import CANCEL_ACTION as WAIT_CANCEL
    from sparkswarm.bots.sqlview import CANCEL_ACTION as SQL_CANCEL

    def take(req: ChatRequest) -> None:
        on_pool(work, dispatcher, req, dispatcher.handle, req)

    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        req = ChatRequest(
            command=command.get("command", ""),
            text=command.get("text", ""),
            user=command.get("user_id", ""),
            channel=command.get("channel_id", ""),
            key=command.get("trigger_id") or command.get("command", "") + command.get("text", ""),
            team=command.get("team_id", ""),
            response_url=command.get("response_url", ""),
        )
        if work.submit(dispatcher.handle, req):
            ack()
        else:
            ack(text=BUSY)  # shown to the user at once, only to them

    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        take(event_request(event, body))

    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Not the bot's own messages, edits or joins.
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return
        if event.get("channel_type") == "im":  # a direct message: a command
            take(event_request(event, body))
        elif (
            event.get("subtype") == "file_share"
            and f"<@{bot_user}" not in str(event.get("text") or "")  # app_mention has those
        ):
            # A file in a channel: the one someone waits to attach, if so (awaited.py).
            take(dataclasses.replace(event_request(event, body), command=CHANNEL_MESSAGE))

    def on_confirm(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        answer = "confirm" if action.get("action_id") == "sparkswarm_confirm" else "cancel"
        value = str(action.get("value", ""))
        req = click_request(body, f"click:{value}")
        ts = body.get("container", {}).get("message_ts", "")
        on_pool(work, dispatcher, req, dispatcher.on_button, answer, value, req, ts)

    def on_form(judge: Callable[[dict[str, Any]], tuple[list[str], dict[str, str]]]) -> Any:
        """A sent form: its words go the way typed ones do (a mistake the
        grammar finds is shown in the form, nothing runs)."""

        def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            words, errors = judge(view.get("state", {}).get("values", {}))
            if errors:
                ack(response_action="errors", errors=errors)
                return
            ack()
            key = f"view:{view.get('id', '')}:{view.get('hash', '')}"
            take(form_request(body, view, words, key))

        return on_submit

    def on_wait_cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Cancel on the message saying the bot waits for a file."""
        ack()
        req = click_request(body, f"click:{action.get('action_ts', '')}")
        on_pool(
            work, dispatcher, req, dispatcher.file_waits.cancel, req, str(action.get("value", ""))
        )

    def on_sql_cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A running statement's Cancel button (roles checked in sqlcancel)."""
        from sparkswarm.bots import sqlcancel

        ack()
        req = click_request(body, "sql-cancel", body.get("container", {}).get("thread_ts"))
        on_pool(
            work, dispatcher, req, sqlcancel.on_click, dispatcher, str(action.get("value", "")), req
        )

    def on_error(error: Exception, body: dict[str, Any]) -> Any:
        """A listener failed: the user hears so (instead of a spinner), and the
        request is answered 200 so Slack does not retry it."""
        from slack_bolt import BoltResponse

        log.error("listener failed: %s: %s", type(error).__name__, error)
        text = ":x: Something went wrong on the bot's side (it is in its log). Nothing ran."
        if body.get("command"):  # a slash command: the HTTP answer is shown to the user
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": text}),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        req = dataclasses.replace(click_request(body, "error"), channel="", team="")
        if req.response_url:
            threading.Thread(target=dispatcher.tell, args=(req, text), daemon=True).start()
        return BoltResponse(status=200, body="")

    for name in SLASH_COMMANDS:
        app.command(name)(on_command)
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.action("sparkswarm_confirm")(on_confirm)
    app.action("sparkswarm_cancel")(on_confirm)
    app.view(modal.CALLBACK_ID)(on_form(modal.judge_submission))
    app.view(scale_modal.CALLBACK_ID)(on_form(scale_modal.judge_submission))
    app.action(WAIT_CANCEL)(on_wait_cancel)
    app.action(SQL_CANCEL)(on_sql_cancel)
    app.error(on_error)


def form_request(
    body: dict[str, Any], view: dict[str, Any], words: list[str], key: str
) -> ChatRequest:
    """The request a sent form stands for: its words as if typed where the
    form was opened (channel and ``response_url`` kept in the view)."""
    from sparkswarm.bots import blockkit, modal

    channel, url = modal.origin(str(view.get("private_metadata") or ""))
    return dataclasses.replace(
        click_request(body, key),
        command="/sparkswarm",
        text=blockkit.escape(shlex.join(words)),  # decoded back to these words
        channel=channel,
        response_url=url,
    )


def event_request(event: dict[str, Any], body: dict[str, Any]) -> ChatRequest:
    """The request of a mention or a message event."""
    key = body.get("event_id") or event.get("client_msg_id") or event.get("ts", "")
    return ChatRequest(
        command="",
        text=event.get("text", ""),
        user=event.get("user", ""),
        channel=event.get("channel", ""),
        key=str(key),
        thread_ts=event.get("thread_ts") or event.get("ts"),
        team=event.get("user_team") or event.get("team") or body.get("team_id", ""),
        files=tuple(str(f.get("id")) for f in event.get("files") or [] if isinstance(f, dict)),
    )
