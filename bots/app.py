"""The Bolt app and its two transports over one dispatch.

``build()`` assembles the bot from settings: a ``WebClient`` on the
configured API URL, the scrubber, the queue client, the roles, the notifier
and the dispatcher, and a Bolt ``App`` whose listeners only turn Slack's
payload into a :class:`~sparkswarm.bots.dispatch.ChatRequest` (after acking).
``serve_http`` runs it under uvicorn (a body larger than
``SPARKSWARM_BOT_MAX_BODY`` is answered 413 before anything else reads it;
Bolt verifies each request's signature and refuses timestamps older than 5
minutes); ``serve_socket`` connects it over Socket Mode.

The listeners ack at once and hand the work to a bounded pool; when it is
full the user is told the bot is busy (in the ack itself for a slash
command) and nothing runs. A listener that fails anyway is answered by the
``app.error`` handler. ``app_uninstalled``/``tokens_revoked`` halt all
posting. Neither transport holds a Docker client: the bot only talks to
Slack and to the queue's Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shlex
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.dispatch import BUSY, CHANNEL_MESSAGE, ChatRequest, Dispatcher
from sparkswarm.bots.notifier import Notifier
from sparkswarm.bots.roles import load_role_map
from sparkswarm.bots.scrub import Scrubber, scrub_logs
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.bots.workpool import BoundedPool
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest, Unavailable

if TYPE_CHECKING:
    from sparkswarm.workers.client import QueueClient

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
        """Start the notifier, the sweeper that replaces the buttons of expired
        confirmations, and the other loops (alerts, outcomes)."""
        threading.Thread(target=self._sweep, daemon=True, name="sparkswarm-sweeper").start()
        for loop in self.loops:
            threading.Thread(target=loop, args=(self.stop,), daemon=True).start()
        thread = threading.Thread(
            target=self.notifier.run, args=(self.stop,), daemon=True, name="sparkswarm-notifier"
        )
        thread.start()
        return thread

    def _sweep(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.dispatcher.expire_confirmations()
                self.dispatcher.file_waits.expire()
            except Exception:
                log.exception("expiring confirmations or waits for files failed")


def build(settings: Settings, qc: QueueClient | None = None, *, http: bool = True) -> Bot:
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
    from sparkswarm.workers.metric_counts import SlackCallCounts

    out = SlackOut(client, scrubber, meter=SlackCallCounts.for_client(qc))
    notifier = Notifier(qc, out, interval=settings.bot_edit_interval)
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
    # Roles are per workspace: plain ids are those of the bot's own team.
    try:
        who = app.client.auth_test()
        home, bot_user = str(who.get("team_id") or ""), str(who.get("user_id") or "")
    except Exception as exc:  # Bolt's own auth.test just passed: a blip
        log.warning("auth.test for the home team failed (%s): any team counts as home", exc)
        home, bot_user = "", ""
    roles = dataclasses.replace(roles, home_team=home)
    from sparkswarm.workers.executor import QueueExecutor

    dispatcher = Dispatcher(qc, out, roles, notifier, settings, executor=QueueExecutor(qc))
    # The work after the ack (parse, role, Redis, Slack calls): a few threads,
    # so a burst of commands is worked through without starving the acks, and
    # a bound, so a flood is told "busy" instead of waiting in a queue.
    work = BoundedPool(settings.bot_threads, settings.bot_max_pending, "sparkswarm-dispatch")
    _listen(app, dispatcher, work, bot_user)
    from sparkswarm.bots import alerts
    from sparkswarm.bots.home import Home, register_home
    from sparkswarm.bots.outcomes import OutcomePoster

    app_home = Home(dispatcher, qc)
    register_home(app, app_home, work)
    alerts.register(app, dispatcher, qc, work)
    poster = alerts.poster(qc, out, settings, on_change=app_home.refresh_soon)
    loops: list[Callable[[threading.Event], None]] = [OutcomePoster(qc, out).run]
    if poster is not None:
        loops.append(poster.run)
    bot = Bot(app, dispatcher, notifier, settings, threading.Event(), loops)
    _on_lifecycle(app, bot)
    return bot


def _listen(app: Any, dispatcher: Dispatcher, work: BoundedPool, bot_user: str = "") -> None:
    def on_command(ack: Any, command: dict[str, Any]) -> None:
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

    for name in SLASH_COMMANDS:
        app.command(name)(on_command)

    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        _take(work, dispatcher, _from_event(event, body))

    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Not the bot's own messages, edits or joins.
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return
        if event.get("channel_type") == "im":  # a direct message: a command
            _take(work, dispatcher, _from_event(event, body))
        elif (
            event.get("subtype") == "file_share"
            and f"<@{bot_user}" not in str(event.get("text") or "")  # app_mention has those
        ):
            # A file in a channel: the one someone waits to attach, if so (awaited.py).
            req = dataclasses.replace(_from_event(event, body), command=CHANNEL_MESSAGE)
            _take(work, dispatcher, req)

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)

    def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        container = body.get("container", {})
        user = body.get("user", {})
        args = (
            "confirm" if action.get("action_id") == "sparkswarm_confirm" else "cancel",
            str(action.get("value", "")),
            user.get("id", ""),
            container.get("channel_id") or body.get("channel", {}).get("id", ""),
            container.get("message_ts", ""),
            user.get("team_id") or body.get("team", {}).get("id", ""),
            body.get("response_url", ""),
        )
        if not work.submit(dispatcher.on_button, *args):
            req = ChatRequest("", "", args[2], args[3], "busy", None, args[5], args[6])
            threading.Thread(target=dispatcher.busy, args=(req,), daemon=True).start()

    def on_submit_form(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The ``/spark submit`` form sent: its words go the way typed ones do
        (a mistake the grammar finds is shown in the form, nothing runs)."""
        from sparkswarm.bots import modal

        words, errors = modal.judge_submission(view.get("state", {}).get("values", {}))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        _take(work, dispatcher, _form_request(body, view, words, f"view:{view.get('id', '')}"))

    def on_scale_form(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The ``/swarm scale`` form sent: ``service scale NAME=N`` goes the
        way typed words do (role, confirmation); a mistake is shown in the form."""
        from sparkswarm.bots import scale_modal

        words, errors = scale_modal.judge_submission(view.get("state", {}).get("values", {}))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        key = f"view:{view.get('id', '')}:{view.get('hash', '')}"
        _take(work, dispatcher, _form_request(body, view, words, key))

    def on_wait_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Cancel on the message saying the bot waits for a file."""
        ack()
        user = body.get("user", {})
        req = ChatRequest(
            "",
            "",
            user.get("id", ""),
            body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id", ""),
            f"click:{action.get('action_ts', '')}",
            None,
            user.get("team_id") or body.get("team", {}).get("id", ""),
            body.get("response_url", ""),
        )
        if not work.submit(dispatcher.file_waits.cancel, req, str(action.get("value", ""))):
            threading.Thread(target=dispatcher.busy, args=(req,), daemon=True).start()

    from sparkswarm.bots import scale_modal
    from sparkswarm.bots.awaited import CANCEL_ACTION
    from sparkswarm.bots.modal import CALLBACK_ID

    app.action(CANCEL_ACTION)(on_wait_cancel)
    app.view(CALLBACK_ID)(on_submit_form)
    app.view(scale_modal.CALLBACK_ID)(on_scale_form)
    app.action("sparkswarm_confirm")(on_button)
    app.action("sparkswarm_cancel")(on_button)

    def on_sql_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A running statement's Cancel button (roles checked in sqlcancel)."""
        from sparkswarm.bots import sqlcancel

        ack()
        container = body.get("container", {})
        user = body.get("user", {})
        req = ChatRequest(
            "",
            "",
            user.get("id", ""),
            container.get("channel_id") or body.get("channel", {}).get("id", ""),
            "sql-cancel",
            container.get("thread_ts"),
            user.get("team_id") or body.get("team", {}).get("id", ""),
            body.get("response_url", ""),
        )
        if not work.submit(sqlcancel.on_click, dispatcher, str(action.get("value", "")), req):
            threading.Thread(target=dispatcher.busy, args=(req,), daemon=True).start()

    from sparkswarm.bots.sqlview import CANCEL_ACTION

    app.action(CANCEL_ACTION)(on_sql_cancel)

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
        url = body.get("response_url") or ""
        user = body.get("user")
        req = ChatRequest(
            "",
            "",
            user.get("id", "") if isinstance(user, dict) else "",
            "",
            "error",
            None,
            "",
            url if isinstance(url, str) else "",
        )
        if req.response_url:
            threading.Thread(target=dispatcher.tell, args=(req, text), daemon=True).start()
        return BoltResponse(status=200, body="")

    app.error(on_error)


def _form_request(
    body: dict[str, Any], view: dict[str, Any], words: list[str], key: str
) -> ChatRequest:
    """The request a sent form stands for: its words as if typed where the
    form was opened (channel and ``response_url`` kept in the view)."""
    from sparkswarm.bots import blockkit, modal

    channel, url = modal.origin(str(view.get("private_metadata") or ""))
    user = body.get("user", {})
    return ChatRequest(
        command="/sparkswarm",
        text=blockkit.escape(shlex.join(words)),  # decoded back to these words
        user=user.get("id", ""),
        channel=channel,
        key=key,
        team=user.get("team_id") or body.get("team", {}).get("id", ""),
        response_url=url,
    )


def _take(work: BoundedPool, dispatcher: Dispatcher, req: ChatRequest) -> None:
    """Hand a mention or DM to the pool; when it is full, say so (off this thread)."""
    if not work.submit(dispatcher.handle, req):
        threading.Thread(target=dispatcher.busy, args=(req,), daemon=True).start()


def _on_lifecycle(app: Any, bot: Bot) -> None:
    """Uninstalled, or the bot's tokens revoked: post nothing more (every call
    would fail), stop the notifier, and say so in the log."""

    def halt(event: dict[str, Any], body: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind == "tokens_revoked" and not event.get("tokens", {}).get("bot"):
            log.warning("user tokens revoked (not the bot's): carrying on")
            return
        log.warning(
            "Slack says %s for team %s: the bot stops posting until it is reinstalled "
            "and restarted",
            kind,
            body.get("team_id", "?"),
        )
        bot.dispatcher.halted.set()
        bot.stop.set()

    app.event("app_uninstalled")(halt)
    app.event("tokens_revoked")(halt)


def _from_event(event: dict[str, Any], body: dict[str, Any]) -> ChatRequest:
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


class _ThreadedAsgi:
    """Bolt's ASGI handler, with the (blocking) Bolt dispatch run in a thread
    so one slow request does not hold up the others' acks, behind a cap on
    the body's size (checked before the body is read, let alone verified)."""

    def __init__(self, app: Any, path: str = "/slack/events", max_body: int = 1 << 20) -> None:
        self.max_body = max_body
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
        if scope.get("type") != "http":
            await self.handler(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body:
            await _too_large(send)  # unsigned or not, never read
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # chunked bodies declare no length: count while reading
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                following: dict[str, Any] = await receive()
                return following
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.handler(scope, replay, send)


async def _too_large(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b"request body too large\n"})


def serve_http(
    bot: Bot, port: int, host: str = "127.0.0.1", *, health_port: int | None = None
) -> None:
    """Serve Slack's requests on ``host:port`` at ``/slack/events`` until stopped
    (and ``GET /healthz`` on ``health_port``, see :mod:`sparkswarm.bots.health_http`)."""
    import uvicorn

    notifier = bot.start_notifier()
    if health_port is not None:
        from sparkswarm.bots.health_http import bot_problem, serve_health

        serve_health(health_port, host, lambda: bot_problem(bot, notifier, None))
    print(f"sparkswarm bot: HTTP on {host}:{port}/slack/events", flush=True)
    asgi = _ThreadedAsgi(bot.app, max_body=bot.settings.bot_max_body)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)


def serve_socket(
    bot: Bot, *, health_port: int | None = None, health_host: str = "127.0.0.1"
) -> None:
    """Connect over Socket Mode and serve until stopped (and ``GET /healthz``
    on ``health_port``, see :mod:`sparkswarm.bots.health_http`)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if bot.settings.slack_app_token is None:
        raise InvalidRequest(
            "set SPARKSWARM_SLACK_APP_TOKEN (app-level token, xapp-...) for Socket Mode"
        )
    notifier = bot.start_notifier()
    handler: Any = SocketModeHandler(bot.app, bot.settings.slack_app_token.get_secret_value())
    if health_port is not None:
        from sparkswarm.bots.health_http import bot_problem, serve_health

        serve_health(
            health_port,
            health_host,
            lambda: bot_problem(bot, notifier, handler.client.is_connected),
        )
    handler.connect()
    print("sparkswarm bot: Socket Mode connected", flush=True)
    try:
        bot.stop.wait()
    finally:
        handler.close()
