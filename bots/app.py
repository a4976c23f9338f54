"""The Bolt app and its two transports over one dispatch.

``build()`` assembles the bot from settings: a ``WebClient`` on the
configured API URL, the scrubber, the queue client, the roles, the notifier
and the dispatcher, and a Bolt ``App`` whose listeners only turn Slack's
payload into a :class:`~sparkswarm.bots.dispatch.ChatRequest` (after acking).
``serve_http`` runs it under uvicorn (Bolt verifies each request's signature
and refuses timestamps older than 5 minutes); ``serve_socket`` connects it
over Socket Mode. Neither holds a Docker client: the bot only talks to
Slack and to the queue's Redis.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sparkswarm.bots.dispatch import ChatRequest, Dispatcher
from sparkswarm.bots.notifier import Notifier
from sparkswarm.bots.roles import load_role_map
from sparkswarm.bots.scrub import Scrubber, scrub_logs
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest, Unavailable

log = logging.getLogger(__name__)
SLASH_COMMANDS = ("/sparkswarm", "/spark", "/swarm")


@dataclass
class Bot:
    """A built bot: the Bolt app, its dispatcher and notifier."""

    app: Any
    dispatcher: Dispatcher
    notifier: Notifier
    settings: Settings
    stop: threading.Event
    # More loops started with the notifier (the alert poster), each until ``stop``.
    loops: list[Callable[[threading.Event], None]] = field(default_factory=list)

    def start_notifier(self) -> threading.Thread:
        for loop in self.loops:
            threading.Thread(target=loop, args=(self.stop,), daemon=True).start()
        thread = threading.Thread(
            target=self.notifier.run, args=(self.stop,), daemon=True, name="sparkswarm-notifier"
        )
        thread.start()
        return thread


def build(settings: Settings, qc: Any = None, *, http: bool = True) -> Bot:
    """Assemble the bot. InvalidRequest when a needed setting is missing
    (named, never shown); Unavailable when Redis or the Slack Web API cannot
    be reached, or Slack refuses the bot token."""
    from slack_bolt import App
    from slack_sdk import WebClient

    from sparkswarm.workers.client import QueueClient, broker_errors

    if settings.slack_bot_token is None:
        raise InvalidRequest("set SPARKSWARM_SLACK_BOT_TOKEN (the bot token, xoxb-...)")
    if http and settings.slack_signing_secret is None:
        raise InvalidRequest("set SPARKSWARM_SLACK_SIGNING_SECRET: unsigned requests are refused")
    qc = qc or QueueClient()
    with broker_errors("bot"):
        qc.redis.ping()
    roles = load_role_map(
        settings.bot_roles_file,
        {
            "admin": settings.bot_admins,
            "operator": settings.bot_operators,
            "viewer": settings.bot_viewers,
        },
    )
    api_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else settings.slack_api_url + "/"
    )
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=api_url, timeout=10
    )
    scrubber = Scrubber(settings.secret_values())
    scrub_logs(scrubber)
    out = SlackOut(client, scrubber)
    notifier = Notifier(qc, out, interval=settings.bot_edit_interval)
    dispatcher = Dispatcher(qc, out, roles, notifier, settings)
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    try:
        # Bolt checks the token with auth.test here: Slack must be reachable.
        app = App(
            client=client,
            signing_secret=secret,
            request_verification_enabled=http,
            # The listeners below only ack and hand the work to our own pool, so
            # Bolt may run them in the request's thread and answer when they
            # return: no polling for the ack, no listener pool to wait for.
            process_before_response=True,
            logger=logging.getLogger("sparkswarm.bots.bolt"),
        )
    except Exception as exc:
        reason = Scrubber(settings.secret_values()).text(str(exc))
        raise Unavailable(f"Slack Web API at {api_url}: {type(exc).__name__}: {reason}") from None
    # The work after the ack (parse, role, Redis, Slack calls): a few threads,
    # so a burst of commands is worked through without starving the acks.
    work = ThreadPoolExecutor(8, thread_name_prefix="sparkswarm-dispatch")
    _listen(app, dispatcher, work)
    from sparkswarm.bots import alerts
    from sparkswarm.bots.home import Home, register_home

    home = Home(dispatcher, qc)
    register_home(app, home, work)
    alerts.register(app, dispatcher, qc, work)
    poster = alerts.poster(qc, out, settings, on_change=home.refresh_soon)
    from sparkswarm.bots.outcomes import OutcomePoster

    loops: list[Callable[[threading.Event], None]] = [OutcomePoster(qc, out).run]
    if poster is not None:
        loops.append(poster.run)
    return Bot(app, dispatcher, notifier, settings, threading.Event(), loops)


def _listen(app: Any, dispatcher: Dispatcher, work: Executor) -> None:
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        ack()
        work.submit(
            dispatcher.handle,
            ChatRequest(
                command=command.get("command", ""),
                text=command.get("text", ""),
                user=command.get("user_id", ""),
                channel=command.get("channel_id", ""),
                key=command.get("trigger_id")
                or command.get("command", "") + command.get("text", ""),
            ),
        )

    for name in SLASH_COMMANDS:
        app.command(name)(on_command)

    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        work.submit(_from_event, dispatcher, event, body)

    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Direct messages only; not the bot's own messages, edits or joins.
        if (
            event.get("channel_type") == "im"
            and not event.get("bot_id")
            and not event.get("subtype")
        ):
            work.submit(_from_event, dispatcher, event, body)

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)

    def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        container = body.get("container", {})
        work.submit(
            dispatcher.on_button,
            "confirm" if action.get("action_id") == "sparkswarm_confirm" else "cancel",
            str(action.get("value", "")),
            body.get("user", {}).get("id", ""),
            container.get("channel_id") or body.get("channel", {}).get("id", ""),
            container.get("message_ts", ""),
        )

    app.action("sparkswarm_confirm")(on_button)
    app.action("sparkswarm_cancel")(on_button)


def _from_event(dispatcher: Dispatcher, event: dict[str, Any], body: dict[str, Any]) -> None:
    key = body.get("event_id") or event.get("client_msg_id") or event.get("ts", "")
    dispatcher.handle(
        ChatRequest(
            command="",
            text=event.get("text", ""),
            user=event.get("user", ""),
            channel=event.get("channel", ""),
            key=str(key),
            thread_ts=event.get("thread_ts") or event.get("ts"),
        )
    )


class _ThreadedAsgi:
    """Bolt's ASGI handler, with the (blocking) Bolt dispatch run in a thread
    so one slow request does not hold up the others' acks."""

    def __init__(self, app: Any, path: str = "/slack/events") -> None:
        from slack_bolt.adapter.asgi import SlackRequestHandler

        handler = SlackRequestHandler(app, path)
        # asyncio's default pool is cpu + 4 threads: too few for a burst.
        pool = ThreadPoolExecutor(64, thread_name_prefix="bolt-http")

        async def dispatch(request: Any) -> Any:
            from slack_bolt.request import BoltRequest

            body = await request.get_raw_body()
            bolt_request = BoltRequest(
                body=body, query=request.query_string, headers=request.get_headers()
            )
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, app.dispatch, bolt_request)

        handler.dispatch = dispatch  # type: ignore[method-assign]
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.handler(scope, receive, send)


def serve_http(bot: Bot, port: int, host: str = "127.0.0.1") -> None:
    """Serve Slack's requests on ``host:port`` at ``/slack/events`` until stopped."""
    import uvicorn

    bot.start_notifier()
    print(f"sparkswarm bot: HTTP on {host}:{port}/slack/events", flush=True)
    uvicorn.run(_ThreadedAsgi(bot.app), host=host, port=port, log_level="warning", access_log=False)


def serve_socket(bot: Bot) -> None:
    """Connect over Socket Mode and serve until stopped."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if bot.settings.slack_app_token is None:
        raise InvalidRequest(
            "set SPARKSWARM_SLACK_APP_TOKEN (app-level token, xapp-...) for Socket Mode"
        )
    bot.start_notifier()
    handler: Any = SocketModeHandler(bot.app, bot.settings.slack_app_token.get_secret_value())
    handler.connect()
    print("sparkswarm bot: Socket Mode connected", flush=True)
    try:
        bot.stop.wait()
    finally:
        handler.close()
